"""Retrying Delta commits lost to a concurrent writer (optimistic concurrency on the Delta log)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Messages with which engines report a lost optimistic-concurrency race on the Delta log.
COMMIT_CONFLICT_MARKERS = (
    "Failed to commit transaction",
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "ProtocolChangedException",
    "MetadataChangedException",
    "Transaction conflict",
    "version already exists",
)


def is_commit_conflict(error: BaseException) -> bool:
    text = str(error)
    return any(marker in text for marker in COMMIT_CONFLICT_MARKERS)


def retry_commit_conflicts(
    commit: Callable[[], T],
    *,
    what: str,
    log: Callable[[str], None],
    retries: int = 8,
    backoff_seconds: float = 0.2,
) -> tuple[T, int]:
    """Run ``commit``; when it lost a commit race, run it again (it re-reads the table, so it sees the
    winner's commit) with exponential back-off. Returns the result and the retries used."""
    delay = backoff_seconds
    for attempt in range(retries + 1):
        try:
            return commit(), attempt
        except Exception as error:  # the engine raises its own exception types over Spark Connect
            if attempt == retries or not is_commit_conflict(error):
                raise
            log(f"{what}: commit conflict with a concurrent writer (attempt {attempt + 1}); retrying in {delay:.2f}s")
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
