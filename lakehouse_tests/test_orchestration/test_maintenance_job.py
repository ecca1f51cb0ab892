"""The weekly maintenance job on real Delta tables written by the engine in many small commits: it reports
files and bytes per table as asset observations of the tables' assets, refuses a short retention before
any work, and its config chooses the tables and the Z-order."""

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.lake import Lake
from lakehouse.lake.maintenance import MIN_RETENTION_HOURS
from lakehouse.orchestration.jobs import lake_maintenance_job
from lakehouse_tests.support import step_failure_message
from lakehouse_tests.test_operations.support import APPENDS, small_files_lake


@pytest.fixture
def lake(spark, tmp_path) -> Lake:
    return small_files_lake(spark, tmp_path)


def test_maintenance_job_reports_files_and_bytes_per_table(lake):
    resources = {"lake": lake}
    with dg.DagsterInstance.ephemeral() as instance:
        result = lake_maintenance_job().execute_in_process(resources=resources, instance=instance)
        assert result.success
        observations = {
            event.asset_key.to_user_string(): event.event_specific_data.asset_observation.metadata
            for event in result.all_events
            if event.event_type_value == "ASSET_OBSERVATION"
        }
        assert set(observations) == {"bronze/orders", "silver/orders", "gold/fact_orders"}
        for key, metadata in observations.items():
            assert metadata["maintenance/files_before"].value == 2 * APPENDS, key
            assert metadata["maintenance/files_after"].value == 2, key
            assert metadata["maintenance/bytes_before"].value > 0
            assert metadata["maintenance/bytes_after"].value > 0
            assert metadata["maintenance/retention_hours"].value == MIN_RETENTION_HOURS
        assert observations["gold/fact_orders"]["maintenance/strategy"].value == "z_order"
        assert observations["silver/orders"]["maintenance/strategy"].value == "compact"
        # the observations are stored against the table assets, where the UI shows them
        stored = instance.fetch_observations(dg.AssetKey(["gold", "fact_orders"]), limit=5).records
        assert len(stored) == 1
        summary = [
            event.event_specific_data.metadata
            for event in result.all_events
            if event.event_type_value == "STEP_OUTPUT"
        ]
        assert summary and summary[0]["files_before"].value == 6 * APPENDS
        assert summary[0]["files_after"].value == 6


def test_maintenance_job_refuses_a_short_retention_before_any_work(lake):
    resources = {"lake": lake}
    versions = {t.key: DeltaTable(t.uri).version() for t in lake.tables()}
    result = lake_maintenance_job().execute_in_process(
        resources=resources,
        run_config={"ops": {"maintain_lake_tables": {"config": {"retention_hours": 24}}}},
        raise_on_error=False,
    )
    assert not result.success
    message = step_failure_message(result)
    assert "retention_hours" in message and "168" in message, message
    assert {t.key: DeltaTable(t.uri).version() for t in lake.tables()} == versions


def test_maintenance_job_config_chooses_tables_and_z_order(lake):
    resources = {"lake": lake}
    config = {"tables": ["silver/orders"], "z_order": {"silver/orders": ["customer_key"]}}
    result = lake_maintenance_job().execute_in_process(
        resources=resources, run_config={"ops": {"maintain_lake_tables": {"config": config}}}
    )
    assert result.success
    observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert [e.asset_key.to_user_string() for e in observed] == ["silver/orders"]
    metadata = observed[0].event_specific_data.asset_observation.metadata
    assert metadata["maintenance/strategy"].value == "z_order"
    assert DeltaTable(lake.table(["gold", "fact_orders"])).history(1)[0]["operation"] == "WRITE"  # untouched
