"""The ACLs of the secure stack (pitchcast/localstack/secure.py): each user only its part."""

from __future__ import annotations

from pitchcast.localstack.secure import acl_entries, changelog_topic
from pitchcast.settings import load_settings


def test_the_worker_reads_what_it_consumes_and_writes_what_it_produces() -> None:
    """The worker: READ on its inputs and its group, WRITE on its outputs, READ and WRITE
    on the hand-off and faust's changelog; nothing on the cluster, no CREATE, no DELETE."""
    settings = load_settings(app_id="app-x")
    worker = {(t, n, op) for p, t, n, op in acl_entries(settings) if p == "User:pitchcast"}
    assert worker == {
        ("TOPIC", settings.topic_events, "READ"),
        ("TOPIC", settings.topic_batches, "READ"),
        ("TOPIC", settings.topic_batches, "WRITE"),
        ("TOPIC", settings.topic_commentary, "WRITE"),
        ("TOPIC", settings.topic_lines, "WRITE"),
        ("TOPIC", settings.topic_dlq, "WRITE"),
        ("TOPIC", "app-x-match-state-changelog", "READ"),
        ("TOPIC", "app-x-match-state-changelog", "WRITE"),
        ("GROUP", "app-x", "READ"),
    }
    assert changelog_topic(settings) == "app-x-match-state-changelog"


def test_the_tools_feed_and_read_but_never_consume_as_the_worker() -> None:
    """The feed and tools: WRITE where matches (and replayed letters) go in, READ on the
    outputs; no group, nothing on the changelog, no READ of the hand-off."""
    settings = load_settings()
    ops = {(t, n, op) for p, t, n, op in acl_entries(settings) if p == "User:pitchcast-ops"}
    assert ("TOPIC", settings.topic_batches, "READ") not in ops
    assert not any(t == "GROUP" for t, _, _ in ops)
    assert {op for _, _, op in ops} == {"READ", "WRITE"}
    assert ("TOPIC", settings.topic_events, "WRITE") in ops
    assert ("TOPIC", settings.topic_dlq, "READ") in ops


def test_the_tools_user_can_run_the_booth_monitor() -> None:
    """`pitchcast monitor` reads the feed, the lines, the records and the dead letters
    (pitchcast/monitor/feed.py). With ops.env it retried forever on
    TopicAuthorizationFailed (match-events: WRITE only), and no user of the secure stack
    but the admin could watch a match."""
    settings = load_settings()
    ops = {(t, n, op) for p, t, n, op in acl_entries(settings) if p == "User:pitchcast-ops"}
    for topic in (
        settings.topic_events,
        settings.topic_lines,
        settings.topic_commentary,
        settings.topic_dlq,
    ):
        assert ("TOPIC", topic, "READ") in ops, topic
