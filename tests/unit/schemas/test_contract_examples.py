"""The sample messages of the Spring consumer example follow pitchcast's JSON Schemas."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pitchcast.schemas.contract import validator_for

SAMPLES = (
    Path(__file__).resolve().parents[3] / "examples/spring-consumer/src/test/resources/samples"
)


@pytest.mark.parametrize("name", ["commentary", "commentary_line", "dead_letter"])
def test_spring_example_sample_is_valid(name: str) -> None:
    """The Java deserialization test reads a message pitchcast could really write."""
    validator_for(name).validate(orjson.loads((SAMPLES / f"{name}.json").read_bytes()))
