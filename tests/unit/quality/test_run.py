"""Playing a match through the real batcher and commentary stage, without Kafka."""

from __future__ import annotations

from pathlib import Path

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.desk import BatchWork
from pitchcast.commentary.service import CommentaryService
from pitchcast.quality.run import live_view, play_match, write_match
from pitchcast.schemas.records import MatchInfo
from pitchcast.streams.match_csv import read_match_info
from tests.support.commentary_batches import DATA, sample_batches
from tests.support.rare_matches import MATCHES, write_rare_match


def template_service() -> CommentaryService:
    return CommentaryService(TemplateBackend(), TemplateBackend(), RedisStore(enabled=False))


def test_the_batches_are_those_of_the_batcher() -> None:
    """The played match has the batches (actions, scores, reasons) the batcher forms."""
    info = read_match_info(DATA / "match_info.csv")[1]
    played = play_match(DATA / "events_metrica_1.csv", info)
    expected = sample_batches("events_metrica_1.csv", 1)
    assert [b.actions for b in played.batches] == [b.actions for b in expected]
    assert [b.score for b in played.batches] == [b.score for b in expected]
    assert [b.close_reason for b in played.batches] == [b.close_reason for b in expected]
    assert len(played.actions) == 2462 and set(played.openings) == set(range(247))
    final = played.stories[played.actions[-1].action_id][1].score
    assert (final.home, final.away) == (3, 1)


def test_a_slice_ends_the_match_after_its_last_action() -> None:
    """--max-actions 25: 25 actions in three batches, the last one closed at the cut."""
    played = play_match(DATA / "events_metrica_1.csv", None, max_actions=25)
    assert [len(b.actions) for b in played.batches] == [10, 10, 5]
    assert played.batches[-1].close_reason == "period_end"


def test_live_view_is_the_agent_view() -> None:
    """live_view mirrors the commentary agent's view of a filling batch, field by field."""
    info = read_match_info(DATA / "match_info.csv")[1]
    played = play_match(DATA / "events_metrica_1.csv", info, max_actions=40)
    for batch in played.batches:
        opening = played.openings[batch.batch_index]
        work = BatchWork(batch.game_id, batch.batch_index)
        work.opening = opening
        work.actions = dict(enumerate(batch.actions))
        for known in range(1, len(batch.actions) + 1):
            assert live_view(batch, opening, known) == work.view(known)


async def test_every_action_gets_one_line_per_persona_in_both_modes() -> None:
    """Live and batch mode write one line per action, in order, for every persona."""
    info = read_match_info(DATA / "match_info.csv")[1]
    played = play_match(DATA / "events_metrica_1.csv", info, max_actions=30)
    ids = [a.action_id for a in played.actions]
    for mode in ("live", "batch"):
        run = await write_match(played, template_service(), ["CASTER", "FRIEND"], mode=mode)
        for persona in ("CASTER", "FRIEND"):
            lines = run.lines[persona]
            assert [line.action.action_id for line in lines] == ids
            assert all(line.text and line.source == "template" for line in lines)
    # Live: actions that arrive together (a pass and its reception) share a request.
    live = await write_match(played, template_service(), ["CASTER"], mode="live")
    assert 3 < len(live.requests) < 30
    assert all(line.known >= line.position + 1 for line in live.lines["CASTER"])


async def test_at_a_density_only_the_shown_lines_are_counted() -> None:
    """eval at story density records the lines commentary-lines would carry, and in live
    mode asks (the template here) only for shown rows."""
    from pitchcast.commentary.density import decide

    info = read_match_info(DATA / "match_info.csv")[1]
    played = play_match(DATA / "events_metrica_1.csv", info, max_actions=60)
    shown = [
        a.action_id
        for b in played.batches
        for a, t in zip(b.actions, decide(b.actions, "story", b.story), strict=True)
        if t.shown
    ]
    assert 0 < len(shown) < len(played.actions)
    for mode in ("live", "batch"):
        run = await write_match(played, template_service(), ["CASTER"], mode=mode, density="story")
        assert [line.action.action_id for line in run.lines["CASTER"]] == shown, mode
        assert all(line.text for line in run.lines["CASTER"])
        if mode == "live":  # each request asked only for shown rows
            told = {b.batch_index: decide(b.actions, "story", b.story) for b in played.batches}
            for request in run.requests:
                assert request.rows
                assert all(told[request.batch_index][row - 1].shown for row in request.rows)


def _rare(tmp_path: Path, name: str) -> tuple[Path, MatchInfo | None]:
    path = write_rare_match(tmp_path / name, MATCHES[name])
    return path, read_match_info(path.parent / "match_info.csv")[MATCHES[name].game_id]


async def test_below_every_the_moment_lines_are_written_as_the_agent_tells_them(
    tmp_path: Path,
) -> None:
    """eval writes the lines of the match's flow the commentary agent publishes below
    `every` (kick-off, each period's start and end, the shoot-out): a cup match through
    extra time and penalties has all of them, in order, in every persona."""
    path, info = _rare(tmp_path, "cup")
    played = play_match(path, info)
    kinds = [
        "kick_off", "half_time", "second_half", "second_half_end", "extra_first_half",
        "period_end", "extra_second_half", "period_end", "shoot_out", "shoot_out_end",
    ]  # fmt: skip
    run = await write_match(
        played, template_service(), ["CASTER", "FRIEND"], mode="live", density="story"
    )
    for persona in ("CASTER", "FRIEND"):
        moments = run.moments[persona]
        assert [m.moment for m in moments] == kinds
        assert [m.action.period_id for m in moments] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        assert all(m.text and m.source == "template" for m in moments)
    every = await write_match(played, template_service(), ["CASTER"], mode="live")
    assert every.moments == {}  # `every` tells no moment line (lanes._moment)


async def test_the_end_of_a_period_whose_batch_had_closed_is_told(tmp_path: Path) -> None:
    """A period whose last batch closed full before period_end came: the batcher hands
    off a PeriodEnd, and its half-time line is told after that batch (tell_period_end)."""
    path, info = _rare(tmp_path, "draw")
    played = play_match(path, info)
    assert [m.batch_index for m in played.period_ends] == [1, 2]
    run = await write_match(played, template_service(), ["ANALYST"], mode="batch", density="key")
    kinds = [m.moment for m in run.moments["ANALYST"]]
    assert kinds == ["kick_off", "half_time", "second_half", "second_half_end"]
    assert "0" in run.moments["ANALYST"][1].text  # the score at half-time: 0-0
