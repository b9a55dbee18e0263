"""Lines of the match's flow: which batch boundary is which moment, and their lines."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import reduce

import pytest

from pitchcast.checks.register import register_slips
from pitchcast.checks.wording import find_wording
from pitchcast.commentary.template.moments import (
    MOMENT_LINE_INDEX,
    moment_after,
    moment_before,
    write_moment,
)
from pitchcast.commentary.template.phrasebook import phrasebook
from pitchcast.schemas.records import Action, Batch, MinuteBucket, PeriodEnd, Score
from pitchcast.settings import PERSONAS
from pitchcast.story import advance_story, new_story
from tests.support.commentary_batches import korean_batch, korean_match_info


def _opening(batch: Batch) -> Action:
    """The batch's first action at its period's start (korean_batch's is at 10:00)."""
    return replace(batch.actions[0], time_seconds=0.0)


def test_the_first_batch_of_a_match_opens_with_the_kick_off() -> None:
    batch = korean_batch()
    first = _opening(batch)
    moment = moment_before(first, new_story(batch.match_info))
    assert moment is not None and moment.kind == "kick_off"
    assert moment.line_index == MOMENT_LINE_INDEX["before"]
    assert moment.action == first


@pytest.mark.parametrize(("period", "kind"), [(2, "second_half"), (3, "extra_first_half")])
def test_a_match_whose_first_action_is_of_a_later_period_opens_with_that_period_s_start(
    period: int, kind: str
) -> None:
    """A feed that joins at half-time (or whose first half never came): its first line
    said 킥오프입니다! before a second-half action, a kick-off the data never showed."""
    batch = korean_batch()
    first = replace(_opening(batch), period_id=period)
    moment = moment_before(first, new_story(batch.match_info))
    assert moment is not None and moment.kind == kind


def test_a_batch_that_starts_a_later_period_opens_with_its_start() -> None:
    batch = korean_batch()
    first = replace(_opening(batch), period_id=2)
    played = replace(
        new_story(batch.match_info), actions=900, recent=(MinuteBucket(1, 45, 1, 10, 3),)
    )
    moment = moment_before(first, played)
    assert moment is not None and moment.kind == "second_half"
    # The same period going on, or no story at all: no moment.
    assert moment_before(replace(first, period_id=1), played) is None
    assert moment_before(first, None) is None


@pytest.mark.parametrize("period", [1, 2])
def test_a_feed_that_joins_a_period_under_way_tells_no_start(period: int) -> None:
    """A feed whose first action of a period comes 25 minutes into it saw no kick-off:
    its first line said 경기 시작 휘슬이 울립니다 at 25:00. A start is told only when
    the period's first action is near its start (the sample matches' are at 0.0 s)."""
    batch = korean_batch()
    late = replace(batch.actions[0], period_id=period, time_seconds=25 * 60.0)
    played = replace(
        new_story(batch.match_info), actions=900, recent=(MinuteBucket(1, 45, 1, 10, 3),)
    )
    story = new_story(batch.match_info) if period == 1 else played
    assert moment_before(late, story) is None
    assert moment_before(late, new_story(batch.match_info)) is None
    early = replace(late, time_seconds=3.0)
    moment = moment_before(early, story)
    assert moment is not None and moment.kind == ("kick_off" if period == 1 else "second_half")


@pytest.mark.parametrize(
    ("reason", "period", "kind"),
    [
        ("period_end", 1, "half_time"),
        ("period_end", 2, "second_half_end"),
        ("period_end", 3, "period_end"),
        ("match_end", 2, "full_time"),
        ("full", 1, None),
        ("idle", 2, None),
    ],
)
def test_a_close_that_ends_a_period_is_followed_by_its_moment(
    reason: str, period: int, kind: str | None
) -> None:
    batch = replace(korean_batch(), close_reason=reason, period_id=period, score=Score(2, 1))
    moment = moment_after(batch)
    if kind is None:
        assert moment is None
        return
    assert moment is not None and moment.kind == kind
    assert moment.action == batch.actions[-1] and moment.score == Score(2, 1)
    assert moment.line_index == MOMENT_LINE_INDEX["after"]


@pytest.mark.parametrize(
    ("reason", "period", "kind"),
    [("period_end", 1, "half_time"), ("period_end", 2, "second_half_end"),
     ("match_end", 2, "full_time")],
)  # fmt: skip
def test_a_period_end_after_a_closed_batch_is_the_same_moment(
    reason: str, period: int, kind: str
) -> None:
    """The end of a period whose batch closed full (or idle) on its last action: the
    moment after that action, as if the end had closed the batch."""
    batch = korean_batch()
    last = replace(batch.actions[-1], period_id=period)
    mark = PeriodEnd(
        game_id=batch.game_id, batch_index=batch.batch_index,
        close_reason=reason, last=last, score=Score(2, 1),  # type: ignore[arg-type]
    )  # fmt: skip
    moment = moment_after(mark)
    assert moment is not None and moment.kind == kind
    assert moment.action == last and moment.score == Score(2, 1)
    assert moment.line_index == MOMENT_LINE_INDEX["after"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("reason", ["period_end", "match_end"])
def test_moment_lines_name_the_teams_and_score_in_the_personas_register(
    persona: str, reason: str
) -> None:
    info = korean_match_info()
    batch = replace(korean_batch(), close_reason=reason, period_id=1, score=Score(2, 1))
    moment = moment_after(batch)
    assert moment is not None
    item = write_moment(moment, persona, info)
    assert item.action_id == batch.actions[-1].action_id and item.shown
    text = item.description
    assert str(info.home_team_name_ko) in text and str(info.away_team_name_ko) in text
    assert "2" in text and "1" in text
    assert register_slips(text, persona) == []
    assert write_moment(moment, persona, info) == item  # the same line after a restart


@pytest.mark.parametrize("persona", PERSONAS)
def test_kick_off_without_match_info_names_no_team_it_does_not_know(persona: str) -> None:
    """No match info and one team seen: the kick-off said 홈팀 대 원정팀, naming as home
    whichever team touched the ball first (the sample's first action is the away
    team's). It now says the kick-off without the teams."""
    batch = korean_batch()
    moment = moment_before(_opening(batch), new_story(None))
    assert moment is not None
    text = write_moment(moment, persona, None).description
    assert not re.search("홈 ?팀|원정 ?팀", text), text
    assert "전북" not in text and "울산" not in text
    assert register_slips(text, persona) == []


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("marked", [False, True])
def test_the_end_of_a_match_without_match_info_names_the_teams_by_their_actions(
    persona: str, marked: bool
) -> None:
    """No match info: the full-time line said 홈팀 2, 원정팀 1, where "home" was the first
    team seen. The teams are named as their actions name them, each with its own goals
    (the first team seen scored 2 here: 전북 현대), also after a batch that closed
    before the end (a PeriodEnd)."""
    batch = korean_batch()
    away_first = (replace(batch.actions[1], team_id=4219, team_name_ko="전북 현대"),)
    story = reduce(advance_story, (*away_first, *batch.actions), new_story(None))
    closed = replace(batch, match_info=None, close_reason="match_end", story=story, period_id=2)
    closed = replace(closed, score=Score(2, 1))
    moment = moment_after(closed)
    if marked:
        mark = PeriodEnd(
            game_id=batch.game_id, batch_index=batch.batch_index, close_reason="match_end",
            last=batch.actions[-1], score=Score(2, 1), teams=story.teams,
        )  # fmt: skip
        moment = moment_after(mark)
    assert moment is not None and moment.kind == "full_time"
    text = write_moment(moment, persona, None).description
    assert "전북 현대 2, 울산 HD 1" in text, text
    assert register_slips(text, persona) == []


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("reason", "period"), [("period_end", 1), ("period_end", 2), ("period_end", 3),
                           ("match_end", 2), ("match_end", 5)],
)  # fmt: skip
def test_a_feed_that_names_no_team_tells_each_moment_without_teams_or_score(
    persona: str, reason: str, period: int
) -> None:
    """No match info and no team_name_ko: a score without its teams says nothing of who
    leads, and 홈팀/원정팀 are no names. The line says the moment alone."""
    batch = korean_batch()
    nameless = tuple(replace(a, team_name_ko=None) for a in batch.actions)
    closed = replace(
        batch, actions=nameless, match_info=None, close_reason=reason, period_id=period,
        score=Score(2, 1),
    )  # fmt: skip
    for moment in (
        moment_after(closed),
        moment_before(replace(nameless[0], time_seconds=0.0), new_story(None)),
    ):
        assert moment is not None
        text = write_moment(moment, persona, None, supports="울산 HD").description
        assert not re.search("홈 ?팀|원정 ?팀|[0-9]", text), text
        assert register_slips(text, persona) == []


@pytest.mark.parametrize(
    ("supports", "score", "tone", "says"),
    [
        ("울산 HD", Score(2, 1), "excited", "2대 1"),  # the home team backed, ahead
        ("4219", Score(2, 1), "disappointed", "1대 2"),  # the away team backed, behind
        ("전북 현대", Score(1, 1), "tense", "1대 1"),
    ],
)
@pytest.mark.parametrize(("reason", "period"), [("period_end", 1), ("period_end", 2),
                                                ("period_end", 3), ("match_end", 2)])  # fmt: skip
def test_a_backing_friend_ends_a_period_from_its_team_s_side(
    supports: str, score: Score, tone: str, says: str, reason: str, period: int
) -> None:
    """Half-time, the end of the second half or of a period, full time: a backing FRIEND
    gives its team's score first, in the tone of its standing; its own bank, in 반말,
    with nothing the lexicon refuses. CASTER is neutral whatever the setting."""
    info = korean_match_info()
    batch = replace(korean_batch(), close_reason=reason, period_id=period, score=score)
    moment = moment_after(batch)
    assert moment is not None
    item = write_moment(moment, "FRIEND", info, supports)
    states = phrasebook().backing_moments[moment.kind]
    texts = {p.text for phrases in states.values() for p in phrases}
    neutral = write_moment(moment, "FRIEND", info)
    assert item.tone == tone and says in item.description, item
    assert item != neutral and neutral.tone == "calm"
    assert any(
        re.fullmatch(".+?".join(re.escape(x) for x in re.split(r"\{[^}]*\}", t)), item.description)
        for t in texts
    ), item.description
    assert register_slips(item.description, "FRIEND") == []
    assert find_wording(item.description, "Pass") == []
    assert write_moment(moment, "CASTER", info, supports) == write_moment(moment, "CASTER", info)
    # A team not in the match: the neutral line.
    assert write_moment(moment, "FRIEND", info, "FC서울") == neutral


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("period", "kind", "says"),
    [(3, "extra_first_half", "연장 전반"), (4, "extra_second_half", "연장 후반"),
     (5, "shoot_out", "승부차기")],
)  # fmt: skip
def test_extra_time_and_a_shoot_out_open_with_their_own_start(
    persona: str, period: int, kind: str, says: str
) -> None:
    """The first action of extra time was announced as '후반전이 시작됩니다' (the second
    half's line, for every later period), the shoot-out's too."""
    batch = korean_batch()
    first = replace(_opening(batch), period_id=period)
    played = replace(
        new_story(batch.match_info),
        actions=1800,
        recent=(MinuteBucket(period - 1, 90, 1, 10, 3),),
    )
    moment = moment_before(first, played)
    assert moment is not None and moment.kind == kind
    for i in range(len(phrasebook().story[f"moment_{kind}"][persona])):
        text = write_moment(
            replace(moment, action=replace(first, game_id=i)), persona, None
        ).description
        assert says in text.replace("연장전반", "연장 전반").replace("연장후반", "연장 후반"), text
        assert "후반전" not in text, text


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_end_of_a_shoot_out_is_not_called_an_extra_time_period(persona: str) -> None:
    """period_end of period 5 was told as '연장 피리어드가 끝났습니다' (extra time's end),
    with the match score as the shoot-out's ('아직 1대 1 동점' from a backing FRIEND)."""
    batch = replace(korean_batch(), close_reason="period_end", period_id=5, score=Score(1, 1))
    batch = replace(batch, actions=tuple(replace(a, period_id=5) for a in batch.actions))
    moment = moment_after(batch)
    assert moment is not None and moment.kind == "shoot_out_end"
    item = write_moment(moment, persona, korean_match_info(), supports="울산 HD")
    assert "승부차기" in item.description and "연장" not in item.description, item
    assert register_slips(item.description, persona) == []


