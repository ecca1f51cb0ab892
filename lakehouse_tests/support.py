"""Small helpers shared by tests."""

import multiprocessing
from collections.abc import Callable, Sequence

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


def run_together(target: Callable[..., None], argument_lists: Sequence[tuple], timeout: float = 300) -> list:
    """Run ``target(*arguments, barrier, results)`` in one spawned process per argument tuple, as
    Dagster's multiprocess executor runs steps; ``target`` waits on ``barrier`` so the processes' commits
    race, and puts one result on ``results``. Returns the results, sorted."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(argument_lists)), context.Queue()
    workers = [context.Process(target=target, args=(*args, barrier, results)) for args in argument_lists]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=timeout) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def lake_resources(engine, root_uri: str) -> dict:
    """The engine, a ``Lake`` at ``root_uri`` and the Delta IO manager over both: the resource keys every
    layer's assets and checks use (add ``snowflake``, ``redshift`` and ``pii`` where a layer needs them)."""
    from lakehouse.io import DeltaSparkIOManager
    from lakehouse.lake import Lake

    lake = Lake(root_uri=str(root_uri))
    return {"engine": engine, "lake": lake, "io_manager": DeltaSparkIOManager(lake=lake, engine=engine)}


def materialize_days(
    assets: Sequence,
    resources: dict,
    *,
    partition: str | None = None,
    window: tuple[str, str] | None = None,
    **options,
) -> dg.ExecuteInProcessResult:
    """One Dagster run of ``assets`` on an ephemeral instance, for one ``partition`` or a ``window`` of
    days (first, last) run at once as a backfill does; ``options`` go to ``dg.materialize``."""
    tags = (
        {"dagster/asset_partition_range_start": window[0], "dagster/asset_partition_range_end": window[1]}
        if window
        else None
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            assets, resources=resources, partition_key=partition, tags=tags, instance=instance, **options
        )
