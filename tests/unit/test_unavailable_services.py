"""tests.support.utils.unavailable: a missing service fails in CI and skips elsewhere."""

from __future__ import annotations

import pytest

from tests.support.utils import unavailable


@pytest.mark.parametrize("value", ["true", "1", "TRUE ", "yes"])
def test_a_missing_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="Kafka is not reachable"):
        unavailable("Kafka is not reachable")


@pytest.mark.parametrize("value", [None, "", "false"])
def test_a_missing_service_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="Kafka is not reachable"):
        unavailable("Kafka is not reachable")
