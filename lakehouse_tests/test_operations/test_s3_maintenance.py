"""Maintenance, listing and restore on an S3 lake (moto's server on loopback), configured only through the
standard AWS settings, as in production."""

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from lakehouse.lake import Lake
from lakehouse.lake.storage import delta_storage_options
from lakehouse.lake.maintenance import MaintenancePlan, maintain_table
from lakehouse.operations.tables import restore_table
from lakehouse_tests.fixtures.s3 import BUCKET


def test_maintenance_and_restore_on_s3(s3_env):
    root = f"s3://{BUCKET}/ops-lake"
    lake = Lake(root_uri=root)
    uri = f"{root}/gold/fact_orders"
    options = delta_storage_options(uri)
    for batch in range(4):
        ids = list(range(batch * 10, batch * 10 + 10))
        frame = pa.table(
            {"order_id": ids, "customer_key": [i % 3 for i in ids], "_run_date": ["2026-01-01"] * 10}
        )
        write_deltalake(uri, frame, mode="append", partition_by=["_run_date"], storage_options=options)
    assert [t.key for t in lake.tables()] == ["gold/fact_orders"]
    table = lake.lake_table("gold/fact_orders")
    order_ids = lambda: sorted(  # noqa: E731
        DeltaTable(uri, storage_options=options).to_pyarrow_table().column("order_id").to_pylist()
    )
    before = order_ids()
    assert lake.stored_files(uri).files == 4

    report = maintain_table(table, MaintenancePlan(), lake)
    assert report.strategy == "z_order"
    assert (report.live_before.files, report.live_after.files) == (4, 1)
    assert report.stored_after.files == 5  # the compacted-away files stay within the retention
    assert order_ids() == before

    outcome = restore_table(table, report.version_before, lake=lake)
    assert outcome.version_after == report.version_after + 1
    assert lake.live_files(DeltaTable(uri, storage_options=options)).files == 4
