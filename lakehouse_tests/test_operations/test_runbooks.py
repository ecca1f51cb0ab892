"""Every runbook's commands, run on the local stack (the session's services and generated sources), in a
scratch LAKEHOUSE_HOME with its own lake and Dagster instance, asserting what each runbook promises.

``lakehouse`` commands run in this process through click's test runner (the same code the console
script runs); ``dagster`` commands run as a user runs them, in a subprocess; ``export`` lines set the
environment of the commands after them.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from deltalake import DeltaTable

from lakehouse.cli import cli
from lakehouse.definitions import defs as build_definitions
from lakehouse.operations.quarantine import quarantine_days
from lakehouse_tests.fixtures.services import scratch_home
from lakehouse_tests.test_operations.runbooks import RUNBOOKS_DIR, Command, runbook_names, runnable_commands

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")
DAYS = ("2026-01-01", "2026-01-02")  # of the three generated days: the third stays for the sensor to find
EXPECTED_RUNBOOKS = ["backfill", "repair-scd2", "replay-quarantine", "reset-watermark", "rollback-table"]
STRICT_CHANNELS = ["web", "mobile"]  # the "wrong" contract: forgets the store channel


class Runbook:
    """Runs one runbook's commands in order; hooks run before a command whose text contains a marker."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env
        self.outputs: list[tuple[str, str]] = []

    def run(
        self,
        values: dict[str, str | Callable[[], str]],
        before: dict[str, Callable[[], None]] | None = None,
    ):
        commands = runnable_commands(self.name)
        assert commands, f"docs/runbooks/{self.name}.md has no runnable command"
        pending = dict(before or {})
        for command in commands:
            for marker in [m for m in pending if m in command.line]:
                pending.pop(marker)()
            resolved = {k: v() if callable(v) else v for k, v in values.items() if k in command.placeholders}
            line = command.filled(resolved)
            self.outputs.append((line, self._execute(command, line)))
        assert not pending, f"no command of {self.name} contains {list(pending)}"
        return self.outputs

    def output_of(self, fragment: str, occurrence: int = 0) -> str:
        matches = [output for line, output in self.outputs if fragment in line]
        return matches[occurrence]

    def _execute(self, command: Command, line: str) -> str:
        if line.startswith("export "):
            name, _ = line.removeprefix("export ").split("=", 1)
            value = subprocess.run(
                ["bash", "-c", f"{line}; printf %s \"${name}\""],
                env=self.env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            self.env[name] = value
            return ""
        args = shlex.split(line)
        if args[0] == "lakehouse":
            result = CliRunner().invoke(cli, args[1:], env={"COLUMNS": "250"}, catch_exceptions=True)
            if result.exception and not isinstance(result.exception, SystemExit):
                raise result.exception
            failure = f"{command.runbook}: `{line}` exited {result.exit_code}:\n{result.output}"
            assert result.exit_code == 0, failure
            return result.output
        if args[0] == "dagster":
            completed = subprocess.run(
                [DAGSTER, *args[1:]], cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=300
            )
            failure = f"{command.runbook}: `{line}`:\n{completed.stdout}\n{completed.stderr}"
            assert completed.returncode == 0, failure
            return completed.stdout + completed.stderr
        raise AssertionError(f"{command.runbook}: runnable command of an unknown program: {line}")


def test_every_runbook_is_indexed_and_has_runnable_commands():
    assert runbook_names() == EXPECTED_RUNBOOKS
    index = (RUNBOOKS_DIR / "README.md").read_text()
    for name in EXPECTED_RUNBOOKS:
        assert f"({name}.md)" in index, name
        assert runnable_commands(name), name


@pytest.fixture(scope="module")
def stack(local_services, generated_sources):
    """The session's services and sources, a scratch lake (``LAKEHOUSE_LAKE_ROOT``), the runbook index's
    ``export DAGSTER_HOME=$LAKEHOUSE_HOME/dagster`` (a Dagster instance this module creates and removes),
    and a scratch copy of the contracts in which ``bronze/orders`` forgets the ``store`` channel."""
    scratch = scratch_home("lakehouse-runbooks-")
    dagster_home = local_services.home / "dagster"
    assert not dagster_home.exists(), f"{dagster_home} is in use"
    contracts = scratch / "contracts"
    shutil.copytree(REPO_ROOT / "contracts", contracts)
    _set_channels(contracts, STRICT_CHANNELS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAKEHOUSE_HOME", str(local_services.home))
        patch.setenv("LAKEHOUSE_ENV", "local")
        patch.setenv("LAKEHOUSE_LAKE_ROOT", str(scratch / "lake"))
        patch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(contracts))
        patch.delenv("DAGSTER_HOME", raising=False)
        env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
        index = Runbook("README", env)
        for line in _index_commands():
            index._execute(Command("README", line), line)
        assert env["DAGSTER_HOME"] == str(dagster_home)
        patch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
        try:
            yield {"dagster_home": dagster_home, "lake": scratch / "lake", "contracts": contracts, "env": env}
        finally:
            shutil.rmtree(dagster_home, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)


def _index_commands() -> list[str]:
    import re

    text = (RUNBOOKS_DIR / "README.md").read_text()
    blocks = re.findall(r"^```console\s*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def _set_channels(contracts: Path, channels: list[str]) -> None:
    path = contracts / "bronze" / "orders.yaml"
    document = yaml.safe_load(path.read_text())
    rule = next(r for r in document["rules"] if r["id"] == "channel_allowed")
    rule["values"] = channels
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _instance(stack) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(stack["dagster_home"]))


def _runs(stack, job: str = "lakehouse_daily_job") -> list:
    with _instance(stack) as instance:
        return instance.get_run_records(dg.RunsFilter(job_name=job))


@pytest.fixture(scope="module")
def backfilled(stack):
    """The backfill runbook, run first: it builds the lake every other runbook works on."""
    runbook = Runbook("backfill", stack["env"])
    runbook.run({"start-day": DAYS[0], "end-day": DAYS[-1], "day": DAYS[-1]})
    return runbook


def _day_rows(uri: Path) -> dict[str, int]:
    """Rows per day; a quarantine table's undated rows (``_run_date`` NULL) are left out."""
    table = DeltaTable(str(uri)).to_pyarrow_table(columns=["_run_date"])
    counts: dict[str, int] = {}
    for day in table.column("_run_date").to_pylist():
        if day is not None:
            counts[day.isoformat()] = counts.get(day.isoformat(), 0) + 1
    return counts


def test_backfill_runs_every_day_of_the_range_in_order(stack, backfilled):
    records = _runs(stack)
    first = [r for r in records if r.dagster_run.tags.get("dagster/partition") in DAYS]
    assert first, "no lakehouse_daily_job runs recorded"
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    full = backfilled.output_of(f"--end {DAYS[-1]}")
    checks = len(build_definitions().resolve_asset_graph().asset_check_keys)
    assets = len(build_definitions().resolve_asset_graph().get_all_asset_keys())
    for day in DAYS:
        expected = f"{day} succeeded: {assets} asset(s) materialized, {checks} of {checks} checks passed"
        assert expected in full, full
    assert full.index(DAYS[0] + " succeeded") < full.index(DAYS[1] + " succeeded")
    partitioned = ("bronze/orders", "quarantine/orders", "silver/orders", "silver/customer_activity")
    for key in (*partitioned, "gold/fact_orders", "gold/fact_customer_activity"):
        assert sorted(_day_rows(stack["lake"] / key)) == list(DAYS), key
    # the partial backfill ran silver/orders and what is downstream of it, for one day
    partial = backfilled.output_of("--select silver/orders+")
    assert f"{DAYS[-1]} succeeded: 4 asset(s) materialized" in partial, partial
    partial_runs = [r for r in records if len(r.dagster_run.asset_selection or ()) == 4]
    assert len(partial_runs) == 1
    assert {k.to_user_string() for k in partial_runs[0].dagster_run.asset_selection} == {
        "silver/orders", "silver/customer_activity", "gold/fact_orders", "gold/fact_customer_activity"
    }
    listing = backfilled.output_of("table list")
    for key in ("bronze/orders", "quarantine/orders", "silver/customer_activity", "gold/dim_date"):
        assert key in listing, listing
    assert "channel_allowed" in backfilled.output_of("quarantine counts")


def test_replay_quarantined_rows_after_a_contract_fix(stack, backfilled):
    before = {d.day.isoformat(): d for d in quarantine_days(["orders"]) if d.day}
    assert all(before[day].rules["channel_allowed"] > 0 for day in DAYS)
    silver_before = _day_rows(stack["lake"] / "silver" / "orders")

    def fix_the_contract() -> None:
        _set_channels(stack["contracts"], ["web", "mobile", "store"])

    runbook = Runbook("replay-quarantine", stack["env"])
    runbook.run({"first-day": DAYS[0], "last-day": DAYS[-1]}, before={"backfill": fix_the_contract})
    total = lambda output: int(output.strip().splitlines()[-1].split()[0].replace(",", ""))  # noqa: E731
    assert total(runbook.output_of("quarantine counts", 1)) < total(runbook.output_of("quarantine counts", 0))
    after = {d.day.isoformat(): d for d in quarantine_days(["orders"]) if d.day}
    for day in DAYS:
        moved = before[day].quarantined_rows - after[day].quarantined_rows
        assert moved > 0, day
        assert after[day].bronze_rows == before[day].bronze_rows + moved, day  # the day's total is unchanged
        assert after[day].rules["channel_allowed"] < before[day].rules["channel_allowed"], day
    # what still breaks channel_allowed is the generator's real dirt, never the store channel
    quarantined = DeltaTable(str(stack["lake"] / "quarantine" / "orders")).to_pyarrow_table().to_pylist()
    payloads = [
        {name.lower(): value for name, value in json.loads(row["_original_payload"]).items()}
        for row in quarantined
        if any(reason["rule_id"] == "channel_allowed" for reason in row["_error_reasons"])
    ]
    channels = [payload.get("channel") for payload in payloads]
    assert channels and "store" not in channels
    # the replayed rows reached silver
    silver_after = _day_rows(stack["lake"] / "silver" / "orders")
    assert all(silver_after[day] > silver_before[day] for day in DAYS)


def test_reset_a_watermark(stack, backfilled):
    runbook = Runbook("reset-watermark", stack["env"])
    runbook.run({"re-check-from-day": DAYS[0]})
    preview = runbook.output_of("sensor preview")
    # the loaded days match the source: only the day never loaded is requested, nothing twice
    assert "Sensor returning run requests for 1 run(s)" in preview, preview
    requested = [
        line.split("; requested ", 1)[1].split(";")[0].strip()
        for line in preview.splitlines()
        if "; requested " in line
    ]
    assert requested == ["2026-01-03"], preview
    assert 'Set cursor state for sensor bronze_orders_watermark_sensor' in runbook.output_of("--set")
    assert "Cleared cursor state for sensor bronze_orders_watermark_sensor" in runbook.output_of("--delete")


def _corrupt_dim_customer(uri: str) -> None:
    """A bad write: every current version appended again (duplicate current rows, overlapping intervals)."""
    from deltalake import write_deltalake

    table = DeltaTable(uri)
    current = table.to_pyarrow_table(filters=[("is_current", "=", True)])
    write_deltalake(uri, current, mode="append")


def test_repair_scd2_from_delta_history(stack, backfilled, engine):
    uri = str(stack["lake"] / "gold" / "dim_customer")
    good_version = DeltaTable(uri).version()
    good_rows = _sorted_rows(DeltaTable(uri))
    _corrupt_dim_customer(uri)
    assert DeltaTable(uri).version() == good_version + 1

    def last_good_version() -> str:
        history = runbook.output_of("table history gold/dim_customer")
        # the version the last pipeline run wrote is listed with its partition; the bad write has none
        line = next(l for l in history.splitlines() if l.strip("│ ").startswith(f"{good_version} "))
        assert DAYS[-1] in line, history
        return str(good_version)

    runbook = Runbook("repair-scd2", stack["env"])
    runbook.run(
        {
            "last-good-version": last_good_version,
            "first-affected-day": DAYS[-1],
            "first-day": DAYS[0],
            "last-day": DAYS[-1],
        }
    )
    repaired = DeltaTable(uri)
    operations = [c["operation"] for c in repaired.history(4)]
    assert "RESTORE" in operations
    assert _sorted_rows(repaired) == good_rows  # the replayed day re-merged to the same history
    replay = runbook.output_of("--select gold/dim_customer+")
    assert f"{DAYS[-1]} succeeded" in replay and "failed checks" not in replay, replay
    assert "RESTORE" in runbook.output_of("--limit 5")


def _sorted_rows(table: DeltaTable) -> list[dict]:
    rows = table.to_pyarrow_table().to_pylist()
    return sorted(rows, key=lambda r: (r["customer_key"], str(r["valid_from"])))


def test_roll_a_table_back_to_a_version(stack, backfilled, spark):
    uri = str(stack["lake"] / "silver" / "orders")
    good_version = DeltaTable(uri).version()
    good = _day_rows(Path(uri))
    # a bad write: day two overwritten with a tenth of its rows
    day_two = spark.read.format("delta").load(uri).where(f"_run_date = DATE'{DAYS[-1]}'")
    (
        day_two.limit(max(1, good[DAYS[-1]] // 10)).write.format("delta").mode("overwrite")
        .option("replaceWhere", f"_run_date = DATE'{DAYS[-1]}'").save(uri)
    )
    assert _day_rows(Path(uri))[DAYS[-1]] < good[DAYS[-1]]
    restored: dict = {}

    def check_the_restore() -> None:
        restored["rows"] = _day_rows(Path(uri))
        restored["version"] = DeltaTable(uri).version()

    runbook = Runbook("rollback-table", stack["env"])
    runbook.run(
        {"good-version": str(good_version), "first-day": DAYS[-1], "last-day": DAYS[-1]},
        before={"backfill": check_the_restore},
    )
    assert restored["rows"] == good
    assert restored["version"] == good_version + 2  # the bad write, then the restore as a new version
    assert DeltaTable(uri).history(10)[0]["operation"] != "RESTORE"  # the backfill wrote after it
    assert "RESTORE" in runbook.output_of("--limit 3")
    undo = f"undo with `lakehouse table restore silver/orders --version {good_version + 1}`"
    assert undo in runbook.output_of("table restore").replace("\n", "")
    assert _day_rows(Path(uri)) == good
