"""Validate OpenLineage events against the spec's JSON Schemas, offline.

Every schema under ``spec/`` is registered under its ``$id``, so the facet schemas' ``$ref`` to
``https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/...`` resolve without a network. The core
event schema leaves facets open; each facet is therefore also validated against its own schema, found
by its key (``schema``, ``columnLineage``...). A facet with no schema here fails validation, so nothing
is emitted unchecked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_DIR = Path(__file__).parent / "spec"


@cache
def _schemas() -> tuple[dict[str, Any], dict[str, dict[str, Any]], Registry]:
    core = json.loads((SPEC_DIR / "OpenLineage.json").read_text(encoding="utf-8"))
    facets: dict[str, dict[str, Any]] = {}
    registry = Registry().with_resource(core["$id"], Resource.from_contents(core))
    for path in sorted((SPEC_DIR / "facets").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
        for key in schema.get("properties", {}):
            facets[key] = schema
    return core, facets, registry


def validation_errors(event: dict[str, Any]) -> list[str]:
    """Every way ``event`` breaks the spec, as ``<where>: <message>`` (empty when it is valid)."""
    core, facet_schemas, registry = _schemas()
    problems = [
        f"event {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft202012Validator(
            core, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        ).iter_errors(event)
    ]
    for where, facets in _facet_groups(event):
        for key, facet in facets.items():
            schema = facet_schemas.get(key)
            if schema is None:
                problems.append(f"{where}.{key}: no schema for this facet in {SPEC_DIR}")
                continue
            validator = Draft202012Validator(
                schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            problems.extend(
                f"{where}.{key} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors({key: facet})
            )
    return problems


def _facet_groups(event: dict[str, Any]):
    yield "run.facets", event.get("run", {}).get("facets", {})
    yield "job.facets", event.get("job", {}).get("facets", {})
    for side in ("inputs", "outputs"):
        for index, dataset in enumerate(event.get(side, [])):
            yield f"{side}[{index}].facets", dataset.get("facets", {})
            yield f"{side}[{index}].inputFacets", dataset.get("inputFacets", {})
            yield f"{side}[{index}].outputFacets", dataset.get("outputFacets", {})
