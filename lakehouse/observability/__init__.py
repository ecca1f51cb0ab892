"""Observability: the metrics every materialization carries and the structured (JSON lines) run logs."""
