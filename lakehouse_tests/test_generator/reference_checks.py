"""Independent row rules for the generated sources: what a quality gate must flag.

Written from the rules stated in ``lakehouse.generator.dirt`` and the reference domains, not from the
injection code, so a test can prove the manifest and the data agree: every row a rule flags is in the
manifest with that kind and column, and nothing else is flagged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import GeneratedData, TableSpec
from lakehouse.generator.clock import DAY
from lakehouse.generator.manifest import locator_value
from lakehouse.generator.model import COMMIT_DATE_COLUMN
from lakehouse.generator.reference import COUNTRY_CODES, CURRENCIES, ENUM_DOMAINS
from lakehouse.generator.specs import ALL_TABLES, MONEY, TIMESTAMP

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
INTEGER_PATTERN = r"^-?[0-9]+$"
TEXT_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# (table, column) -> (referenced table, referenced key)
FOREIGN_KEYS = {
    ("RETAIL.SALES.ORDERS", "CUSTOMER_ID"): ("RETAIL.CRM.CUSTOMERS", "CUSTOMER_ID"),
    ("RETAIL.SALES.ORDER_ITEMS", "ORDER_ID"): ("RETAIL.SALES.ORDERS", "ORDER_ID"),
    ("RETAIL.SALES.ORDER_ITEMS", "PRODUCT_ID"): ("RETAIL.CATALOG.PRODUCTS", "PRODUCT_ID"),
    ("analytics.web.behavior_events", "customer_id"): ("RETAIL.CRM.CUSTOMERS", "CUSTOMER_ID"),
    ("analytics.web.behavior_events", "product_id"): ("RETAIL.CATALOG.PRODUCTS", "PRODUCT_ID"),
}

Finding = tuple[str, str]  # (defect kind, column)


def _true(mask: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.fill_null(mask, False)


def row_findings(spec: TableSpec, rows: pa.Table, known_keys: Mapping[str, pa.Array]) -> list[list[Finding]]:
    """For each row (with its ``_commit_date``), every rule it breaks."""
    checks: list[tuple[str, str, pa.Array]] = []
    change = rows.column(spec.change_column)
    # No source commits a change before it happens: a change column after its commit day is in the future.
    commit_day_end = pc.add(
        rows.column(COMMIT_DATE_COLUMN).cast(TIMESTAMP), pa.scalar(DAY, pa.duration("us"))
    )
    checks.append(("null_change", spec.change_column, pc.is_null(change)))
    checks.append(("future_change", spec.change_column, _true(pc.greater_equal(change, commit_day_end))))
    for column in spec.columns:
        values = rows.column(column.name)
        name = column.name
        if name in spec.primary_key:
            checks.append(("null_key", name, pc.is_null(values)))
        if column.logical_type == "TIMESTAMP_NTZ":
            parsed = pc.strptime(values, format=TEXT_TIMESTAMP_FORMAT, unit="us", error_is_null=True)
            checks.append(("unparsable_date", name, _true(pc.and_(pc.is_valid(values), pc.is_null(parsed)))))
            checks.append(("future_timestamp", name, _true(pc.greater(parsed, change))))
        if column.logical_type and column.logical_type.startswith("NUMBER"):
            readable = pc.match_substring_regex(values, INTEGER_PATTERN)
            checks.append(("unparsable_number", name, _true(pc.invert(readable))))
            as_int = pc.if_else(readable, values, None).cast(pa.int64())
            checks.append(("negative_quantity", name, _true(pc.less(as_int, 1))))
        if column.arrow_type == MONEY:
            checks.append(("negative_amount", name, _true(pc.less(values, pa.scalar(0, MONEY)))))
        if pa.types.is_timestamp(column.arrow_type) and name != spec.change_column:
            checks.append(("future_timestamp", name, _true(pc.greater(values, change))))
        if (spec.qualified_name, name) in ENUM_DOMAINS:
            domain = pa.array(ENUM_DOMAINS[(spec.qualified_name, name)])
            checks.append(("unknown_enum", name, _true(pc.invert(pc.is_in(values, value_set=domain)))))
        if name == "EMAIL":
            well_formed = pc.match_substring_regex(values, EMAIL_PATTERN)
            checks.append(("malformed_email", name, _true(pc.invert(well_formed))))
        if name == "COUNTRY_CODE":
            known = pc.is_in(values, value_set=pa.array(COUNTRY_CODES))
            checks.append(("bad_country_code", name, _true(pc.invert(known))))
        if name == "CURRENCY":
            known = pc.is_in(values, value_set=pa.array(CURRENCIES))
            checks.append(("bad_currency_code", name, _true(pc.invert(known))))
        if (spec.qualified_name, name) in FOREIGN_KEYS:
            referenced = known_keys[FOREIGN_KEYS[(spec.qualified_name, name)][0]]
            orphan = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=referenced)))
            checks.append(("orphan_foreign_key", name, _true(orphan)))

    findings: list[list[Finding]] = [[] for _ in range(rows.num_rows)]
    for kind, column, mask in checks:
        for index in pc.indices_nonzero(mask).to_pylist():
            findings[index].append((kind, column))
    return findings


def row_multiset(rows: pa.Table, spec: TableSpec) -> Counter[tuple]:
    """The rows of a table as a multiset of value tuples in source column order."""
    selected = rows.select(list(spec.column_names))
    return Counter(zip(*(selected.column(name).to_pylist() for name in spec.column_names)))


def known_keys(data: GeneratedData) -> dict[str, pa.Array]:
    """Every non-null single-column key ever committed, per table."""
    keys = {}
    for spec in ALL_TABLES:
        values = data.rows(spec).column(spec.primary_key[0])
        keys[spec.qualified_name] = pc.unique(pc.drop_null(values.combine_chunks()))
    return keys


def flagged_rows(data: GeneratedData) -> dict[tuple[str, tuple], list[Finding]]:
    """Every flagged row of every batch, keyed by (table, locator values in manifest form)."""
    keys = known_keys(data)
    flagged: dict[tuple[str, tuple], list[Finding]] = {}
    for spec in ALL_TABLES:
        rows = data.rows(spec)
        findings = row_findings(spec, rows, keys)
        bad = [i for i, found in enumerate(findings) if found]
        if not bad:
            continue
        subset = rows.take(pa.array(bad, type=pa.int64()))
        locators = zip(*(subset.column(name).to_pylist() for name in spec.row_locator))
        for index, locator in zip(bad, locators):
            flagged[(spec.qualified_name, tuple(locator_value(v) for v in locator))] = findings[index]
    return flagged
