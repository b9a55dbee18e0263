"""docs/asyncapi.yaml is a valid AsyncAPI 3.0 document that describes every topic."""

from __future__ import annotations

import copy

import pydantic
import pytest

from pitchcast.schemas import headers
from pitchcast.schemas.contract import SCHEMA_NAMES, validator_for
from pitchcast.settings import load_settings
from tests.support.asyncapi_contract import (
    channel_for_address,
    external_schema_name,
    load_document,
    message_contracts,
    parse_with_asyncapi3,
    resolve,
    walk_refs,
)


def test_document_parses_as_asyncapi_3() -> None:
    """The asyncapi3 object model (pydantic) accepts the whole document."""
    document = load_document()
    assert document["asyncapi"] == "3.0.0"
    parsed = parse_with_asyncapi3(document)
    assert set(parsed.channels.root) == set(document["channels"])


def test_object_model_refuses_a_broken_document() -> None:
    """The structural check has teeth: an AsyncAPI 2 style operation is refused."""
    broken = copy.deepcopy(load_document())
    broken["operations"]["writeCommentary"]["action"] = "publish"
    with pytest.raises(pydantic.ValidationError):
        parse_with_asyncapi3(broken)


def test_every_topic_has_a_channel_at_its_default_name() -> None:
    """match-events, pitchcast-batches, commentary, commentary-lines, commentary-dlq."""
    settings = load_settings()
    document = load_document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {
        settings.topic_events,
        settings.topic_batches,
        settings.topic_commentary,
        settings.topic_lines,
        settings.topic_dlq,
    }
    for address in addresses:
        assert message_contracts(document, channel_for_address(document, address))


def test_every_reference_resolves() -> None:
    """Internal references point at something; external ones at pitchcast's schema files."""
    document = load_document()
    external = set()
    for ref in walk_refs(document):
        if ref.startswith("#/"):
            resolve(document, ref)
        else:
            external.add(external_schema_name(ref))
    # Every schema file is a payload, or nested in one (match_info in control and batch).
    nested = {name for name in SCHEMA_NAMES for ref in external if name in _refs_of(ref)}
    assert external | nested == set(SCHEMA_NAMES)


def _refs_of(schema_name: str) -> set[str]:
    return {r.removesuffix(".schema.json") for r in walk_refs(validator_for(schema_name).schema)}


def test_operations_use_messages_of_their_own_channel() -> None:
    """AsyncAPI 3: an operation's messages must be messages of the channel it names."""
    document = load_document()
    for name, operation in document["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
            resolve(document, message["$ref"])


def test_header_schemas_name_the_type_tokens_pitchcast_sends() -> None:
    """The documented ``__TypeId__`` values are the ones in pitchcast.schemas.headers."""
    document = load_document()
    schemas = document["components"]["schemas"]
    tokens = {
        schemas[name]["properties"]["__TypeId__"]["const"]
        for name in ("commentaryHeaders", "commentaryLineHeaders", "deadLetterHeaders")
    }
    assert tokens == {
        headers.TYPE_ID_COMMENTARY,
        headers.TYPE_ID_COMMENTARY_LINE,
        headers.TYPE_ID_DEAD_LETTER,
    }
