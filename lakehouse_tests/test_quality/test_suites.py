"""Suite derivation from contracts and expectations files: plain data, no engine."""

import json

import pytest

from lakehouse.contracts import contracts_dir, load_contracts, parse_contract
from lakehouse.quality import (
    ExpectationsError,
    Scope,
    Severity,
    derive_suite,
    load_expectations_file,
    load_suite,
    parse_expectations,
)
from lakehouse.quality.suites import EXPECTATIONS_SUFFIX
from lakehouse.quality.validation import gx_expectation
from lakehouse_tests.test_contracts.builders import column, contract_document


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def _by_id(suite):
    return {spec.id: spec for spec in suite.expectations}


def test_bronze_orders_suite_follows_its_contract(contracts):
    contract = contracts["bronze.orders"]
    suite = derive_suite(contract)
    specs = _by_id(suite)
    assert suite.scope is Scope.PARTITION
    assert all(spec.severity is Severity.ERROR for spec in suite.expectations)
    # columns and types: at least the contract's (bronze evolves new columns)
    assert specs["table_columns"].kwargs == {"column_set": list(contract.column_names), "exact_match": False}
    assert specs["total_amount_type"].kwargs == {"column": "total_amount", "type_": "DecimalType"}
    assert specs["updated_at_type"].kwargs == {"column": "updated_at", "type_": "TimestampNTZType"}
    # one not-null expectation per non-nullable column, with the contract's rule ids
    not_null = {
        s.kwargs["column"] for s in suite.expectations if s.type == "expect_column_values_to_not_be_null"
    }
    assert not_null == {c.name for c in contract.columns if not c.nullable}
    assert specs["status_allowed"].type == "expect_column_values_to_be_in_set"
    assert specs["status_allowed"].kwargs["value_set"] == [
        "placed",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
    ]
    assert specs["currency_format"].kwargs == {"column": "currency", "regex": "^[A-Z]{3}$"}
    assert specs["total_amount_not_negative"].kwargs == {"column": "total_amount", "min_value": 0}
    # order_ts <= updated_at, a NULL on either side passing as in the contract
    assert specs["order_ts_not_after_update"].type == "expect_column_pair_values_a_to_be_greater_than_b"
    assert specs["order_ts_not_after_update"].kwargs == {
        "column_A": "updated_at",
        "column_B": "order_ts",
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",
    }
    # bronze keeps exact redeliveries: uniqueness compares row images, per day
    unique = specs["order_version_unique"]
    assert unique.type == "unexpected_rows_expectation"
    query = unique.kwargs["unexpected_rows_query"]
    assert "{batch}" in query and "COUNT(DISTINCT sha2(to_json(struct(" in query
    assert "GROUP BY `order_id`, `updated_at`, `_run_date`" in query
    # a bronze key has a row per version: not unique; foreign keys compare two tables: not derived
    assert "primary_key_unique" not in specs
    assert "order_customer_exists" not in specs


def test_silver_keys_are_unique_per_day_and_columns_exact(contracts):
    contract = contracts["silver.orders"]
    specs = _by_id(derive_suite(contract))
    assert specs["order_line_unique_per_day"].type == "expect_compound_columns_to_be_unique"
    assert specs["order_line_unique_per_day"].kwargs == {
        "column_list": ["order_id", "line_number", "_run_date"]
    }
    # silver refuses new columns: exactly the contract's columns and the partition column
    assert specs["table_columns"].kwargs == {
        "column_set": [*contract.column_names, "_run_date"],
        "exact_match": True,
    }
    # the unique rule already covers the primary key
    assert "primary_key_unique" not in specs


def test_table_scope_validates_keys_over_the_whole_table(contracts):
    contract = contracts["gold.dim_customer"]
    suite = load_suite(contract, partitioned=True)
    assert suite.scope is Scope.TABLE  # from gold/dim_customer.expectations.json
    specs = _by_id(suite)
    assert specs["customer_key_unique"].kwargs == {"column": "customer_key"}
    assert specs["customer_version_unique"].kwargs == {"column_list": ["customer_id", "valid_from"]}
    assert specs["one_version_open_per_customer"].severity is Severity.ERROR


