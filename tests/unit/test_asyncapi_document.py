"""docs/asyncapi.yaml is a valid AsyncAPI 3.0 document that describes every topic.

Valid means: the official AsyncAPI 3.0.0 JSON Schema (asyncapi/spec-json-schemas, vendored
in tests/vendor/asyncapi/) accepts it under ``jsonschema``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pitchcast.schemas import headers
from pitchcast.schemas.contract import SCHEMA_NAMES, validator_for
from pitchcast.settings import load_settings
from pitchcast.streams.dead_letters import tooling as dlq
from tests.support.asyncapi_contract import (
    channel_for_address,
    check_record,
    external_schema_name,
    load_document,
    message_contracts,
    official_schema_errors,
    resolve,
    walk_refs,
)


def test_document_passes_the_official_asyncapi_3_schema() -> None:
    """The official AsyncAPI 3.0.0 JSON Schema (draft-07, bindings included) accepts it."""
    document = load_document()
    assert document["asyncapi"] == "3.0.0"
    assert official_schema_errors(document) == []


def test_official_schema_refuses_a_ref_as_kafka_key() -> None:
    """Kafka binding 0.5.0's ``key`` is ``oneOf: [Reference, Schema]``: a bare ``$ref``
    matches both, so the document writes keys inline (YAML alias), never as a ``$ref``."""
    broken = copy.deepcopy(load_document())
    kafka = broken["components"]["messages"]["action"]["bindings"]["kafka"]
    assert kafka["bindingVersion"] == "0.5.0" and "$ref" not in kafka["key"]
    kafka["key"] = {"$ref": "#/components/schemas/gameIdKey"}
    (error,) = official_schema_errors(broken)
    assert error.startswith("components/messages/action:")


def test_official_schema_refuses_an_asyncapi_2_operation() -> None:
    """The structural check has teeth: an AsyncAPI 2 style operation is refused."""
    broken = copy.deepcopy(load_document())
    broken["operations"]["writeCommentary"]["action"] = "publish"
    errors = official_schema_errors(broken)
    assert errors and all(e.startswith("operations/writeCommentary") for e in errors)


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


def test_replay_headers_are_the_ones_dlq_replay_sends() -> None:
    """Both input channels describe the ``pitchcast-replay-*`` headers: all three or none."""
    document = load_document()
    schema = document["components"]["schemas"]["replayHeaders"]
    assert set(schema["properties"]) == {dlq.REPLAY_OF, dlq.REPLAY_FROM, dlq.REPLAYED_AT}
    for channel in ("matchEvents", "batches"):
        for message in message_contracts(document, channel):
            assert message.headers is not None, message.name
    check = Draft202012Validator(schema, format_checker=FormatChecker())
    replayed = {
        dlq.REPLAY_OF: "match-events:3:1207",
        dlq.REPLAY_FROM: "commentary-dlq:3:17",
        dlq.REPLAYED_AT: "2026-05-01T12:00:00.000Z",
    }
    assert check.is_valid(replayed)
    assert check.is_valid({}) and check.is_valid({"traceparent": "00-ab-cd-01"})
    assert not check.is_valid({dlq.REPLAY_OF: "match-events:3:1207"})
    assert not check.is_valid({**replayed, dlq.REPLAY_FROM: "commentary-dlq"})


# Records pitchcast's real worker published (scripts/export-spring-fixtures).
FIXTURES = (
    Path(__file__).resolve().parents[2] / "examples/spring-consumer/src/test/resources/fixtures"
)


def _fixture_records(topic: str) -> list[tuple[str | None, dict[str, str], object]]:
    records = []
    for text in (FIXTURES / f"{topic}.jsonl").read_text(encoding="utf-8").splitlines():
        entry = orjson.loads(text)
        headers = {name: value for name, value in entry["headers"]}
        records.append((entry["key"], headers, orjson.loads(entry["value"])))
    return records


@pytest.mark.parametrize("topic", ["commentary", "commentary-lines", "commentary-dlq"])
def test_every_header_of_a_real_record_is_described(topic: str) -> None:
    """The exported records conform, headers included; one header more is refused: the
    header schemas stay open for consumers, so ``check_record`` names undescribed ones."""
    document = load_document()
    contracts = message_contracts(document, channel_for_address(document, topic))
    records = _fixture_records(topic)
    assert records
    for key, record_headers, value in records:
        check_record(contracts, key=key, headers=record_headers, value=value)
    key, record_headers, value = records[0]
    with pytest.raises(AssertionError, match=r"x-trace.{0,4} is not described"):
        check_record(contracts, key=key, headers={**record_headers, "x-trace": "1"}, value=value)
