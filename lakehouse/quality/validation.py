"""Validate a Spark DataFrame against a ``Suite`` with Great Expectations 1.x, on the engine.

GX's Spark datasource takes the DataFrame as it is, a Spark Connect one included (Sail or a cluster):
every metric is a Spark aggregate or query, so nothing is collected to the client but counts and a few
failing values. One ephemeral GX context per process and Data Docs directory (importing GX takes
seconds, building the context milliseconds), created on first use; each suite's GX objects (suite,
batch definition, validation definition) are built once and rebuilt only when the suite changes.

A validation is two passes over the same batch, the second only when a row-level expectation failed:

1. every expectation of the suite, with result format BASIC and no failing values
   (``partial_unexpected_count`` 0): success, unexpected counts and percentages. The expectations
   ``lakehouse.quality.aggregate`` knows (all the suites' types) are evaluated from one aggregate query
   over the batch, plus one query per uniqueness or SQL expectation, with GX's own conditions, success
   logic and results (GX's validator built a metric graph per expectation and ran a job per column:
   on one SF 1 day the five silver suites cost about as much as the silver transforms); any other
   expectation is validated by GX itself, and a batch the pass cannot plan (a column missing) by GX
   whole. The core types are evaluated by ``lakehouse.quality.gx_expectations`` wherever GX evaluates
   them: a SQL expectation (``unexpected_rows_expectation``) runs its query once, not once for its rows
   and once more for their count, and a failed one already carries its first ``SAMPLE_SIZE`` rows; the
   two uniqueness expectations count duplicates with a group-by, not GX's window over every row;
2. the failed row-level expectations alone, by GX, asking for up to ``SAMPLE_SIZE`` failing values: the
   values are added to the first pass's results.

Then the result is stored and its Data Docs page rendered *in the background*, on one thread of the
process, after ``validate_frame`` has returned with the page's address: storing and rendering cost as much
Python as the aggregate pass itself, and the check's result does not depend on them. Pages are written in
order, within a fraction of a second; ``data_docs_written()`` waits for them, and the thread finishes its
pages before the interpreter exits, so a step's process never ends with one unwritten. The site is GX's,
with its templates compiled and its static assets copied once per process (``lakehouse.quality.data_docs``),
at ``lakehouse.settings.data_docs_location()``: a local directory, or an ``s3://`` prefix that the site is
copied to from a staging directory of the process (``lakehouse.quality.publishing``).

Nothing here knows Dagster: ``validate_frame`` returns a ``SuiteOutcome``; ``lakehouse.quality.checks``
turns it into an asset check result.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame

from lakehouse.lake.storage import is_s3
from lakehouse.quality.publishing import PublishedSite
from lakehouse.quality.suites import SAMPLE_SIZE, ExpectationSpec, Severity, Suite
from lakehouse.settings import data_docs_location

_log = logging.getLogger(__name__)

DATA_DOCS_SITE = "lakehouse"
DATASOURCE = "lakehouse"
_GX_SEVERITY = {Severity.ERROR: "critical", Severity.WARN: "warning"}


@dataclass(frozen=True)
class ExpectationOutcome:
    spec: ExpectationSpec
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    sample: tuple[Any, ...] = ()
    error: str | None = None

    def as_metadata(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "type": self.spec.type,
            "severity": self.spec.severity.value,
            "success": self.success,
        }
        if self.spec.mostly is not None:
            summary["mostly"] = self.spec.mostly
        if self.unexpected_count is not None:
            summary["unexpected_count"] = self.unexpected_count
        if self.unexpected_percent is not None:
            summary["unexpected_percent"] = round(self.unexpected_percent, 4)
        if self.observed_value is not None:
            summary["observed_value"] = self.observed_value
        if self.sample:
            summary["sample"] = list(self.sample)
        if self.error:
            summary["error"] = self.error
        return summary


@dataclass(frozen=True)
class SuiteOutcome:
    suite: Suite
    results: tuple[ExpectationOutcome, ...]
    rows: int
    data_docs_uri: str | None
    """The validation's Data Docs page: a ``file://`` URI, or where it was published on an object store."""

    @property
    def data_docs_path(self) -> Path | None:
        """The page as a local file, when the site is on local disk."""
        if self.data_docs_uri is None or not self.data_docs_uri.startswith("file://"):
            return None
        return Path(unquote(urlparse(self.data_docs_uri).path))

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(result for result in self.results if not result.success)

    @property
    def severity(self) -> Severity | None:
        """ERROR when an ERROR expectation failed, WARN when only WARN ones did, None when all passed."""
        severities = {result.spec.severity for result in self.failed}
        if Severity.ERROR in severities:
            return Severity.ERROR
        return Severity.WARN if severities else None

    @property
    def success(self) -> bool:
        return not self.failed