def test_an_unpartitioned_table_cannot_be_scoped_by_partition(contracts):
    contract = contracts["gold.dim_product"]
    assert derive_suite(contract, partitioned=False).scope is Scope.TABLE
    extra = parse_expectations(
        {"expectations_version": 1, "layer": "gold", "table": "dim_product", "scope": "partition"}
    )
    with pytest.raises(ExpectationsError, match="no _run_date column to scope by"):
        derive_suite(contract, extra, partitioned=False)


def test_range_with_value_and_column_bounds_gives_one_expectation_per_bound():
    document = contract_document(
        [
            column("id", "bigint", nullable=False),
            column("starts", "timestamp_ntz"),
            column("ends", "timestamp_ntz"),
            column("created", "timestamp_ntz"),
        ],
        [
            {
                "id": "starts_window",
                "kind": "range",
                "column": "starts",
                "min": "2020-01-01 00:00:00",
                "min_column": "created",
                "max_column": "ends",
                "message": "starts is out of its window",
            },
        ],
        primary_key=["id"],
        change_column="created",
    )
    specs = _by_id(derive_suite(parse_contract(document, "things.yaml")))
    assert specs["starts_window:values"].kwargs == {"column": "starts", "min_value": "2020-01-01 00:00:00"}
    assert specs["starts_window:min_column"].kwargs["column_A"] == "starts"
    assert specs["starts_window:min_column"].kwargs["column_B"] == "created"
    assert specs["starts_window:max_column"].kwargs["column_A"] == "ends"
    assert specs["starts_window:max_column"].kwargs["column_B"] == "starts"
    assert specs["starts_window:values"].description == "Fails when starts is out of its window."


def test_expectations_file_sets_severity_and_mostly_of_derived_ones_and_adds_its_own(contracts):
    contract = contracts["silver.products"]
    extra = parse_expectations(
        {
            "expectations_version": 1,
            "layer": "silver",
            "table": "products",
            "derived": {"currency_format": {"severity": "WARN", "mostly": 0.95}},
            "expectations": [
                {
                    "id": "cheap",
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "unit_price", "max_value": 100},
                    "severity": "WARN",
                    "mostly": 0.9,
                    "description": "Mostly cheap.",
                }
            ],
        },
        contract=contract,
    )
    specs = _by_id(derive_suite(contract, extra))
    assert (specs["currency_format"].severity, specs["currency_format"].mostly) == (Severity.WARN, 0.95)
    assert specs["currency_format"].gx_kwargs["mostly"] == 0.95
    assert specs["unit_price_not_negative"].severity is Severity.ERROR
    assert (specs["cheap"].severity, specs["cheap"].mostly) == (Severity.WARN, 0.9)


def _problems(document, contract=None) -> list[str]:
    with pytest.raises(ExpectationsError) as raised:
        parse_expectations(document, "silver/products.expectations.json", contract=contract)
    return list(raised.value.problems)


