"""Data quality: Great Expectations 1.x suites as blocking, partition-scoped asset checks.

* ``suites``: a table's suite as plain data, derived from its contract plus the expectations kept in
  ``contracts/<layer>/<table>.expectations.json`` (severity ERROR | WARN and ``mostly`` per expectation).
* ``validation``: validate a Spark DataFrame with GX on the engine; Data Docs at
  ``lakehouse.settings.data_docs_location()``, written in the background after the result (no Dagster
  here); ``publishing``: a site on an object store.
* ``aggregate``: a suite's first pass as one aggregate query over the batch, with GX's conditions, success
  logic and results.
* ``gx_expectations``: the core expectations the suites use, evaluated with fewer or cheaper Spark
  queries, same results;
  ``data_docs``: GX's Data Docs site with its templates compiled once per process.
* ``checks``: one ``great_expectations`` asset check per bronze, silver and gold table asset it is
  given; each layer's definitions build theirs from the assets they hand out; or the same check as a
  spec of its asset, run in the asset's step (``quality_check_spec``, ``checked_output``).

See ``docs/quality.md``.
"""

from lakehouse.quality.checks import GREAT_EXPECTATIONS, build_quality_check, great_expectations_checks
from lakehouse.quality.suites import (
    ExpectationsError,
    ExpectationsFile,
    ExpectationSpec,
    Scope,
    Severity,
    Suite,
    derive_expectations,
    derive_suite,
    load_expectations_file,
    load_suite,
    parse_expectations,
)
from lakehouse.quality.validation import ExpectationOutcome, SuiteOutcome, data_docs_written, validate_frame

__all__ = [
    "GREAT_EXPECTATIONS",
    "ExpectationOutcome",
    "ExpectationSpec",
    "ExpectationsError",
    "ExpectationsFile",
    "Scope",
    "Severity",
    "Suite",
    "SuiteOutcome",
    "build_quality_check",
    "data_docs_written",
    "derive_expectations",
    "derive_suite",
    "great_expectations_checks",
    "load_expectations_file",
    "load_suite",
    "parse_expectations",
    "validate_frame",
]