def validate_frame(
    df: DataFrame, suite: Suite, run_name: str, docs: str | os.PathLike[str] | None = None
) -> SuiteOutcome:
    """Validate ``df`` against ``suite`` on its engine and write the Data Docs page of the result.

    ``run_name`` names the validation in Data Docs (e.g. the Dagster run id and partition); ``docs`` is
    where the site goes (a directory or ``s3://bucket/prefix``; default ``data_docs_location()``).
    """
    from great_expectations.core.run_identifier import RunIdentifier

    from lakehouse.quality.gx_expectations import configurations_built_once

    gx = _context_for(str(docs) if docs is not None else data_docs_location())
    objects = gx.objects(suite)
    run_id = RunIdentifier(run_name=_safe(run_name))
    with configurations_built_once():
        result = gx.first_pass(suite, objects, df, run_id)
        # A failed SQL expectation already carries its first rows (lakehouse.quality.gx_expectations).
        failed = [r for r in result.results if not r.success and not _raised(r) and not _is_sql(suite, r)]
        if failed:
            _add_failing_samples(suite, result, objects.batch_definition, df, failed)
    identifier = gx.result_identifier(suite, result, run_id)
    outcomes = tuple(_outcome(suite, r) for r in result.results)
    missing = {spec.id for spec in suite.expectations} - {o.spec.id for o in outcomes}
    if missing:  # GX evaluates every expectation of a suite; anything else is a bug worth stopping on
        raise RuntimeError(f"suite {suite.name}: GX returned no result for {sorted(missing)}")
    return SuiteOutcome(
        suite=suite,
        results=outcomes,
        rows=_rows(result.results),
        data_docs_uri=gx.document(identifier, result),
    )


def data_docs_written(timeout: float | None = None) -> None:
    """Wait until the Data Docs pages of every validation returned so far are written (``validate_frame``
    renders them in the background). Raises ``TimeoutError`` after ``timeout`` seconds."""
    with _pending_lock:
        pending = list(_pending)
    done, not_done = wait(pending, timeout=timeout)
    if not_done:
        raise TimeoutError(f"{len(not_done)} Data Docs page(s) not written after {timeout} s")


_pending_lock = threading.Lock()
_pending: set[Future] = set()
_pages: ThreadPoolExecutor | None = None


def _in_background(render) -> None:
    """Run ``render`` on the one Data Docs thread of the process: pages are written in the order of their
    validations. The thread's work is finished before the interpreter exits (``ThreadPoolExecutor``
    joins its workers at exit), so a step's process does not end with a page unwritten."""
    global _pages
    with _pending_lock:
        if _pages is None:
            _pages = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakehouse-data-docs")
        future = _pages.submit(render)
        _pending.add(future)
    future.add_done_callback(_finished)


def _finished(future: Future) -> None:
    with _pending_lock:
        _pending.discard(future)
    error = future.exception()
    if error is not None:  # a page is documentation: the check's result stands without it
        _log.warning("a Data Docs page could not be written: %s", error, exc_info=error)


# --- results ------------------------------------------------------------------------------------------


FIRST_PASS = {"result_format": "BASIC", "partial_unexpected_count": 0}
"""Counts and percentages for every expectation; no failing values."""
SAMPLES = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}
"""Up to ``SAMPLE_SIZE`` failing values of a row-level expectation."""
SQL_TYPE = "unexpected_rows_expectation"


