"""The cluster scenario's figures and reading, from a synthetic report: no engine, no services, no timing.

Each run here is shaped like ``lakehouse/benchmarks/medallion_run.py``'s result; the values are chosen so the medians
and ratios can be checked by hand.
"""

import os
import time

import pytest

from lakehouse.benchmarks import harness
from lakehouse.benchmarks.medallion_run import MemorySampler, directory_mb

DAY = "2026-01-01"


def _run(seconds: float, *, engine: str = "embedded", server_mb: float | None = None) -> dict:
    run = {
        "engine": engine,
        "days": [
            {
                "day": DAY,
                "wall_seconds": seconds,
                "steps_wall_seconds": seconds - 1,
                "steps": {"bronze_orders": {"seconds": seconds - 1, "assets": ["bronze/orders"]}},
                "assets": {
                    "bronze/orders": {"layer": "bronze", "rows": 1000, "duration_seconds": 1.0, "step": "x"},
                    "silver/orders": {"layer": "silver", "rows": 500, "duration_seconds": 1.0, "step": "y"},
                },
            }
        ],
        "peak_memory": {"process_mb": 900.0 if engine == "embedded" else 600.0, "children_mb": 0.0},
        "setup": {"services_generate_load_seconds": 5.0, "import_seconds": 2.0},
        "lake_mb_day_1": 42.0,
    }
    if server_mb is not None:
        run["cluster_server_memory"] = {"start_mb": 100.0, "peak_mb": server_mb}
    return run


def _report(result: harness.ScaleResult, cores: str = "2") -> harness.BenchmarkReport:
    report = harness.BenchmarkReport(
        command="lakehouse bench --only cluster --scale-factor 1 --repeat 3",
        started="2026-01-01 00:00 UTC",
        repeat=3,
        scenarios=("cluster",),
        machine={"cpu": "test", "cores": cores, "memory": "1.0 GiB", "os": "Linux"},
        versions={"python": "3.11", "pysail": "0.7.2"},
        load_before="0.00, 0.00, 0.00",
        results=[result],
    )
    report.rows = harness.summary_rows(report)
    return report


def _alternating(embedded: list[float], cluster: list[float]) -> harness.ScaleResult:
    result = harness.ScaleResult(scale_factor=1.0, days=1)
    for index, (e, c) in enumerate(zip(embedded, cluster)):
        result.cluster_embedded.append(_run(e))
        result.cluster.append(_run(c, engine="cluster", server_mb=1000.0 + index * 100))
    return result


def _rows(report: harness.BenchmarkReport) -> dict[str, dict]:
    return {row["figure"]: row for row in report.rows}


def test_the_cluster_ratio_is_the_median_of_the_pairs_ratios():
    # pairs 2×, 3× and 1.5×: the median ratio is 2×, not the ratio of the medians (24 / 10 = 2.4×)
    report = _report(_alternating([10.0, 8.0, 20.0], [20.0, 24.0, 30.0]))
    rows = _rows(report)
    assert rows[harness.CLUSTER_BASELINE_FIGURE]["median"] == 10.0
    assert rows[harness.CLUSTER_FIGURE]["median"] == 24.0
    ratio = rows[harness.CLUSTER_RATIO_FIGURE]
    assert ratio["median"] == pytest.approx(2.0) and ratio["unit"] == "×" and ratio["runs"] == 3
    assert rows[harness.CLUSTER_SERVER_MEMORY_FIGURE]["median"] == 1100.0
    assert rows[harness.CLUSTER_CLIENT_MEMORY_FIGURE]["median"] == 600.0
    for figure in (harness.CLUSTER_FIGURE, harness.CLUSTER_RATIO_FIGURE, harness.CLUSTER_SERVER_MEMORY_FIGURE):
        assert rows[figure]["target"] == "" and rows[figure]["verdict"] == ""


def test_with_the_medallion_scenario_its_runs_are_the_baseline_and_not_repeated():
    result = _alternating([10.0], [15.0])
    result.medallion = list(result.cluster_embedded)
    rows = _rows(_report(result))
    assert harness.CLUSTER_BASELINE_FIGURE not in rows
    assert rows[harness.DAY1_FIGURE]["median"] == 10.0
    assert rows[harness.CLUSTER_RATIO_FIGURE]["median"] == pytest.approx(1.5)


def test_a_cluster_run_without_a_memory_sample_leaves_that_figure_unmeasured():
    result = harness.ScaleResult(scale_factor=1.0, days=1)
    result.cluster_embedded.append(_run(10.0))
    result.cluster.append(_run(15.0, engine="cluster"))
    rows = _rows(_report(result))
    assert rows[harness.CLUSTER_SERVER_MEMORY_FIGURE]["median"] is None
    assert rows[harness.CLUSTER_SERVER_MEMORY_FIGURE]["runs"] == 0


