"""One measured run of the whole medallion through Dagster, in a process of its own (one process per run,
so its peak memory is its own): fresh local services on a scratch home, generated data loaded into them
(not timed; in a child process, so the generated days held in memory do not count), then ``lakehouse_daily_job`` (checks and lineage included) for day 1 to day N, one run per day.

    python -m lakehouse.benchmarks.medallion_run <scale_factor> <days> <generated_days> <home or -> <export_dir or -> <result.json>

``generated_days`` days of data are generated and loaded (at least ``days``), so a run of day 1 alone can
read exactly the sources a longer run reads. ``home`` is the scratch ``LAKEHOUSE_HOME`` (created here and
removed afterwards; ``-`` for a new temporary one); the lake is under it, on local disk.

The engine is the code location's choice, from the environment the worker is given: embedded Sail, or with
``LAKEHOUSE_ENGINE=cluster`` the local Sail cluster, which is then started with the other services under
``home`` and stopped with them, also when the run fails. Its server's resident memory (with any child
process) is sampled while the days run.

After day 1, with ``export_dir``, the bronze tables of day 1 are copied to plain Parquet there (not timed),
so the bare transforms run on exactly the data the Dagster run read.

After the last day, the cost of the gate that rejects a write whose blocking checks fail
(``lakehouse.quality.gates``): what it adds to a passing day (the Delta log reads of the versions around
the in-step writes: a passing check rejects nothing) and the time to reject the last day's write of
``REJECTED_TABLES``, as a failing check would.
"""

import contextlib
import importlib
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Self

BRONZE_INPUTS = ("customers", "products", "orders", "order_items", "behavior_events")
REJECTED_TABLES = ("bronze/behavior_events", "gold/fact_orders")
"""The largest bronze table (one day's overwrite) and the accumulating fact (one day's ``MERGE``)."""
VERSION_READS = {
    **{f"{lane}/{table}": 2 for lane in ("bronze", "quarantine") for table in BRONZE_INPUTS},
    "gold/dim_customer": 1,
    "gold/dim_product": 1,
}
"""The version reads the gate adds to a passing day, per table: bronze reads each lane's version before and
after its write; the dimensions, the version before their ``MERGE``. The other gated writes already read
both."""


def peak_memory_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its waited-for children (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"process_mb": round(own, 1), "children_mb": round(children, 1)}


