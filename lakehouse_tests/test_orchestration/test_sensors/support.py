"""Sources holding generated data day by day, small stand-in lakes, and a watermark sensor's tick: shared by
the sensor tests and the fault tests that tick a sensor."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.contracts import Contract
from lakehouse.generator import GeneratedData, GeneratorConfig, generate_data, load_redshift, load_snowflake
from lakehouse.generator.specs import TableSpec, table_spec
from lakehouse.lake import Lake
from lakehouse.orchestration.definitions import bronze_source_contracts
from lakehouse.orchestration.sensors.watermark_sensor import WatermarkSettings, bronze_watermark_sensor
from lakehouse.orchestration.sensors.watermarks import DayState
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.services import LocalServices
from lakehouse.settings import DEPLOYMENT_ENV_VAR, Deployment
from lakehouse_tests.fixtures.services import scratch_home

CONFIG = GeneratorConfig(scale_factor=0.002, days=3, seed=23)
DAY_1, DAY_2, DAY_3 = (CONFIG.day(i) for i in range(3))
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


class Sources:
    """The private services, made to hold exactly the commit batches up to a given day."""

    def __init__(self, services: LocalServices, data: GeneratedData) -> None:
        self.services = services
        self.data = data
        self.held_through: date | None = None
        self.resources: dict[str, Any] = {
            "snowflake": snowflake_resource(services),
            "redshift": redshift_resource(services),
        }

    def hold_through(self, last: date) -> None:
        """Load the batches committed up to ``last``: appending the missing days when moving forward
        (a new commit), starting over when moving back."""
        if self.held_through == last:
            return
        replace = self.held_through is not None and last < self.held_through
        batches = self.data.batches_through(last)
        with self.services.snowflake_paused() as db_dir:
            load_snowflake(batches, db_dir, replace=replace)
        load_redshift(batches, self.services.postgres_dsn(), replace=replace)
        self.held_through = last

    def expected_states(self, table: str, through: date) -> dict[date, DayState]:
        """Per-day rows and greatest change value of ``table`` once the batches up to ``through`` are
        committed, computed from the generated rows, independently of any SQL."""
        spec = source_spec(table)
        states: dict[date, list] = defaultdict(list)
        for batch in self.data.batches_through(through):
            for value in batch.rows(spec).column(spec.change_column).to_pylist():
                if value is not None:  # a NULL change column is in no day (bronze quarantines it)
                    states[value.date()].append(value)
        return {day: DayState(len(values), max(values)) for day, values in sorted(states.items())}


def source_spec(table: str) -> TableSpec:
    return table_spec(contract_of(table).source.table)


def contract_of(table: str) -> Contract:
    return bronze_source_contracts([table])[0]


def write_lake(root: Path, table: str, rows_per_day: Mapping[date, int]) -> None:
    """Stand in for the bronze asset: ``bronze/<table>`` and ``quarantine/<table>`` partitioned by
    ``_run_date`` with ``rows_per_day`` rows in all, one row of each day in quarantine, so only their sum
    matches the source."""
    lanes: dict[str, list[date]] = {"bronze": [], "quarantine": []}
    for day, rows in rows_per_day.items():
        quarantined = min(rows, 1)
        lanes["quarantine"] += [day] * quarantined
        lanes["bronze"] += [day] * (rows - quarantined)
    for layer, days in lanes.items():
        frame = pa.table(
            {"row": pa.array(range(len(days)), pa.int64()), "_run_date": pa.array(days, pa.date32())}
        )
        uri = str(Path(root) / layer / table)
        write_deltalake(uri, frame, partition_by=["_run_date"], mode="overwrite")


def tick(
    sources: Sources,
    table: str,
    lake: Path,
    cursor: str | None,
    instance: dg.DagsterInstance | None = None,
    *,
    lag_days: int = 2,
    max_attempts: int = 3,
    now: datetime = NOW,
) -> dg.SensorResult:
    settings = WatermarkSettings(lag_days=lag_days, max_attempts=max_attempts, clock=lambda: now)
    sensor = bronze_watermark_sensor(contract_of(table), settings)
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance or dg.DagsterInstance.ephemeral(),
        resources=with_lake(sources, lake),
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def with_lake(sources: Sources, lake: Path | str) -> dict:
    """The sources' resources and a ``Lake`` at ``lake``: what a watermark sensor takes."""
    return {**sources.resources, "lake": Lake(root_uri=str(lake))}


def requested(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [(str(request.partition_key), str(request.run_key)) for request in result.run_requests or []]


@contextmanager
def private_sources(prefix: str, config: GeneratorConfig) -> Iterator[Sources]:
    """A private pair of local services under a scratch home, with ``config``'s data generated (loaded
    day by day by the tests), stopped and removed at the end."""
    home = scratch_home(prefix)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEPLOYMENT_ENV_VAR, Deployment.LOCAL.value)
        services = LocalServices(home=home)
        services.up()
        try:
            yield Sources(services, generate_data(config))
        finally:
            services.down()
            shutil.rmtree(home, ignore_errors=True)
