"""Building Arrow columns from numpy arrays without per-row Python work.

Money is carried as integer cents until the last moment, then laid out directly as decimal128
buffers, so amounts are exact and conversion costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator.specs import MONEY, TIMESTAMP, TableSpec


def timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(micros, dtype=np.int64), type=TIMESTAMP)


def money(cents: np.ndarray) -> pa.Array:
    """decimal128(12, 2) from integer cents: the unscaled value is the cent count itself."""
    low = np.asarray(cents, dtype=np.int64)
    words = np.empty((low.size, 2), dtype=np.int64)
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)  # two's complement sign extension to 128 bits
    return pa.Array.from_buffers(MONEY, low.size, [None, pa.py_buffer(words.tobytes())])


def cents(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Integer cents of a decimal column (nulls become 0)."""
    as_float = pc.fill_null(values.cast(pa.float64()), 0.0).to_numpy()
    return np.round(as_float * 100).astype(np.int64)


def int_text(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def second_text(micros: np.ndarray) -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS' text of a time, as a legacy system would write it."""
    seconds = pa.array(np.asarray(micros, dtype=np.int64) // 1_000_000, type=pa.timestamp("s"))
    return pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")


def pick(values: Sequence[str], indices: np.ndarray) -> pa.Array:
    """``values[i]`` for each index, as a string column."""
    return pa.array(values, type=pa.string()).take(pa.array(np.asarray(indices, dtype=np.int64)))


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation; a plain ``str`` part is broadcast."""
    return pc.binary_join_element_wise(*parts, "")


# Two ASCII hex digits per byte value, as one uint16 so a lookup moves both at once.
_HEX_PAIRS = np.frombuffer(b"".join(f"{byte:02x}".encode() for byte in range(256)), dtype=np.uint16)
# (first hex digit, last hex digit + 1, position in the 36-character canonical form)
_UUID_GROUPS = ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24))


def uuid_strings(rng: np.random.Generator, size: int) -> pa.Array:
    """Random version-4 UUIDs in canonical text form, built straight into an Arrow string buffer."""
    raw = np.frombuffer(rng.bytes(16 * size), dtype=np.uint8).reshape(size, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = _HEX_PAIRS[raw].view(np.uint8).reshape(size, 32)
    text = np.full((size, 36), ord("-"), dtype=np.uint8)
    for first, last, at in _UUID_GROUPS:
        text[:, at : at + last - first] = digits[:, first:last]
    offsets = np.arange(0, 36 * (size + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(size, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text.tobytes()))


def table(spec: TableSpec, columns: dict[str, pa.Array]) -> pa.Table:
    """An Arrow table with exactly the spec's columns, order and types."""
    missing = set(spec.column_names) - set(columns)
    extra = set(columns) - set(spec.column_names)
    if missing or extra:
        raise ValueError(
            f"{spec.qualified_name}: missing columns {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return pa.Table.from_arrays([columns[name] for name in spec.column_names], schema=spec.arrow_schema)
