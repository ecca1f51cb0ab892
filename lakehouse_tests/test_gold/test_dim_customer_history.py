"""dim_customer rebuilt from the generator's change stream equals the history the ground truth implies,
whether the days are applied one by one, as one window, or out of order.

Silver-shaped daily batches are built here from ``GeneratedData.customer_history()`` (every valid
customer version): every version of a customer, partitioned by its change day, as docs/model.md defines
silver/customers (one row per customer and ``updated_at``). Masking is not the dimension's business, so
the raw values stand in for the hashes. The expected history comes from an independent, plain-Python
reading of the SCD2 rules.
"""

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

import pytest

from lakehouse.generator import GeneratorConfig, generate_data
from lakehouse.gold import scd2
from lakehouse_tests.test_gold.support import CustomerLake

SEED = 6  # a stream with changes on several days of one customer, several changes a day, and deletes
OPEN_END = datetime(9999, 12, 31)
COMPARED = (
    "customer_id",
    *scd2.TRACKED_ATTRIBUTES,
    *scd2.UNTRACKED_ATTRIBUTES,
    "valid_from",
    "valid_to",
    "is_current",
    "is_deleted",
    "_run_date",
)


@pytest.fixture(scope="module")
def ground_truth() -> list[dict[str, Any]]:
    data = generate_data(GeneratorConfig(scale_factor=0.005, days=4, dirt=0, seed=SEED))
    return data.customer_history().to_pylist()


@pytest.fixture(scope="module")
def silver_days(ground_truth) -> dict[date, list[tuple]]:
    """silver/customers partitions: per change day, every version of every customer changed that day."""
    days: dict[date, list[tuple]] = defaultdict(list)
    for row in ground_truth:
        change_day = row["UPDATED_AT"].date()
        days[change_day].append(
            (
                row["CUSTOMER_ID"],
                row["EMAIL"].strip().lower(),  # stand-ins for the salted hashes
                row["COUNTRY_CODE"].upper(),
                row["CITY"].strip(),
                row["SEGMENT"],
                row["LOYALTY_TIER"],
                row["FIRST_NAME"].strip(),
                row["LAST_NAME"].strip(),
                row["PHONE"],
                row["UPDATED_AT"],
                row["IS_DELETED"],
                change_day,
            )
        )
    return dict(sorted(days.items()))


def expected_history(silver_rows: list[tuple]) -> list[tuple]:
    """The SCD2 rules of docs/model.md, read plainly: rows in updated_at order per customer."""
    names = [name for name, _ in scd2.SILVER_CUSTOMER_COLUMNS]
    per_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for values in silver_rows:
        row = dict(zip(names, values, strict=True))
        per_customer[row["customer_id"]].append(row)
    history = []
    for rows in per_customer.values():
        versions: list[dict[str, Any]] = []
        open_version: dict[str, Any] | None = None
        for row in sorted(rows, key=lambda r: r["updated_at"]):
            tracked = tuple(row[n] for n in scd2.TRACKED_ATTRIBUTES)
            untracked = {n: row[n] for n in scd2.UNTRACKED_ATTRIBUTES}
            if row["is_deleted"]:
                if open_version is not None:  # closes the open version
                    open_version.update(valid_to=row["updated_at"], is_deleted=True)
                    open_version["_run_date"] = max(open_version["_run_date"], row["_run_date"])
                    open_version = None
                elif not versions:  # first seen deleted: one zero-length version
                    versions.append(row | {"valid_from": row["updated_at"], "valid_to": row["updated_at"]})
                continue
            if open_version is not None and tracked == tuple(
                open_version[n] for n in scd2.TRACKED_ATTRIBUTES
            ):
                if any(open_version[n] != v for n, v in untracked.items()):  # in place, SCD1
                    open_version.update(untracked, _run_date=max(open_version["_run_date"], row["_run_date"]))
                continue
            if open_version is not None:
                open_version.update(valid_to=row["updated_at"])
                open_version["_run_date"] = max(open_version["_run_date"], row["_run_date"])
            open_version = row | {"valid_from": row["updated_at"], "valid_to": OPEN_END, "is_deleted": False}
            versions.append(open_version)
        for version in versions:
            version["is_current"] = version is versions[-1]
            history.append(tuple(version[name] for name in COMPARED))
    return sorted(history)


