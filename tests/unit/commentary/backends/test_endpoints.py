"""The endpoint ring: consistent hashing by game_id, failover order, breakers, keys."""

from __future__ import annotations

from collections import Counter

import pytest

from pitchcast.commentary.backends.endpoints import (
    EndpointRing,
    endpoint_label,
    pair_keys,
)
from pitchcast.exceptions import ConfigurationError
from tests.support.utils import FakeClock

URLS = ["http://gpu-a:8000/v1", "http://gpu-b:8000/v1", "https://api.runpod.ai/v2/abc/openai/v1"]


def ring(
    urls: list[str] = URLS, *, failures: int = 2, clock: FakeClock | None = None
) -> EndpointRing:
    return EndpointRing(
        urls,
        [""] * len(urls),
        breaker_failures=failures,
        breaker_reset_s=30.0,
        clock=clock or FakeClock(100.0),
    )


def test_a_matchs_order_is_stable_and_holds_every_endpoint_once() -> None:
    """Same game, same order, in any ring built from the same URLs (no process-seeded hash)."""
    first, second = ring(), ring()
    for game_id in range(200):
        order = first.order(game_id)
        assert sorted(e.base_url for e in order) == sorted(URLS)
        assert [e.base_url for e in second.order(game_id)] == [e.base_url for e in order]
    assert [e.base_url for e in first.order(126283)] == [e.base_url for e in first.order("126283")]


def test_matches_spread_over_the_endpoints_and_a_failed_ones_spread_over_the_rest() -> None:
    """Each endpoint is first choice for a fair share of 3,000 matches, and the matches
    of one endpoint have both others as second choice."""
    r = ring()
    firsts = Counter(r.order(g)[0].base_url for g in range(3000))
    assert all(700 < n < 1300 for n in firsts.values()), firsts
    of_a = [g for g in range(3000) if r.order(g)[0].base_url == URLS[0]]
    seconds = Counter(r.order(g)[1].base_url for g in of_a)
    assert set(seconds) == set(URLS[1:]) and min(seconds.values()) > len(of_a) / 5, seconds


def test_adding_an_endpoint_moves_only_the_matches_it_takes() -> None:
    """Consistent hashing: with a fourth endpoint, a match either keeps its first choice
    or moves to the new one."""
    before, after = ring(URLS), ring([*URLS, "http://gpu-c:8000/v1"])
    moved = 0
    for game_id in range(2000):
        old, new = before.order(game_id)[0].base_url, after.order(game_id)[0].base_url
        if old != new:
            assert new == "http://gpu-c:8000/v1"
            moved += 1
    assert 300 < moved < 700, moved


def test_failover_goes_to_the_next_in_order_and_back_when_the_first_recovers() -> None:
    """A's breaker open: its match goes to its second choice; after the reset the match's
    next request is the half-open probe on A; A answering closes it and the match is back."""
    clock = FakeClock(100.0)
    r = ring(clock=clock)
    game = next(g for g in range(100) if r.order(g)[0].base_url == URLS[0])
    a, b = r.order(game)[0], r.order(game)[1]
    assert r.first(game) is a
    a.failed("LLMUnavailable")
    assert r.first(game) is a  # one failure: still the first choice
    a.failed("LLMUnavailable")
    assert a.breaker.state == "open"
    assert r.first(game) is b
    clock.now += 30
    probe = r.first(game)
    assert probe is a and a.breaker.state == "half_open"
    assert r.first(game) is b  # the probe is taken: others go on meanwhile
    a.succeeded()
    assert a.breaker.state == "closed" and r.first(game) is a


def test_the_retry_after_a_failure_goes_to_the_next_endpoint_wrapping_round() -> None:
    """after() walks the order from the failed endpoint: B after A, C after B, A after C;
    with one endpoint, the same one again."""
    r = ring()
    order = r.order(7)
    assert r.after(7, order[0]) is order[1]
    assert r.after(7, order[1]) is order[2]
    assert r.after(7, order[2]) is order[0]
    single = ring(URLS[:1])
    only = single.order(7)[0]
    assert single.after(7, only) is only


def test_a_peek_does_not_take_the_half_open_probe() -> None:
    """reserve=False tells where a request would go without reserving the probe."""
    clock = FakeClock(100.0)
    r = ring(URLS[:1], failures=1, clock=clock)
    only = r.endpoints[0]
    only.failed("LLMTimeout")
    assert r.first(1, reserve=False) is None
    clock.now += 30
    assert r.first(1, reserve=False) is only
    assert r.first(1) is only  # reserved now
    assert r.first(1) is None
    only.no_verdict()  # cancelled: the probe is free again
    assert r.first(1) is only


def test_the_services_view_is_open_only_when_every_endpoint_is() -> None:
    """EndpointBreakers: closed while one endpoint is closed, open when none takes
    requests; the service's own verdicts are ignored."""
    clock = FakeClock(100.0)
    r = ring(URLS[:2], failures=1, clock=clock)
    view = r.breakers
    assert view.state == "closed" and view.allow()
    r.endpoints[0].failed("LLMUnavailable")
    assert view.state == "closed"
    r.endpoints[1].failed("LLMUnavailable")
    assert view.state == "open" and not view.allow()
    assert view.record_failure() is False and view.record_success() is False
    clock.now += 30
    assert view.state == "half_open" and view.allow()
    assert view.times_opened == 2
    assert "open" in repr(view) or "half_open" in repr(view)


def test_refusals_are_no_verdict() -> None:
    """A permanent 4xx frees a probe and leaves the failure count alone."""
    r = ring(URLS[:1], failures=2)
    only = r.endpoints[0]
    only.failed("LLMUnavailable")
    only.refused()
    only.refused()
    assert only.breaker.consecutive_failures == 1 and only.refusals == 2
    assert only.breaker.state == "closed"


def test_keys_pair_with_urls_one_each_or_one_for_all() -> None:
    """api_keys aligned with the URLs (empty = none), or api_key for every endpoint."""
    assert pair_keys(2, api_keys=["rpa_x", ""]) == ["rpa_x", ""]
    assert pair_keys(2, api_key="k") == ["k", "k"]
    assert pair_keys(2) == ["", ""]
    with pytest.raises(ConfigurationError, match="2 entries for 3 endpoint") as caught:
        pair_keys(3, api_keys=["rpa_secret1", "rpa_secret2"])
    assert "rpa_secret" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="not both"):
        pair_keys(2, api_key="k", api_keys=["a", "b"])


def test_labels_never_carry_credentials_or_queries() -> None:
    """Logs name an endpoint by scheme://host:port/path only."""
    assert endpoint_label("https://u:pw@host:8443/v1/?key=s3cret") == "https://host:8443/v1"
    assert endpoint_label("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    assert endpoint_label(URLS[2]) == URLS[2]


def test_the_ring_refuses_duplicates_and_emptiness() -> None:
    """The same URL twice (even with a trailing slash), or none, is a configuration error."""
    with pytest.raises(ConfigurationError, match="twice"):
        ring([URLS[0], URLS[0] + "/"])
    with pytest.raises(ConfigurationError, match="at least one"):
        ring([])


def test_secrets_stay_out_of_reprs() -> None:
    """An endpoint's repr shows its label and state, never its key."""
    r = EndpointRing(URLS[:1], ["rpa_SECRET_KEY"], breaker_failures=1, breaker_reset_s=1.0)
    assert "rpa_SECRET_KEY" not in repr(r.endpoints[0])
    assert "rpa_SECRET_KEY" not in repr(r.endpoints)
