"""Validate a Spark DataFrame against a ``Suite`` with Great Expectations 1.x, on the engine.

GX's Spark datasource takes the DataFrame as it is, a Spark Connect one included (Sail or a cluster):
every metric is a Spark aggregate or query, so nothing is collected to the client but counts and a few
failing values. One ephemeral GX context per process and Data Docs directory (importing GX takes
seconds, building the context milliseconds), created on first use; each suite's GX objects (suite,
batch definition, validation definition, checkpoint) are built once and rebuilt only when the suite
changes. Every validation writes its Data Docs page under ``$LAKEHOUSE_HOME/gx/data_docs``.

Nothing here knows Dagster: ``validate_frame`` returns a ``SuiteOutcome``; ``lakehouse.quality.checks``
turns it into an asset check result.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from lakehouse.quality.suites import ExpectationSpec, Severity, Suite
from lakehouse.settings import lakehouse_home

DATA_DOCS_SITE = "lakehouse"
DATASOURCE = "lakehouse"
SAMPLE_SIZE = 5
_GX_SEVERITY = {Severity.ERROR: "critical", Severity.WARN: "warning"}


def data_docs_dir() -> Path:
    """Where Data Docs are written: ``$LAKEHOUSE_HOME/gx/data_docs`` (read when called)."""
    return lakehouse_home() / "gx" / "data_docs"


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
    data_docs_path: Path | None

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


def validate_frame(df: DataFrame, suite: Suite, run_name: str, docs_dir: Path | None = None) -> SuiteOutcome:
    """Validate ``df`` against ``suite`` on its engine and write the Data Docs page of the result.

    ``run_name`` names the validation in Data Docs (e.g. the Dagster run id and partition).
    """
    from great_expectations.core.run_identifier import RunIdentifier

    gx = _context_for(docs_dir or data_docs_dir())
    checkpoint = gx.checkpoint(suite)
    result = checkpoint.run(
        batch_parameters={"dataframe": df}, run_id=RunIdentifier(run_name=_safe(run_name))
    )
    [(identifier, run_result)] = list(result.run_results.items())
    gx.write_page(identifier)
    outcomes = tuple(_outcome(suite, r, df) for r in run_result.results)
    missing = {spec.id for spec in suite.expectations} - {o.spec.id for o in outcomes}
    if missing:  # GX evaluates every expectation of a suite; anything else is a bug worth stopping on
        raise RuntimeError(f"suite {suite.name}: GX returned no result for {sorted(missing)}")
    return SuiteOutcome(
        suite=suite,
        results=outcomes,
        rows=_rows(run_result.results),
        data_docs_path=gx.page_path(identifier),
    )


# --- results ------------------------------------------------------------------------------------------


def _outcome(suite: Suite, result, df: DataFrame) -> ExpectationOutcome:
    spec = suite.expectation(result.expectation_config.meta["id"])
    details = result.result or {}
    error = None
    if result.exception_info and result.exception_info.get("raised_exception"):
        error = str(result.exception_info.get("exception_message") or "the expectation raised")
    sample: tuple[Any, ...] = tuple(
        _json_clean(v) for v in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
    )
    unexpected = details.get("unexpected_count")
    if spec.type == "unexpected_rows_expectation":
        unexpected = details.get("observed_value")
        if not result.success and not error:
            sample = _unexpected_rows_sample(df, spec)
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


def _unexpected_rows_sample(df: DataFrame, spec: ExpectationSpec) -> tuple[Any, ...]:
    """A few rows of a failed SQL expectation (GX's summary carries only their count); failed ones only."""
    view = f"gx_sample_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(view)
    try:
        query = spec.kwargs["unexpected_rows_query"].replace("{batch}", view)
        rows = df.sparkSession.sql(query).limit(SAMPLE_SIZE).collect()
        return tuple(_json_clean(row.asDict(recursive=True)) for row in rows)
    finally:
        df.sparkSession.catalog.dropTempView(view)


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


def _context_for(docs_dir: Path) -> _GxContext:
    key = str(docs_dir)
    with _lock:
        if key not in _contexts:
            _contexts[key] = _GxContext(docs_dir)
        return _contexts[key]


class _GxContext:
    """An ephemeral GX context with one Spark datasource and one local Data Docs site."""

    def __init__(self, docs_dir: Path) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.docs_dir = docs_dir
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={
                DATA_DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                }
            },
            analytics_enabled=False,  # nothing leaves the machine
            progress_bars=ProgressBarsConfig(globally=False),
        )
        self._gx = gx
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        # persist=False: a check reads its partition once; caching would only cost memory (Sail ignores it).
        self.datasource = self.context.data_sources.add_spark(DATASOURCE, persist=False)
        self._checkpoints: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def checkpoint(self, suite: Suite):
        fingerprint = suite.fingerprint()
        with self._lock:
            cached = self._checkpoints.get(suite.name)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            if cached is not None:
                self._remove(suite.name)
            checkpoint = self._build(suite)
            self._checkpoints[suite.name] = (fingerprint, checkpoint)
            return checkpoint

    def _build(self, suite: Suite):
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
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=suite.name,
                validation_definitions=[definition],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
            )
        )
        # The suite's page and the site index once per suite and process; each validation then renders
        # only its own page (GX compiles its page templates on every build, about 0.3 s a page).
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        self.context.build_data_docs(
            site_names=[DATA_DOCS_SITE], resource_identifiers=[ExpectationSuiteIdentifier(name=suite.name)]
        )
        return checkpoint

    def write_page(self, identifier) -> None:
        """Render the Data Docs page of one validation result."""
        self.context.build_data_docs(
            site_names=[DATA_DOCS_SITE], resource_identifiers=[identifier], build_index=False
        )

    def _remove(self, name: str) -> None:
        self.context.checkpoints.delete(name)
        self.context.validation_definitions.delete(name)
        self.context.suites.delete(name)
        self.datasource.delete_asset(name)

    def page_path(self, identifier) -> Path | None:
        urls = self.context.get_docs_sites_urls(resource_identifier=identifier, site_names=[DATA_DOCS_SITE])
        for site in urls:
            url = site.get("site_url")
            if url and url.startswith("file://"):
                return Path(url.removeprefix("file://"))
        return None


def gx_expectation(spec: ExpectationSpec):
    """The GX expectation object of a spec: class by type name, kwargs, GX severity, id in ``meta``."""
    import great_expectations.expectations as gxe

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
