"""The JSON-lines run logs, from real runs: a bronze asset run through the job of the code location's
Definitions, with its own resources and loggers (selected by the run config), against the local services
and a scratch lake root."""

import json
from pathlib import Path

import dagster as dg
import pytest

from lakehouse.definitions import defs as build_definitions
from lakehouse.observability.json_logs import RUN_CONFIG, json_lines_logger
from lakehouse.settings import HOME_ENV_VAR, LAKE_ROOT_ENV_VAR

PRODUCTS = ["bronze/products", "quarantine/products"]
STEP = "bronze_products"
DAY = "2026-01-01"


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _run_products(lake_root: Path, log_path: Path, **kwargs) -> dg.ExecuteInProcessResult:
    """bronze/products (and its quarantine) through the code location's own asset job, resources (the
    embedded engine, the local services of ``$LAKEHOUSE_HOME``, a lake at ``lake_root``) and loggers."""
    run_config = {
        "loggers": {
            "console": {"config": {"log_level": "WARNING"}},
            "json": {"config": {"path": str(log_path)}},
        }
    }
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.ephemeral() as instance:
        patch.setenv(LAKE_ROOT_ENV_VAR, str(lake_root))
        job = build_definitions().resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            asset_selection=[dg.AssetKey.from_user_string(key) for key in PRODUCTS],
            run_config=run_config,
            instance=instance,
            **kwargs,
        )


@pytest.fixture(scope="module")
def partition_run(engine, local_services, generated_sources, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("json-logs")
    log_path = tmp_path / "runs.jsonl"
    result = _run_products(tmp_path / "lake", log_path, partition_key=DAY)
    assert result.success
    return result, _lines(log_path.read_text())


def test_every_line_of_a_partitioned_run_carries_its_run_job_and_partition(partition_run):
    result, lines = partition_run
    assert len(lines) > 10
    assert {line["run_id"] for line in lines} == {result.run_id}
    assert {line["job"] for line in lines} == {"__ASSET_JOB"}
    assert {line["partition"] for line in lines} == {DAY}
    for line in lines:
        assert line["timestamp"].endswith("+00:00") and line["level"] and line["message"] is not None
    events = [line["event_type"] for line in lines]
    assert events[0] == "RUN_START" and events[-1] == "RUN_SUCCESS"


def test_step_events_and_messages_carry_the_steps_assets(partition_run):
    _, lines = partition_run
    step_lines = [line for line in lines if line["step_key"] == STEP]
    by_event = {line["event_type"]: line for line in step_lines}
    assert by_event["STEP_START"]["asset_keys"] == PRODUCTS
    assert by_event["STEP_SUCCESS"]["asset_keys"] == PRODUCTS
    [extracted] = [line for line in step_lines if line["message"].startswith("extracted ")]
    assert (extracted["event_type"], extracted["level"], extracted["asset_keys"]) == (None, "INFO", PRODUCTS)
    # every step of the run (separate check steps too) names the assets it works on
    for line in lines:
        if line["step_key"]:
            assert line["asset_keys"] and set(line["asset_keys"]) <= set(PRODUCTS), line


def test_materializations_and_checks_carry_their_asset_and_metrics(partition_run):
    result, lines = partition_run
    materialized = {
        line["asset_keys"][0]: line for line in lines if line["event_type"] == "ASSET_MATERIALIZATION"
    }
    assert sorted(materialized) == PRODUCTS
    for key, line in materialized.items():
        [event] = [
            m for m in result.asset_materializations_for_node(STEP) if m.asset_key.to_user_string() == key
        ]
        assert line["partition"] == DAY == event.partition
        for name in ("dagster/row_count", "bytes_written", "duration_seconds"):
            assert line["metadata"][name] == event.metadata[name].value
    assert materialized["bronze/products"]["metadata"]["quarantine_rate"] >= 0.0
    checks = [line for line in lines if line["event_type"] == "ASSET_CHECK_EVALUATION"]
    assert {line["check_name"] for line in checks} == {
        e.check_name for e in result.get_asset_check_evaluations()
    }
    assert all(line["asset_keys"] == ["bronze/products"] and line["passed"] for line in checks)


def test_a_single_run_backfill_logs_its_partition_range(engine, local_services, generated_sources, tmp_path):
    log_path = tmp_path / "runs.jsonl"
    window = {"dagster/asset_partition_range_start": DAY, "dagster/asset_partition_range_end": "2026-01-02"}
    result = _run_products(tmp_path / "lake", log_path, tags=window)
    assert result.success
    lines = _lines(log_path.read_text())
    assert {json.dumps(line["partition_range"]) for line in lines} == {
        json.dumps({"start": DAY, "end": "2026-01-02"})
    }
    [start] = [line for line in lines if line["event_type"] == "STEP_START" and line["step_key"] == STEP]
    assert start["partition"] is None  # a range, not one partition
    materialized = [line for line in lines if line["event_type"] == "ASSET_MATERIALIZATION"]
    assert sorted((line["asset_keys"][0], line["partition"]) for line in materialized) == [
        (key, day) for key in PRODUCTS for day in (DAY, "2026-01-02")
    ]


# ---------------------------------------------------------------------------------- configuration


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date=DAY))
def greeting(context: dg.AssetExecutionContext) -> None:
    context.log.info("hello")
    context.log.debug("details")


def _run_greeting(run_config: dict) -> dg.ExecuteInProcessResult:
    definitions = dg.Definitions(assets=[greeting], loggers={"json": json_lines_logger})
    return definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        partition_key=DAY, run_config=run_config
    )


def test_by_default_lines_are_appended_to_a_file_under_lakehouse_home(monkeypatch, tmp_path):
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    for _ in range(2):
        assert _run_greeting({"loggers": {"json": {}}}).success
    lines = _lines((tmp_path / "logs" / "lakehouse.jsonl").read_text())
    assert len({line["run_id"] for line in lines}) == 2  # appended, not replaced
    assert {"DEBUG", "INFO"} <= {line["level"] for line in lines}  # Dagster's events are DEBUG
    assert {tuple(line["asset_keys"]) for line in lines if line["step_key"] == "greeting"} == {("greeting",)}


def test_stdout_output_and_log_level(capsys):
    assert _run_greeting({"loggers": {"json": {"config": {"output": "stdout", "log_level": "INFO"}}}}).success
    lines = _lines(capsys.readouterr().out)
    assert [(line["level"], line["message"], line["event_type"]) for line in lines] == [
        ("INFO", "hello", None)
    ]


def test_the_run_config_constant_selects_both_loggers(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    definitions = dg.Definitions(
        assets=[greeting], loggers={"console": dg.colored_console_logger, "json": json_lines_logger}
    )
    result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        partition_key=DAY, run_config=RUN_CONFIG
    )
    assert result.success
    assert (tmp_path / "logs" / "lakehouse.jsonl").exists()


def test_an_unknown_level_or_output_is_refused_by_name():
    with pytest.raises(Exception, match="log_level 'LOUD'"):
        _run_greeting({"loggers": {"json": {"config": {"log_level": "LOUD", "output": "stdout"}}}})
    with pytest.raises(Exception, match="output 'syslog'"):
        _run_greeting({"loggers": {"json": {"config": {"output": "syslog"}}}})