def tracked_changes(ground_truth: list[dict[str, Any]], customer_id: int) -> list[datetime]:
    """The instants at which the customer's tracked attributes change (or it first appears, or returns
    after a delete), read straight off the source versions: where a version must begin."""
    starts, previous = [], None
    for row in ground_truth:
        if row["CUSTOMER_ID"] != customer_id:
            continue
        tracked = (
            row["EMAIL"].strip().lower(), row["COUNTRY_CODE"].upper(), row["CITY"].strip(), row["SEGMENT"],
            row["LOYALTY_TIER"],
        )  # fmt: skip
        if row["IS_DELETED"]:
            if not starts:  # first seen deleted: a zero-length version
                starts.append(row["UPDATED_AT"])
            previous = "deleted"
        elif tracked != previous:
            starts.append(row["UPDATED_AT"])
            previous = tracked
    return starts


def dimension_history(lake: CustomerLake) -> list[tuple]:
    return sorted(
        tuple(r[name] for name in COMPARED) for r in lake.rows() if r["customer_key"] != scd2.UNKNOWN_KEY
    )


def rows_of(silver_days: dict[date, list[tuple]], days: list[date]) -> list[tuple]:
    return [row for d in days for row in silver_days[d]]


def test_the_stream_exercises_every_kind_of_change(ground_truth, silver_days):
    per_day = defaultdict(int)
    for row in ground_truth:
        per_day[(row["CUSTOMER_ID"], row["UPDATED_AT"].date())] += 1
    change_days = defaultdict(int)
    for customer_id, _ in per_day:
        change_days[customer_id] += 1
    assert len(silver_days) == 4
    assert any(n > 1 for n in per_day.values()), "several changes of a customer in one day"
    assert any(n >= 3 for n in change_days.values()), "a customer changed on three days"
    assert any(row["IS_DELETED"] for row in ground_truth), "soft deletes"
    intraday = Counter(
        (customer_id, start.date())
        for customer_id in change_days
        for start in tracked_changes(ground_truth, customer_id)
    )
    assert any(n > 1 for n in intraday.values()), "two versions of one customer begin on one day"
    assert all(silver_days[d] for d in silver_days), "changes every day"


def test_expected_history_agrees_with_the_ground_truth(ground_truth, silver_days):
    """The oracle itself, held against the raw versions: the current row is each customer's last
    version, every version starts at a source change, and intervals are contiguous until a delete."""
    history = expected_history(rows_of(silver_days, list(silver_days)))
    last_version = {row["CUSTOMER_ID"]: row for row in ground_truth}
    change_times = defaultdict(set)
    for row in ground_truth:
        change_times[row["CUSTOMER_ID"]].add(row["UPDATED_AT"])
    per_customer = defaultdict(list)
    for version in history:
        per_customer[version[0]].append(dict(zip(COMPARED, version, strict=True)))
    assert set(per_customer) == set(last_version)
    for customer_id, versions in per_customer.items():
        versions.sort(key=lambda v: v["valid_from"])
        last = last_version[customer_id]
        current = [v for v in versions if v["is_current"]]
        assert len(current) == 1
        assert current[0]["is_deleted"] == last["IS_DELETED"]
        if last["IS_DELETED"]:
            assert current[0]["valid_to"] == last["UPDATED_AT"]
        else:
            assert (current[0]["segment"], current[0]["loyalty_tier"], current[0]["city"]) == (
                last["SEGMENT"], last["LOYALTY_TIER"], last["CITY"]
            )  # fmt: skip
            assert current[0]["valid_to"] == OPEN_END
        assert all(v["valid_from"] in change_times[customer_id] for v in versions)
        assert [v["valid_from"] for v in versions] == tracked_changes(ground_truth, customer_id)
        for earlier, later in zip(versions, versions[1:]):
            assert earlier["valid_to"] == later["valid_from"] or earlier["is_deleted"]
            assert earlier["valid_to"] <= later["valid_from"]


def test_days_applied_one_by_one(spark, tmp_path, silver_days):
    lake = CustomerLake(spark, tmp_path / "lake")
    for d in silver_days:
        lake.apply(silver_days[d])
    assert dimension_history(lake) == expected_history(rows_of(silver_days, list(silver_days)))


def test_one_window_and_out_of_order_days_give_the_same_table(spark, tmp_path, silver_days):
    days = list(silver_days)
    in_order = CustomerLake(spark, tmp_path / "in_order")
    for d in days:
        in_order.apply(silver_days[d])

    window = CustomerLake(spark, tmp_path / "window")
    window.apply(rows_of(silver_days, days))
    assert window.rows() == in_order.rows()  # keys, hashes and _run_date included

    shuffled = CustomerLake(spark, tmp_path / "shuffled")
    applied: list[date] = []
    for d in (days[2], days[0], days[3], days[1]):
        shuffled.apply(silver_days[d])
        applied.append(d)
        assert dimension_history(shuffled) == expected_history(rows_of(silver_days, applied)), applied
    assert shuffled.rows() == in_order.rows()