def test_a_match_ended_on_a_shoot_out_is_not_called_undecided() -> None:
    """match_end right after a shoot-out (no period_end of period 5) was told as full
    time at the level match score: a backing FRIEND said '최종 1대 1, 승부가 안 갈렸네'
    (not decided), which the shoot-out just decided. It is the shoot-out's end."""
    batch = replace(korean_batch(), close_reason="match_end", period_id=5, score=Score(1, 1))
    batch = replace(batch, actions=tuple(replace(a, period_id=5) for a in batch.actions))
    moment = moment_after(batch)
    assert moment is not None and moment.kind == "shoot_out_end"
    mark = PeriodEnd(
        game_id=batch.game_id, batch_index=batch.batch_index, close_reason="match_end",
        last=batch.actions[-1], score=Score(1, 1),
    )  # fmt: skip
    after = moment_after(mark)
    assert after is not None and after.kind == "shoot_out_end"
    for persona in PERSONAS:
        text = write_moment(moment, persona, korean_match_info(), supports="울산 HD").description
        assert "안 갈렸" not in text and "동점" not in text, text


@pytest.mark.parametrize(
    ("period", "said", "not_said"),
    [(2, "후반", "연장"), (3, "연장 전반", "후반전"), (4, "연장 후반", "후반전"),
     (5, "승부차기", "후반")],
)  # fmt: skip
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_start_of_a_period_names_that_period(
    persona: str, period: int, said: str, not_said: str
) -> None:
    """Extra time and the shoot-out are no second half (s20: the first action of extra
    time opened with '후반전이 시작됩니다.'); the end of an extra-time period names it."""
    batch = korean_batch()
    first = replace(_opening(batch), period_id=period)
    played = replace(
        new_story(batch.match_info), actions=900,
        recent=(MinuteBucket(period - 1, 90, 1, 10, 3),),
    )  # fmt: skip
    moment = moment_before(first, played)
    assert moment is not None
    for game in range(6):  # every sentence of the bank (the hash picks one per match)
        action = replace(first, game_id=first.game_id + game)
        text = write_moment(replace(moment, action=action), persona, batch.match_info).description
        assert said in text and not_said not in text.replace(said, ""), text
    if period in (3, 4):
        end = replace(korean_batch(), close_reason="period_end", period_id=period)
        ended = moment_after(replace(end, actions=(*end.actions[:-1], first)))
        assert ended is not None
        text = write_moment(ended, persona, batch.match_info).description
        assert said in text, text


