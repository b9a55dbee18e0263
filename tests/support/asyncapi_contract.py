"""Read docs/asyncapi.yaml and check Kafka records against the channel they are on.

Each channel's messages are resolved to validators: the payload through the JSON Schema
file it references (compiled by ``pitchcast.schemas.contract``), the headers and the
Kafka key through the inline schemas. A record conforms when exactly one message of its
channel accepts its key, its headers (each of them described) and its value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from pitchcast.schemas.contract import SCHEMA_NAMES, validator_for

__all__ = [
    "ASYNCAPI_SCHEMA",
    "ASYNCAPI_SCHEMA_SHA256",
    "DOCUMENT",
    "MessageContract",
    "channel_for_address",
    "check_record",
    "external_schema_name",
    "load_document",
    "message_contracts",
    "official_schema_errors",
    "resolve",
    "walk_refs",
]

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = REPO / "docs" / "asyncapi.yaml"
JSON_SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
#: asyncapi/spec-json-schemas' bundled AsyncAPI 3.0.0 schema; source and licence beside it.
ASYNCAPI_SCHEMA = REPO / "tests" / "vendor" / "asyncapi" / "3.0.0.json"
ASYNCAPI_SCHEMA_SHA256 = "1786a007ac00344a8f529e5a6fc5db786b0be6757e0b94a8b95a8a6a52b7fe9a"


@cache
def load_document() -> dict[str, Any]:
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@cache
def _official_validator() -> Draft7Validator:
    raw = ASYNCAPI_SCHEMA.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    assert digest == ASYNCAPI_SCHEMA_SHA256, f"{ASYNCAPI_SCHEMA} changed (sha256 {digest})"
    schema = json.loads(raw)
    Draft7Validator.check_schema(schema)
    # Every definition sits inlined under its own $id, so no reference leaves the file.
    return Draft7Validator(schema)


def official_schema_errors(document: dict[str, Any]) -> list[str]:
    """What the official AsyncAPI 3.0.0 JSON Schema refuses in ``document``, one line each."""
    errors = sorted(_official_validator().iter_errors(document), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in errors]


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The node an internal reference (``#/a/b``) points at."""
    assert ref.startswith("#/"), f"not an internal reference: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable reference {ref}"
        node = node[part]
    return node


def _deref(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and set(node) == {"$ref"} and node["$ref"].startswith("#/"):
        node = resolve(document, node["$ref"])
    return node


def walk_refs(node: Any) -> list[str]:
    """Every ``$ref`` value anywhere below ``node``."""
    if isinstance(node, dict):
        refs = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return refs + [r for value in node.values() for r in walk_refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in walk_refs(value)]
    return []


def external_schema_name(ref: str) -> str:
    """The pitchcast schema a payload reference names: ``../pitchcast/schemas/X.schema.json``."""
    path = (DOCUMENT.parent / ref).resolve()
    assert path.parent == REPO / "pitchcast" / "schemas", f"{ref} is not a pitchcast schema"
    assert path.is_file(), f"{ref} does not exist"
    name = path.name.removesuffix(".schema.json")
    assert name in SCHEMA_NAMES, f"{ref} is not one of {SCHEMA_NAMES}"
    return name


@dataclass(frozen=True)
class MessageContract:
    """What one message of a channel accepts."""

    name: str
    payload: Any
    headers: Any | None
    key: Any | None


def _inline_validator(document: dict[str, Any], schema: Any) -> Any:
    schema = _deref(document, schema)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def message_contracts(document: dict[str, Any], channel_id: str) -> list[MessageContract]:
    """The validators of every message of a channel."""
    channel = document["channels"][channel_id]
    contracts = []
    for message_ref in channel["messages"].values():
        message = _deref(document, message_ref)
        payload = message["payload"]
        assert payload["schemaFormat"] == JSON_SCHEMA_FORMAT, message["name"]
        schema_name = external_schema_name(payload["schema"]["$ref"])
        headers = message.get("headers")
        key = message.get("bindings", {}).get("kafka", {}).get("key")
        contracts.append(
            MessageContract(
                name=message["name"],
                payload=validator_for(schema_name),
                headers=None if headers is None else _inline_validator(document, headers),
                key=None if key is None else _inline_validator(document, key),
            )
        )
    return contracts


def channel_for_address(document: dict[str, Any], address: str) -> str:
    """The channel id whose address is ``address`` (the default topic name)."""
    (channel_id,) = [
        cid for cid, channel in document["channels"].items() if channel["address"] == address
    ]
    return str(channel_id)


def check_record(
    contracts: list[MessageContract], *, key: str | None, headers: dict[str, str], value: Any
) -> str:
    """The name of the one message that accepts the record; AssertionError otherwise."""
    accepted: list[str] = []
    refusals: list[str] = []
    for contract in contracts:
        errors = [f"payload: {e.message}" for e in contract.payload.iter_errors(value)]
        if contract.headers is not None:
            errors += [f"headers: {e.message}" for e in contract.headers.iter_errors(headers)]
        # The header schemas stay open (consumers must ignore headers they do not know),
        # so a header pitchcast writes but the document does not describe is caught here.
        described = (
            set(contract.headers.schema.get("properties", {})) if contract.headers else set()
        )
        errors += [
            f"headers: {name!r} is not described" for name in sorted(set(headers) - described)
        ]
        if contract.key is not None:
            errors += [f"key: {e.message}" for e in contract.key.iter_errors(key)]
        if errors:
            refusals.append(f"{contract.name}: {errors[:3]}")
        else:
            accepted.append(contract.name)
    assert len(accepted) == 1, f"accepted by {accepted}; refusals: {refusals}; value: {value}"
    return accepted[0]