def test_malformed_expectations_name_the_field(contracts):
    contract = contracts["silver.products"]
    base = {"expectations_version": 1, "layer": "silver", "table": "products"}

    def expectation(**fields):
        return {
            **base,
            "expectations": [
                {
                    "id": "e",
                    "type": "expect_column_values_to_not_be_null",
                    "kwargs": {"column": "sku"},
                    "severity": "WARN",
                    "description": "d",
                    **fields,
                }
            ],
        }

    assert _problems(expectation(severity="FATAL")) == [
        "expectations[0].severity: 'FATAL' is not one of ['ERROR', 'WARN']"
    ]
    assert _problems(expectation(kwargs={"column": "nope"}), contract) == [
        "expectations[0].kwargs.column: 'nope' is not a column of silver.products"
    ]
    assert set(_problems(expectation(kwargs={"colum": "sku"}))) == {
        "expectations[0].kwargs.colum: unknown field (allowed: column)",
        "expectations[0].kwargs.column: required field is missing",
    }
    assert _problems(
        expectation(type="expect_table_row_count_to_be_between", kwargs={"min_value": 1}, mostly=0.5)
    ) == ["expectations[0]: mostly applies to row-level expectations only."]
    assert _problems(expectation(type="expect_the_moon"))[0].startswith(
        "expectations[0].type: 'expect_the_moon' is not one of"
    )
    with pytest.raises(ExpectationsError, match="derived.nope: no expectation of that id"):
        derive_suite(contract, parse_expectations({**base, "derived": {"nope": {"severity": "WARN"}}}))
    with pytest.raises(ExpectationsError, match="'currency_format' is already derived"):
        derive_suite(
            contract,
            parse_expectations(
                {
                    **base,
                    "expectations": [
                        {
                            "id": "currency_format",
                            "type": "expect_column_values_to_not_be_null",
                            "kwargs": {"column": "sku"},
                            "severity": "WARN",
                            "description": "d",
                        }
                    ],
                }
            ),
        )


def test_every_expectations_file_loads_and_every_suite_builds_in_great_expectations(contracts):
    files = sorted(contracts_dir().rglob(f"*{EXPECTATIONS_SUFFIX}"))
    assert len(files) == len(contracts) == 15
    for path in files:
        parsed = load_expectations_file(path)
        contract = contracts[f"{parsed.layer}.{parsed.table}"]
        assert path == contract.path.parent / f"{contract.table}{EXPECTATIONS_SUFFIX}"
        suite = load_suite(contract, partitioned=contract.table not in {"dim_product", "dim_date"})
        assert suite.expectations_path == path
        for spec in suite.expectations:
            built = gx_expectation(spec)  # GX's own validation of the arguments
            assert built.meta["id"] == spec.id
            assert built.severity.value == {"ERROR": "critical", "WARN": "warning"}[spec.severity.value]


def test_invalid_json_is_reported_with_its_position(tmp_path):
    path = tmp_path / "orders.expectations.json"
    path.write_text('{"expectations_version": 1,\n  "layer": bronze}')
    with pytest.raises(ExpectationsError) as raised:
        load_expectations_file(path)
    assert str(raised.value) == f"{path}: not valid JSON at line 2, column 12: Expecting value"
    assert json.loads(json.dumps(str(raised.value)))


def test_one_blocking_check_per_layer_table_with_the_scope_its_table_allows():
    from lakehouse.bronze.definitions import bronze_definitions
    from lakehouse.gold.definitions import gold_assets, gold_definitions
    from lakehouse.quality import GREAT_EXPECTATIONS
    from lakehouse.quality.checks import has_partition_column
    from lakehouse.silver.definitions import silver_definitions

    layers = (bronze_definitions(), silver_definitions(), gold_definitions())
    checks = [c for layer in layers for c in layer.asset_checks if GREAT_EXPECTATIONS in {s.name for s in c.check_specs}]
    keys = sorted(c.check_key.asset_key.to_user_string() for c in checks)
    assert len(keys) == len(set(keys)) == 15
    assert not any(key.startswith("quarantine/") for key in keys)
    for check in checks:
        [spec] = check.check_specs
        assert spec.name == GREAT_EXPECTATIONS and spec.blocking
    scopes = {
        c.check_key.asset_key.to_user_string(): next(iter(c.check_specs)).metadata["scope"] for c in checks
    }
    assert {k for k, scope in scopes.items() if scope == "table"} == {
        "gold/dim_customer",
        "gold/dim_product",
        "gold/dim_date",
    }
    specs = {s.key.to_user_string(): s for a in gold_assets() for s in a.specs}
    assert has_partition_column(specs["gold/dim_customer"])  # merged, but carries _run_date
    assert not has_partition_column(specs["gold/dim_product"])  # partitioned asset, no _run_date column
    assert not has_partition_column(specs["gold/dim_date"])  # unpartitioned