def test_the_reading_says_the_ratio_is_the_overhead_of_distribution_on_the_same_cores():
    report = _report(_alternating([10.0, 8.0, 20.0], [20.0, 24.0, 30.0]))
    (line,) = [line for line in harness.reading(report) if "Local Sail cluster" in line]
    assert "**Local Sail cluster, SF 1**" in line
    assert "24.00 s on the local Sail cluster against 10.00 s on embedded Sail, 2.00×" in line
    assert "median of 3 pairs" in line and "alternating" in line
    assert "On this 2-core machine the cluster is slower" in line
    assert "overhead of distribution, not a speed-up" in line
    assert "Sail runs the cluster's driver and its two workers as actors inside one server process" in line
    assert "gRPC" in line and "shuffles" in line and "more machines" in line
    # what day 1 moves, from the embedded runs: bronze rows, rows over every layer, the lake on disk
    assert "1,000 rows into bronze and 1,500 rows over every layer, 42 MB of Delta tables" in line
    assert "server process peaked at 1,100 MB" in line
    assert "without an engine in it, at 600 MB, against 900 MB for the embedded run's process" in line
    # pairs' extra bronze seconds 10, 16 and 10: the median is 10; nothing else differs
    assert "bronze +10.0 s, silver +0.0 s, gold +0.0 s, outside any step +0.0 s" in line


def test_the_report_renders_the_cluster_rows_and_how_they_are_taken():
    text = harness.render(_report(_alternating([10.0], [25.0])))
    assert "| 1 | local Sail cluster / embedded Sail, day 1 | 2.50× | 1 |  |  |" in text
    assert "| 1 | day 1 wall time through Dagster on the local Sail cluster | 25.00 s | 1 |  |  |" in text
    assert "- Local Sail cluster (SF 1 and below): day 1 of the medallion run through Dagster with " in text


def test_where_the_time_goes_lists_day_1_steps_by_the_clusters_extra_seconds():
    result = _alternating([10.0], [25.0])
    cluster_day = result.cluster[0]["days"][0]
    cluster_day["steps"]["gold__fact_orders"] = {"seconds": 3.0, "assets": []}  # a step only the cluster ran
    text = harness.render(_report(result))
    assert "SF 1, first pair, day 1 (2026-01-01) on embedded Sail / on the local Sail cluster: 10.0 / 25.0 s" in text
    steps = [line for line in text.splitlines() if line.startswith("| `")]
    assert steps == ["| `bronze_orders` | 9.00 | 24.00 | +15.00 |", "| `gold__fact_orders` | n/a | 3.00 | n/a |"]


def test_no_cluster_runs_no_cluster_rows_or_reading():
    result = harness.ScaleResult(scale_factor=1.0, days=2)
    report = _report(result)
    assert not [row for row in report.rows if "cluster" in row["figure"]]
    assert harness.reading(report) == []


def test_the_medallion_worker_environment_pins_the_engine_and_a_local_lake():
    caller = {
        "PATH": "/bin",
        "LAKEHOUSE_ENGINE": "remote",
        "LAKEHOUSE_SPARK_REMOTE": "sc://elsewhere:15002",
        "LAKEHOUSE_LAKE_ROOT": "s3://bucket/lake",
        "LAKEHOUSE_ENV": "prod",
    }
    embedded = harness.medallion_environment(caller, "embedded")
    assert embedded == {"PATH": "/bin", "LAKEHOUSE_ENV": "local"}
    cluster = harness.medallion_environment(caller, "cluster")
    assert cluster == {"PATH": "/bin", "LAKEHOUSE_ENV": "local", "LAKEHOUSE_ENGINE": "cluster"}
    assert caller["LAKEHOUSE_ENGINE"] == "remote"  # the caller's own environment is left alone
    with pytest.raises(ValueError, match="not 'classic'"):
        harness.medallion_environment(caller, "classic")


def test_the_cluster_scenario_asked_only_above_sf_1_is_refused_before_anything_runs(tmp_path):
    output = tmp_path / "report.md"
    with pytest.raises(ValueError, match="the cluster scenario runs at scale factors up to 1"):
        harness.run_benchmarks((10.0,), only=("cluster",), output=output)
    assert not output.exists()
    with pytest.raises(ValueError, match="no scenario 'clusters'"):
        harness.run_benchmarks((1.0,), only=("clusters",), output=output)


def test_the_memory_sampler_reads_a_live_process_and_its_children():
    with MemorySampler(os.getpid(), interval=0.01) as sampler:
        time.sleep(0.05)
    figures = sampler.figures()
    assert 0 < figures["start_mb"] <= figures["peak_mb"]
    assert MemorySampler(2**22 + 12345).sample() is None  # no such process


def test_directory_mb_sums_the_files_of_a_local_lake_and_skips_object_stores(tmp_path):
    (tmp_path / "bronze" / "orders").mkdir(parents=True)
    (tmp_path / "bronze" / "orders" / "part-0.parquet").write_bytes(b"x" * 1024 * 1024)
    (tmp_path / "silver.parquet").write_bytes(b"x" * 512 * 1024)
    assert directory_mb(str(tmp_path)) == 1.5
    assert directory_mb(tmp_path.as_uri()) == 1.5
    assert directory_mb("s3://bucket/lake") is None