class MemorySampler:
    """The resident memory of a process and its children, sampled every ``interval`` seconds in a thread:
    the first sample and the peak, in MB. Cheap (one ``/proc`` read per process per sample); a peak shorter
    than the interval can be missed."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.first_mb: float | None = None
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def sample(self) -> float | None:
        import psutil

        try:
            process = psutil.Process(self.pid)
            family = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        total = 0
        for member in family:
            try:
                total += member.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total / 1024 / 1024

    def _run(self) -> None:
        while True:
            resident = self.sample()
            if resident is not None:
                self.first_mb = resident if self.first_mb is None else self.first_mb
                self.peak_mb = max(self.peak_mb, resident)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, float]:
        return {"start_mb": round(self.first_mb or 0.0, 1), "peak_mb": round(self.peak_mb, 1)}


def directory_mb(root: str) -> float | None:
    """The bytes of the files under a local directory, in MB (``None`` for an object-store URI)."""
    if "://" in root and not root.startswith("file://"):
        return None
    path = Path(root.removeprefix("file://"))
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024 / 1024, 1)


def day_profile(instance, run_id: str) -> dict[str, Any]:
    """Per step: wall seconds and the assets it materialized; per asset: rows, duration and layer."""
    import dagster as dg

    started: dict[str, float] = {}
    steps: dict[str, dict[str, Any]] = {}
    assets: dict[str, dict[str, Any]] = {}
    first = last = None
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        first = entry.timestamp if first is None else min(first, entry.timestamp)
        last = entry.timestamp if last is None else max(last, entry.timestamp)
        step = steps.setdefault(entry.step_key, {"seconds": 0.0, "assets": []})
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            step["seconds"] = round(entry.timestamp - started.get(entry.step_key, entry.timestamp), 3)
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            metadata = {name: value.value for name, value in materialization.metadata.items()}
            rows = metadata.get("dagster/row_count")
            assets[key] = {
                "layer": materialization.asset_key.path[0],
                "rows": int(rows) if isinstance(rows, int | float) else 0,
                "duration_seconds": float(metadata.get("duration_seconds") or 0.0),
                "step": entry.step_key,
                **{
                    name: metadata[name]
                    for name in ("rows_inserted", "rows_updated", "merge_seconds", "merge_source_rows")
                    if name in metadata
                },
            }
            step["assets"].append(key)
    return {"steps": steps, "assets": assets, "steps_wall_seconds": round((last or 0) - (first or 0), 3)}


def export_bronze(spark, lake, export_dir: str) -> dict[str, int]:
    rows = {}
    for table in BRONZE_INPUTS:
        frame = spark.read.format("delta").load(lake.table(["bronze", table]))
        frame.write.mode("overwrite").parquet(os.path.join(export_dir, table))
        rows[table] = spark.read.parquet(os.path.join(export_dir, table)).count()
    return rows


def gate_costs(instance, run_id: str, lake) -> dict[str, Any]:
    """The gate's cost on the lake after the run ``run_id``: the seconds of the version reads it adds to a
    passing day (each read timed once here, times the reads per day), and, per table of
    ``REJECTED_TABLES``, the seconds to reject that run's write of it (then done: the lake is not used
    again), with the rows it took out of the table."""
    import dagster as dg

    from lakehouse.quality.gates import written_table

    clock = time.perf_counter()
    for table, reads in VERSION_READS.items():
        for _ in range(reads):
            lake.version(lake.table(table.split("/")))
    costs: dict[str, Any] = {"passing_day_seconds": round(time.perf_counter() - clock, 4), "rejections": {}}
    for table in REJECTED_TABLES:
        key = dg.AssetKey(table.split("/"))
        records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=5).records
        [materialization] = [r.asset_materialization for r in records if r.run_id == run_id]
        write = written_table(materialization, prefix="")
        rejection = write.reject(lake, reason="benchmark")
        costs["rejections"][table] = {
            "seconds": round(rejection.seconds, 4),
            "rows_rejected": rejection.rows_rejected,
            "files_removed": rejection.files_removed,
            "files_restored": rejection.files_restored,
            "rejected": rejection.rejected,
        }
    return costs


def generate_and_load(scale_factor: float, days: int, home: str) -> list:
    """Generate ``days`` days at ``scale_factor`` and load them into the running services of ``home``;
    returns the days the sources hold changes of, oldest first."""
    os.environ["LAKEHOUSE_HOME"] = home
    from lakehouse.generator import GeneratorConfig, generate_data, load_redshift, load_snowflake
    from lakehouse.services import LocalServices

    services = LocalServices()
    data = generate_data(GeneratorConfig(scale_factor, days=days))
    with services.snowflake_paused() as db_dir:
        load_snowflake(data.batches, db_dir)
    load_redshift(data.batches, services.postgres_dsn())
    return sorted({batch.commit_date for batch in data.batches})


def main(
    scale_factor: float, days: int, generated_days: int, home: str | None, export_dir: str | None, result_path: str
) -> None:
    if home is None:
        home = tempfile.mkdtemp(prefix="lakehouse-bench-")
    os.makedirs(home, exist_ok=True)
    os.environ["LAKEHOUSE_HOME"] = home
    os.environ.setdefault("DAGSTER_HOME", os.path.join(home, "dagster"))
    warnings.filterwarnings("ignore")
    import dagster as dg

    from lakehouse.operations.runs import run_days
    from lakehouse.resources import ENGINE_MODE_ENV_VAR, LOCAL_CLUSTER_ENGINE, operator_lake
    from lakehouse.services import LocalServices
    from lakehouse.settings import lake_root

    cluster = os.environ.get(ENGINE_MODE_ENV_VAR) == LOCAL_CLUSTER_ENGINE
    services = LocalServices()
    setup: dict[str, float] = {}
    result: dict[str, Any] = {
        "scale_factor": scale_factor,
        "engine": "cluster" if cluster else "embedded",
        "generated_days": generated_days,
        "days": [],
    }
    try:
        clock = time.perf_counter()
        services.up(cluster=cluster)
        # Generated and loaded in a process of its own: the generated days are held in memory while they
        # load, and this process's peak memory must be the run's alone.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            commit_days = pool.submit(generate_and_load, scale_factor, max(days, generated_days), home).result()
        setup["services_generate_load_seconds"] = round(time.perf_counter() - clock, 2)
        # Imported once per process, as a run worker does before its run; every day's wall time then
        # includes building the definitions, so day 1 and day N pay the same fixed costs.
        clock = time.perf_counter()
        code_location = importlib.import_module("lakehouse.definitions")
        setup["import_seconds"] = round(time.perf_counter() - clock, 2)
        result["setup"] = setup
        day_list = commit_days[:days]
        # the cluster's server, listed by status() while it runs
        server = next((s.pid for s in services.status() if s.name == "spark" and s.pid), None)
        sampler = MemorySampler(server) if cluster and server is not None else None
        # A SQLite instance under the scratch home, as `lakehouse backfill` keeps its runs: an in-memory one
        # would hold every event of every day in this process and grow its memory with the days run.
        instance_dir = os.path.join(home, "dagster-bench")
        os.makedirs(instance_dir, exist_ok=True)
        with dg.DagsterInstance.local_temp(instance_dir) as instance, sampler or contextlib.nullcontext():
            for index, day in enumerate(day_list):
                clock = time.perf_counter()
                (outcome,) = run_days([day], definitions=code_location.defs(), instance=instance)
                wall = time.perf_counter() - clock
                if not outcome.success:
                    problems = outcome.failed_steps + outcome.failed_checks
                    raise SystemExit(f"day {day} failed: {'; '.join(problems)[:500]}")
                profile = day_profile(instance, outcome.run_id)
                result["days"].append(
                    {
                        "day": day.isoformat(),
                        "wall_seconds": round(wall, 3),
                        # the process's high-water mark so far: how the peak grows with the days run
                        "peak_memory_mb": peak_memory_mb()["process_mb"],
                        **profile,
                    }
                )
                if index == 0:
                    result["peak_memory_day_1"] = peak_memory_mb()
                    result["lake_mb_day_1"] = directory_mb(lake_root())
                    if export_dir:
                        from lakehouse.engine import SparkEngine

                        spark = SparkEngine().spark_session
                        result["exported_rows"] = export_bronze(spark, operator_lake(), export_dir)
                        result["first_day"] = day.isoformat()
            result["gate"] = gate_costs(instance, outcome.run_id, operator_lake())
        if sampler is not None:
            result["cluster_server_memory"] = sampler.figures()
        result["peak_memory"] = peak_memory_mb()
    finally:
        services.down()
        shutil.rmtree(home, ignore_errors=True)
    with open(result_path, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    sf, n_days, n_generated, scratch_home, export, output = sys.argv[1:7]
    main(
        float(sf),
        int(n_days),
        int(n_generated),
        None if scratch_home == "-" else scratch_home,
        None if export == "-" else export,
        output,
    )