def _add_failing_samples(suite: Suite, result, batch_definition, df: DataFrame, failed: list) -> None:
    """Validate the failed row-level expectations again, alone and asking for failing values (GX's own
    evaluation, on the same batch), and add those values to their results in ``result``."""
    import great_expectations as gx

    failing = gx.ExpectationSuite(
        name=f"{suite.name}.failing",
        expectations=[gx_expectation(suite.expectation(evr.expectation_config.meta["id"])) for evr in failed],
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    sampled = batch.validate(failing, result_format=dict(SAMPLES))
    again = {r.expectation_config.meta["id"]: r for r in sampled.results}
    for evr in failed:
        second = again.get(evr.expectation_config.meta["id"])
        if second is not None and not second.success and not _raised(second):
            evr.result = _with_sample(evr, second)  # else the data changed under the check: no values


def _validated_by_gx(suite: Suite, batch, expectations: list) -> dict[str, Any]:
    """GX's own first-pass results of ``expectations`` on ``batch`` (those the aggregate pass leaves), by
    expectation id."""
    if not expectations:
        return {}
    import great_expectations as gx

    left = gx.ExpectationSuite(
        name=f"{suite.name}.gx", expectations=[gx_expectation(suite.expectation(e.meta["id"])) for e in expectations]
    )
    validated = batch.validate(left, result_format=dict(FIRST_PASS))
    return {r.expectation_config.meta["id"]: r for r in validated.results}


def _with_sample(first, again) -> dict[str, Any]:
    """The first pass's result, plus the failing values of the second."""
    details = dict(first.result or {})
    values = (again.result or {}).get("partial_unexpected_list") or []
    details["partial_unexpected_list"] = values[:SAMPLE_SIZE]
    return details


def _is_sql(suite: Suite, result) -> bool:
    return suite.expectation(result.expectation_config.meta["id"]).type == SQL_TYPE


def _raised(result) -> bool:
    return bool(result.exception_info and result.exception_info.get("raised_exception"))


def _outcome(suite: Suite, result) -> ExpectationOutcome:
    spec = suite.expectation(result.expectation_config.meta["id"])
    details = result.result or {}
    error = None
    if _raised(result):
        error = str(result.exception_info.get("exception_message") or "the expectation raised")
    sample: tuple[Any, ...] = tuple(
        _json_clean(v) for v in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
    )
    unexpected = details.get("unexpected_count")
    if spec.type == SQL_TYPE:
        unexpected = details.get("observed_value")
        rows = (details.get("details") or {}).get("unexpected_rows") or []
        sample = tuple(_json_clean(row) for row in rows[:SAMPLE_SIZE])
    observed = details.get("observed_value") if unexpected is None else None
    return ExpectationOutcome(
        spec=spec,
        success=bool(result.success),
        unexpected_count=int(unexpected) if unexpected is not None else None,
        unexpected_percent=details.get("unexpected_percent"),
        observed_value=_json_clean(observed),
        sample=sample,
        error=error,
    )


def _rows(results) -> int:
    """Rows validated, as GX counted them for any row-level expectation (0 when there is none)."""
    for result in results:
        count = (result.result or {}).get("element_count")
        if count is not None:
            return int(count)
    return 0


def _json_clean(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _safe(name: str) -> str:
    """Run names become Data Docs folder names."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)


# --- the GX context -----------------------------------------------------------------------------------


_lock = threading.Lock()
_contexts: dict[str, _GxContext] = {}


def _context_for(location: str) -> _GxContext:
    with _lock:
        if location not in _contexts:
            _contexts[location] = _GxContext(location)
        return _contexts[location]


@dataclass
class _SuiteObjects:
    fingerprint: str
    batch_definition: Any
    definition: Any  # the GX ValidationDefinition
    suite: Any  # the GX ExpectationSuite
    _evaluated: tuple[str, list[Any]] | None = None
    _plans: dict[tuple[str, str], Any] = field(default_factory=dict)

    def expectations_for(self, batch_id: str) -> list[Any]:
        """The suite's expectations as GX's validator evaluates them on the batch ``batch_id``: in its
        order (grouped by column) and with the batch id in their arguments, so their results and Data
        Docs are GX's. Built once per batch id (the suite's asset names its batches)."""
        if self._evaluated is None or self._evaluated[0] != batch_id:
            self._evaluated = (batch_id, [_for_batch(c, batch_id) for c in _validation_order(self.suite)])
        return self._evaluated[1]

    def plan_for(self, batch_id: str, schema, runtime_configuration: dict):
        """The aggregate pass of the suite over a batch of ``schema`` (``lakehouse.quality.aggregate``),
        planned once per batch id and schema."""
        from lakehouse.quality import aggregate

        key = (batch_id, schema.json())
        if key not in self._plans:
            expectations = self.expectations_for(batch_id)
            self._plans[key] = aggregate.plan(schema, expectations, runtime_configuration)
        return self._plans[key]


def _validation_order(gx_suite) -> list[Any]:
    """The suite's expectation configurations in the order GX's validator evaluates and reports them:
    grouped by their ``column`` argument, groups in order of first appearance
    (``Validator.process_expectations_for_validation``)."""
    groups: dict[str, list[Any]] = {}
    for configuration in gx_suite.expectation_configurations:
        column = configuration.kwargs.get("column")
        groups.setdefault(column if isinstance(column, str) else "\0", []).append(configuration)
    return [configuration for group in groups.values() for configuration in group]


def _for_batch(configuration, batch_id: str):
    """The expectation of ``configuration`` with ``batch_id`` among its arguments, as GX's validator
    builds it for a batch."""
    import copy

    evaluated = copy.deepcopy(configuration)
    evaluated.kwargs.update({"batch_id": batch_id})
    return evaluated.to_domain_obj()


_DATA_DOCS_MODULE = "lakehouse.quality.data_docs"


class _GxContext:
    """An ephemeral GX context with one Spark datasource and one Data Docs site (local, or rendered locally
    and published to an object store)."""

    def __init__(self, location: str) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.published = PublishedSite(location) if is_s3(location) else None
        docs_dir = self.published.local_dir if self.published is not None else Path(location)
        self.docs_dir = docs_dir
        page_view = {"module_name": _DATA_DOCS_MODULE, "class_name": "SharedJinjaPageView"}
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={
                DATA_DOCS_SITE: {
                    "module_name": _DATA_DOCS_MODULE,
                    "class_name": "LakehouseSiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir),
                    },
                    "site_index_builder": {
                        "class_name": "DefaultSiteIndexBuilder",
                        "view": {"module_name": _DATA_DOCS_MODULE, "class_name": "SharedJinjaIndexPageView"},
                    },
                    "site_section_builders": {
                        "expectations": {"view": page_view},
                        "validations": {"view": page_view},
                    },
                }
            },
            analytics_enabled=False,  # nothing leaves the machine
            progress_bars=ProgressBarsConfig(globally=False),
        )
        self._gx = gx
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        # persist=False: a check reads its partition once; caching would only cost memory (Sail ignores it).
        self.datasource = self.context.data_sources.add_spark(DATASOURCE, persist=False)
        self._objects: dict[str, _SuiteObjects] = {}
        self._documented: set[str] = set()  # suites whose page (and the index) this process wrote
        self._lock = threading.Lock()

    def objects(self, suite: Suite) -> _SuiteObjects:
        """The suite's GX objects, built on its first validation in the process (or when it changed).
        Only building takes the lock, which the background pages hold while they read GX's stores: a
        validation of a suite already built never waits for a page."""
        fingerprint = suite.fingerprint()
        cached = self._objects.get(suite.name)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached
        with self._lock:
            cached = self._objects.get(suite.name)
            if cached is not None and cached.fingerprint == fingerprint:
                return cached
            if cached is not None:
                self._remove(suite.name)
                self._documented.discard(suite.name)
            objects = self._build(suite, fingerprint)
            self._objects[suite.name] = objects
            return objects

    def _build(self, suite: Suite, fingerprint: str) -> _SuiteObjects:
        gx = self._gx
        gx_suite = self.context.suites.add(
            gx.ExpectationSuite(
                name=suite.name,
                expectations=[gx_expectation(spec) for spec in suite.expectations],
                meta={"scope": suite.scope.value},
            )
        )
        asset = self.datasource.add_dataframe_asset(suite.name)
        batch = asset.add_batch_definition_whole_dataframe(suite.scope.value)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        )
        return _SuiteObjects(
            fingerprint=fingerprint, batch_definition=batch, definition=definition, suite=gx_suite
        )

    def first_pass(self, suite: Suite, objects: _SuiteObjects, df: DataFrame, run_id):
        """The whole suite on ``df`` with result format ``FIRST_PASS``: the expectations
        ``lakehouse.quality.aggregate`` knows in one aggregate pass, any other by GX itself; the result
        is the one GX's ``ValidationDefinition.run`` gives, not yet stored. Should the pass itself fail
        (an engine error, a column the batch lacks), GX validates the whole suite, and reports the error
        per expectation as it does."""
        from great_expectations.expectations.expectation_configuration import parse_result_format

        from lakehouse.quality import aggregate

        batch = objects.batch_definition.get_batch(batch_parameters={"dataframe": df})
        runtime_configuration = {"result_format": parse_result_format(dict(FIRST_PASS))}
        try:
            planned = objects.plan_for(batch.id, df.schema, runtime_configuration)
            values = aggregate.run(planned, df)
        except Exception:  # noqa: BLE001 - GX's own validation reports it, expectation by expectation
            values = None
        if values is None:  # outside the handler: GX's errors are not chained to this one
            return objects.definition.run(
                batch_parameters={"dataframe": df}, result_format=dict(FIRST_PASS), run_id=run_id
            )
        expectations = objects.expectations_for(batch.id)
        evaluated = aggregate.results(planned, values, runtime_configuration, batch.data.execution_engine)
        by_gx = _validated_by_gx(suite, batch, planned.left)
        results = [evaluated.get(id(e)) or by_gx[e.meta["id"]] for e in expectations]
        return self._suite_result(objects, batch, results, run_id)

    def _suite_result(self, objects: _SuiteObjects, batch, results: list, run_id):
        """The suite's validation result as ``ValidationDefinition.run`` builds it (``Validator
        .validate_expectation_suite``, then the run's own meta)."""
        from great_expectations import __version__ as gx_version
        from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
        from great_expectations.core.validation_definition import DATAFRAME_REPLACEMENT_STR
        from great_expectations.util import convert_to_json_serializable
        from great_expectations.validator.validator import calc_validation_statistics

        statistics = calc_validation_statistics(results)
        return ExpectationSuiteValidationResult(
            results=results,
            success=statistics.success,
            suite_name=objects.suite.name,
            statistics={
                "evaluated_expectations": statistics.evaluated_expectations,
                "successful_expectations": statistics.successful_expectations,
                "unsuccessful_expectations": statistics.unsuccessful_expectations,
                "success_percent": statistics.success_percent,
            },
            meta={
                "great_expectations_version": gx_version,
                "batch_spec": convert_to_json_serializable(batch.batch_spec),
                "batch_markers": batch.batch_markers,
                "active_batch_definition": convert_to_json_serializable(batch.batch_definition),
                "validation_id": objects.definition.id,
                "checkpoint_id": None,
                "run_id": run_id,
                "validation_time": run_id.run_time,
                "batch_parameters": {"dataframe": DATAFRAME_REPLACEMENT_STR},
            },
            batch_id=batch.id,
        )

    def _remove(self, name: str) -> None:
        self.context.validation_definitions.delete(name)
        self.context.suites.delete(name)
        self.datasource.delete_asset(name)

    def result_identifier(self, suite: Suite, result, run_id):
        """The key GX stored the validation result under (as a checkpoint would build it)."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        return ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=result.batch_id,
        )

    def store(self, identifier, result) -> None:
        """Store ``result`` again under ``identifier`` (after adding failing values to it)."""
        self.context.validation_results_store.store_validation_results(
            suite_validation_result=result, suite_validation_result_identifier=identifier
        )

    def document(self, identifier, result) -> str:
        """Store ``result`` and render its Data Docs page in the background (``_in_background``); return
        the URI the page is written at.

        Storing a result (GX serializes it) and rendering its page took about as long as validating a
        silver suite in one aggregate pass (0.1-0.3 s of Python a validation on a 2-core machine), and
        only the page needs them: the check's result is the validation's outcome. So the check returns
        first and the page follows, in order, within a fraction of a second; ``data_docs_written()`` waits
        for it."""
        page = self.page_path(identifier)
        _in_background(lambda: self._write_page(identifier, result))
        return page.as_uri() if self.published is None else self.published.uri_of(page)

    def _write_page(self, identifier, result) -> None:
        """Store the result and render its page. The first validation of a suite in this process also
        renders the suite's page and the site's index, in the same build (GX copies its static assets and
        builds its site objects once per build)."""
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        suite = identifier.expectation_suite_identifier.name
        with self._lock:
            first = suite not in self._documented
            self._documented.add(suite)
            self.store(identifier, result)
            resources = [identifier, ExpectationSuiteIdentifier(name=suite)] if first else [identifier]
            self.context.build_data_docs(
                site_names=[DATA_DOCS_SITE], resource_identifiers=resources, build_index=first
            )
        if self.published is not None:
            self.published.publish()

    def page_path(self, identifier) -> Path:
        """Where the site's validations section writes the page of ``identifier``: the identifier's key
        as folders under ``validations/``, ``.html`` appended (GX's ``TupleFilesystemStoreBackend``)."""
        *folders, name = identifier.to_tuple()
        return self.docs_dir.joinpath("validations", *folders, f"{name}.html")


def gx_expectation(spec: ExpectationSpec):
    """The GX expectation object of a spec: class by type name, kwargs, GX severity, id in ``meta``."""
    import great_expectations.expectations as gxe

    from lakehouse.quality import gx_expectations

    if spec.type in gx_expectations.REPLACED:
        expectation_class = gx_expectations.REPLACED[spec.type]
    else:
        class_name = "".join(part.capitalize() for part in spec.type.split("_"))
        expectation_class = getattr(gxe, class_name, None)
    if expectation_class is None:
        raise ValueError(f"expectation {spec.id}: {spec.type!r} is not a Great Expectations core expectation")
    return expectation_class(
        **spec.gx_kwargs,
        severity=_GX_SEVERITY[spec.severity],
        # The description stays in meta: GX would render it instead of the expectation's own wording.
        meta={
            "id": spec.id,
            "severity": spec.severity.value,
            "origin": spec.origin.value,
            "description": spec.description,
        },
    )