_STARTS = {"kick_off": 1, "second_half": 2, "extra_first_half": 3, "extra_second_half": 4,
           "shoot_out": 5}  # fmt: skip
_ENDS = {"half_time": 1, "second_half_end": 2, "period_end": 3, "shoot_out_end": 5,
         "full_time": 2}  # fmt: skip


@pytest.mark.parametrize("supports", ["", "울산 HD", "전북 현대"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("kind", [*_STARTS, *_ENDS])
def test_every_moment_phrasing_passes_the_eval_checks(
    kind: str, persona: str, supports: str
) -> None:
    """Every sentence of every moment bank (a backing FRIEND's too), as `pitchcast eval`
    judges moment lines: the score by team, the period it names, particles, wording and
    register."""
    from pitchcast.checks.claims import LineFacts, check_claims, check_period
    from pitchcast.checks.particles import check_particles
    from pitchcast.commentary.template.moments import Moment

    info = korean_match_info()
    teams = (str(info.home_team_name_ko), str(info.away_team_name_ko))
    place = "before" if kind in _STARTS else "after"
    period = _STARTS.get(kind) or _ENDS[kind]
    score = Score(0, 0) if kind == "kick_off" else Score(2, 1)
    story = replace(new_story(info), score=score)
    texts = set()
    for game_id in range(200):  # the bank's sentence is chosen by a hash of the game
        action = replace(korean_batch().actions[0], game_id=game_id, period_id=period)
        moment = Moment(kind, place, action, score)  # type: ignore[arg-type]
        texts.add(write_moment(moment, persona, info, supports).description)
    assert texts
    for text in texts:
        facts = LineFacts(action, story, story, (teams[0],), (teams[1],))
        errors = check_claims(text, facts).errors + check_period(text, facts).errors
        assert errors == [], text
        assert check_particles(text, teams).errors == [], text
        assert find_wording(text, None, names=teams) == [], text
        assert register_slips(text, persona, names=teams) == [], text


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("supports", ["", "울산 HD", "전북 현대"])
@pytest.mark.parametrize("game", range(12))
def test_the_two_ends_of_extra_time_are_told_in_two_sentences(
    persona: str, supports: str, game: int
) -> None:
    """Extra time's first and second half end a few lines apart (3 at `key` in the rare
    cup match), at the same score when nobody scored: the phrasing was a hash of the
    period, so FRIEND said '연장 전반 끝! 지금 광주FC 1, 강원 FC 1 스코어야.' and then
    '연장 후반 끝! 지금 …' (a backing FRIEND's bank had one sentence a standing)."""
    from pitchcast.checks.shapes import line_shapes

    info = replace(korean_match_info(), game_id=game)
    texts = []
    for period in (3, 4):
        batch = replace(korean_batch(), close_reason="period_end", period_id=period)
        batch = replace(
            batch,
            score=Score(1, 1),
            actions=tuple(replace(a, period_id=period, game_id=game) for a in batch.actions),
        )
        moment = moment_after(batch)
        assert moment is not None and moment.kind == "period_end"
        texts.append(write_moment(moment, persona, info, supports).description)
    names = (info.home_team_name or "", info.away_team_name or "")
    first, second = (set(line_shapes(t, names)) for t in texts)
    assert not first & second, texts
