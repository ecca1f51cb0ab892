"""Small helpers shared by tests."""

import dagster as dg


def step_failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The first failed step's error and its causes, one per line: what a user reads in the UI."""
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "expected a step failure"
    error, parts = failures[0].step_failure_data.error, []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)
