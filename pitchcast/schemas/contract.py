"""Load the JSON Schema files (the topic contracts) as compiled validators.

Needs ``jsonschema`` (the ``test`` extra); the worker itself does not use it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["SCHEMA_NAMES", "validator_for"]

SCHEMA_NAMES: tuple[str, ...] = (
    "action",
    "batch",
    "batch_action",
    "commentary",
    "commentary_line",
    "control",
    "dead_letter",
    "match_info",
    "period_end",
    "story",
)


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    resources_ = []
    for name in SCHEMA_NAMES:
        text = resources.files("pitchcast.schemas").joinpath(f"{name}.schema.json").read_text()
        document = json.loads(text)
        resource = Resource.from_contents(document)
        # Reachable both by $id and by the relative file name used in $ref.
        resources_ += [(document["$id"], resource), (f"{name}.schema.json", resource)]
    return Registry().with_resources(resources_)


@cache
def validator_for(name: str) -> Any:
    """A Draft 2020-12 validator for ``<name>.schema.json``, checked once."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = _registry().contents(f"{name}.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())
