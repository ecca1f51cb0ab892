"""The vectorised column builders produce exactly what their slow equivalents would."""

from __future__ import annotations

import uuid
from decimal import Decimal

import numpy as np

from lakehouse.generator.arrow_columns import cents, money, second_text, uuid_strings


def test_uuid_strings_are_canonical_version_4_uuids() -> None:
    values = uuid_strings(np.random.default_rng(0), 500).to_pylist()
    parsed = [uuid.UUID(value) for value in values]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == v for u, v in zip(parsed, values))
    assert len(set(values)) == 500


def test_money_is_exact_for_any_cent_amount_and_converts_back() -> None:
    amounts = np.array([0, 1, -1, 1999, -250_00, 99_999_999_999], dtype=np.int64)
    column = money(amounts)
    assert column.to_pylist() == [Decimal(int(a)) / 100 for a in amounts]
    assert (cents(column) == amounts).all()


def test_second_text_truncates_to_whole_seconds() -> None:
    micros = np.array([0, 1_767_225_600_999_999], dtype=np.int64)
    assert second_text(micros).to_pylist() == ["1970-01-01 00:00:00", "2026-01-01 00:00:00"]
