"""`lakehouse bench` end to end at a tiny scale factor: every scenario runs and the report is complete.

No timing assertions: the figures depend on the machine; the test checks that they are there, positive,
and that the ratios were computed from them. Classic Spark is left out (its JVM alone takes most of a
minute here); its runner is the same module as the Sail one with another engine mode.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.benchmarks.harness import long_run_lines, long_run_ratios, memory_growth, peak_after
from lakehouse_tests.fixtures.services import scratch_home

pytestmark = pytest.mark.slow

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
ROW = re.compile(
    r"^\| (?P<sf>[\d.]+) \| (?P<figure>[^|]+) \| (?P<median>[^|]+) \| (?P<runs>\d+) "
    r"\| (?P<target>[^|]*) \| (?P<verdict>[^|]*) \|$"
)
OVERHEAD = "framework overhead: Dagster silver asset + check steps / bare silver on Sail"
BARE = "bare silver transforms on Sail, into Delta"
SUITES = "bare silver Great Expectations suites on Sail (the checks without Dagster)"
FLOOR = "floor of the overhead: (bare silver transforms + suites) / bare silver transforms"
DAGSTER = "Dagster and lineage: Dagster silver asset + check steps / bare transforms + suites"
MEMORY_GROWTH = "peak memory: after day 3 / after day 2"
GATE = (
    "gate: added to a passing day (version reads around the in-step writes)",
    "gate: reject the last day's write of bronze/behavior_events",
    "gate: reject the last day's write of gold/fact_orders",
)


def _bench(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    skip = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")
    environment = {k: v for k, v in os.environ.items() if k not in skip}
    environment.update({"LAKEHOUSE_HOME": str(cwd / "home"), "LAKEHOUSE_ENV": "local", "COLUMNS": "200"})
    return subprocess.run(
        [LAKEHOUSE, "bench", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def _number(text: str) -> float:
    return float(text.strip().split()[0].rstrip("×").replace(",", ""))


@pytest.fixture(scope="module")
def report():
    workdir = scratch_home("lakehouse-bench-test-")
    scenarios = ("--only", "medallion", "--only", "bare")
    tiny = ("--scale-factor", "0.002", "--repeat", "1", "--days", "3")
    done = _bench(workdir, *tiny, *scenarios, "--output", "report.md")
    try:
        assert done.returncode == 0, done.stderr
        yield done, (workdir / "report.md").read_text()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_report_names_the_machine_the_versions_and_the_command(report):
    _, text = report
    assert "- Command: `lakehouse bench --scale-factor 0.002 --repeat 1 --days 3" in text
    machine = re.search(r"- Machine: (.+), (\d+) cores, ([\d.]+) GiB RAM", text)
    assert machine and int(machine.group(2)) >= 1 and float(machine.group(3)) > 0
    for package in ("python", "dagster", "pyspark", "pysail", "deltalake"):
        assert re.search(rf"{package} \d+\.\d+", text), package
    assert re.search(r"Load average \(1, 5, 15 min\) before: [\d.]+, [\d.]+, [\d.]+", text)


def test_every_figure_is_measured_positive_and_the_ratios_are_computed(report):
    done, text = report
    rows = {m["figure"].strip(): m for m in map(ROW.match, text.splitlines()) if m}
    expected = [
        "day 1 wall time through Dagster",
        "peak memory of the run's process",
        "bronze: rows per second (day 1)",
        "silver: rows per second (day 1)",
        "gold: rows per second (day 1)",
        "silver: check step seconds (day 1)",
        "day 3 wall time through Dagster",
        "day 3 / day 1 cost ratio",
        "peak memory after day 2",
        MEMORY_GROWTH,
        "SCD2 MERGE of dim_customer, day 1: rows per second",
        BARE,
        OVERHEAD,
        SUITES,
        FLOOR,
        DAGSTER,
        *GATE,
    ]
    for figure in expected:
        assert figure in rows, f"{figure!r} missing from the report:\n{text}"
        assert rows[figure]["sf"] == "0.002" and rows[figure]["runs"] == "1"
        assert _number(rows[figure]["median"]) > 0, figure
    for ratio in ("day 3 / day 1 cost ratio", OVERHEAD, MEMORY_GROWTH):
        assert rows[ratio]["median"].strip().endswith("×")
        assert rows[ratio]["verdict"].strip() in ("met", "MISSED")
    for ratio in (FLOOR, DAGSTER):
        assert rows[ratio]["median"].strip().endswith("×") and not rows[ratio]["verdict"].strip()
    # one run: the medians are that run's figures, so the ratios can be recomputed from the rounded seconds
    bare, suites = _number(rows[BARE]["median"]), _number(rows[SUITES]["median"])
    assert _number(rows[FLOOR]["median"]) == pytest.approx((bare + suites) / bare, rel=0.1)
    reading = re.search(r"- \*\*SF 0\.002\*\*: the framework overhead is ([\d.]+)× \((met|missed)\)", text)
    assert reading and reading.group(1) == rows[OVERHEAD]["median"].strip().rstrip("×")
    assert f"can go below {rows[FLOOR]['median'].strip()}" in text
    # the day's wall time is made of its steps: the step table lists bronze, silver and gold steps
    assert re.search(r"\| `bronze_orders` \| [\d.]+ \| [\d,]+ \| [\d.]+ \| [\d,]+ \|", text)
    assert re.search(r"\| `silver__orders_great_expectations` \| [\d.]+ \| 0 \| [\d.]+ \| 0 \|", text)
    assert re.search(r"- orders: [\d.]+ \([\d,]+ rows; its suite [\d.]+ s\)", text)  # per table
    assert "report written to" in done.stdout


def test_a_bad_option_is_one_line_naming_it(tmp_path):
    done = _bench(tmp_path, "--days", "1", "--output", "report.md")
    assert done.returncode != 0
    assert "--days must be at least 2" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "report.md").exists()


def test_large_scale_days_is_checked_like_days(tmp_path):
    done = _bench(tmp_path, "--large-scale-days", "1", "--output", "report.md")
    assert done.returncode != 0
    assert "--large-scale-days must be at least 2" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "report.md").exists()


def test_the_cluster_scenario_above_sf_1_alone_is_one_line_naming_the_limit(tmp_path):
    done = _bench(tmp_path, "--only", "cluster", "--scale-factor", "10", "--output", "report.md")
    assert done.returncode != 0
    assert "the cluster scenario runs at scale factors up to 1" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "report.md").exists()


def test_the_long_run_figures_are_the_last_day_against_the_reference_day():
    def day(peak: float, **steps: tuple[float, int]) -> dict:
        return {
            "peak_memory_mb": peak,
            "steps": {name: {"seconds": seconds, "assets": [name]} for name, (seconds, _) in steps.items()},
            "assets": {name: {"rows": rows} for name, (_, rows) in steps.items()},
        }

    days = [day(1000.0 + 10 * n, fact=(1.0, 1000), dim=(0.5, 100), check=(0.2, 0)) for n in range(1, 8)]
    days.append(day(1300.0, fact=(3.0, 2000), dim=(0.5, 100), check=(0.9, 0)))
    run = {"days": days}
    assert long_run_ratios(run) == {"fact": pytest.approx(1.5), "dim": pytest.approx(1.0)}  # checks write no rows
    assert memory_growth(run) == pytest.approx(1300.0 / 1020.0)
    assert peak_after(run, 2) == 1020.0 and peak_after(run, 9) is None
    assert long_run_ratios({"days": days[:7]}) == {}
    lines = long_run_lines(run)
    assert "| `fact` | 1000.00 | 1500.00 | 1.50× |" in lines
    assert lines[-2] == "Peak memory of the run's process after each day (MB): " + ", ".join(
        f"{1000 + 10 * n:,}" for n in range(1, 8)
    ) + ", 1,300."
