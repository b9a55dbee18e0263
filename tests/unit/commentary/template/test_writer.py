"""The template writer: one grammatical Korean line per action, in three voices, never failing.

Split by topic: the sample matches (``test_writer_samples.py``), a FRIEND who backs a team
(``test_writer_backing.py``), repetition (``test_writer_repetition.py``); the backend in
``tests/unit/commentary/backends/test_template.py``."""

from __future__ import annotations

import logging
import random
import re
from dataclasses import replace

import pytest

from pitchcast.commentary.template import (
    MAX_DESCRIPTION_CHARS,
    write_template_commentary,
    write_template_rows,
)
from pitchcast.commentary.template import actions as actions_module
from pitchcast.commentary.template import writer as template_module
from pitchcast.commentary.template.phrasebook import phrasebook
from pitchcast.schemas.records import TONES, Action, Score
from pitchcast.schemas.vocabulary import RESULT_NAMES, TYPE_NAMES
from pitchcast.settings import PERSONAS, Persona
from tests.support.template_writer import (
    INFO,
    KOREAN_PLAYERS,
    STATED_SCORE,
    assert_same_lines_in_other_processes,
    check_items,
    line_action,
    line_batch,
    match_infos,
    sample_match_batches,
)

ALL_PAIRS = [(t, r) for t in sorted(TYPE_NAMES) for r in [None, *sorted(RESULT_NAMES)]]

# The official type/result pairs of the K League event sheet (data/PROVENANCE.md).
_TWO_WAY = {
    "Pass", "Cross", "Pass_Freekick", "Pass_Corner", "Goal Kick", "Throw-In", "Duel",
    "Tackle", "Take-On", "Aerial Clearance",
}  # fmt: skip
_SHOTS = {"Shot", "Shot_Freekick", "Penalty Kick"}
_SHOT_RESULTS = {
    "Off Target",
    "On Target",
    "Blocked",
    "Goal",
    "Low Quality Shot",
    "Keeper Rush-Out",
}
_CARDS = {"Yellow_Card", "Second_Yellow_Card", "Direct_Red_Card"}


def _official(type_name: str, result: str | None) -> bool:
    if type_name in _TWO_WAY:
        return result in ("Successful", "Unsuccessful")
    if type_name in _SHOTS:
        return result in _SHOT_RESULTS
    if type_name == "Foul":
        return result is None or result in _CARDS
    return result is None


def test_vocabularies_are_the_k_league_ones() -> None:
    """The test covers the 37 type names and 11 result names of the K League data."""
    assert len(TYPE_NAMES) == 37
    assert len(RESULT_NAMES) == 11
    assert len(ALL_PAIRS) == 37 * 12


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_type_and_result_pair_gets_a_line(persona: Persona) -> None:
    """Every type_name x result_name pair (and no result) is described, valid, in one batch."""
    actions = [line_action(i, type_name=t, result_name=r) for i, (t, r) in enumerate(ALL_PAIRS)]
    batch = line_batch(actions)
    items = write_template_commentary(batch, persona)
    check_items(batch, items)
    for (type_name, result), item in zip(ALL_PAIRS, items, strict=True):
        assert "{" not in item.description and "}" not in item.description
        note = "(기록:" in item.description
        if _official(type_name, result):
            assert not note, (type_name, result, item.description)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("type_name", sorted(TYPE_NAMES))
@pytest.mark.parametrize("result", [None, *sorted(RESULT_NAMES)])
def test_each_pair_alone_is_described(persona: Persona, type_name: str, result: str | None) -> None:
    """Each pair also reads well on its own (first line of a batch, no neighbours)."""
    batch = line_batch([line_action(5, type_name=type_name, result_name=result)], score=Score(1, 0))
    (item,) = write_template_commentary(batch, persona)
    check_items(batch, [item])
    if type_name not in ("Out", "Pause"):  # lines about the ball or the referee
        assert "손흥민" in item.description or "울산 HD FC" in item.description


@pytest.mark.parametrize(
    ("type_name", "result", "note"),
    [
        ("Pass", "Yellow_Card", "(기록: 경고)"),
        ("Clearance", "Unsuccessful", "(기록: 실패)"),
        ("Goal Kick", "On Target", "(기록: 유효 슈팅)"),
        ("Pass", "Mystery Result", "(기록: Mystery Result)"),
    ],
)
def test_unusual_results_are_noted(type_name: str, result: str, note: str) -> None:
    """A result the type does not usually carry is kept as a note, unknown ones as raw text."""
    batch = line_batch([line_action(type_name=type_name, result_name=result)])
    for persona in PERSONAS:
        (item,) = write_template_commentary(batch, persona)
        assert item.description.endswith(note)


@pytest.mark.parametrize("persona", PERSONAS)
def test_unknown_type_passes_through_as_text(persona: Persona) -> None:
    """A type outside the vocabulary is named with its own text."""
    batch = line_batch([line_action(type_name="Backheel Flick", result_name="Weird")])
    (item,) = write_template_commentary(batch, persona)
    assert "Backheel Flick" in item.description
    assert "Weird" in item.description
    assert item.tone in TONES


# --- Tones and voices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "result", "caster", "analyst", "friend"),
    [
        ("Goal", None, "excited", "excited", "excited"),
        ("Shot", "Goal", "excited", "excited", "excited"),
        ("Shot", "On Target", "tense", "analytical", "tense"),
        ("Shot", "Off Target", "disappointed", "analytical", "disappointed"),
        ("Foul", None, "tense", "analytical", "disappointed"),
        ("Foul", "Yellow_Card", "tense", "analytical", "tense"),
        ("Foul", "Direct_Red_Card", "tense", "analytical", "disappointed"),
        ("Pass", "Successful", "calm", "analytical", "playful"),
        # A ball lost in midfield is routine for a neutral voice (issue 16; tone.py).
        ("Pass", "Unsuccessful", "calm", "analytical", "playful"),
        # A goal for the other side (issue 16), not the scorer's disappointment.
        ("Own Goal", None, "excited", "excited", "excited"),
    ],
)
def test_tone_follows_the_event_and_the_persona(
    type_name: str, result: str | None, caster: str, analyst: str, friend: str
) -> None:
    """Goals are excited, shots and fouls tense, routine passes calm; ANALYST is analytical
    but at a goal. The situation's part is tested in test_tone.py."""
    batch = line_batch([line_action(type_name=type_name, result_name=result)], score=Score(1, 0))
    tones = [write_template_commentary(batch, p)[0].tone for p in ("CASTER", "ANALYST", "FRIEND")]
    assert tones == [caster, analyst, friend]


# --- Names, text and odd input ------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_missing_names_fall_back(persona: Persona) -> None:
    """No player name: the team's player (the team from the match info); nothing at all:
    선수. A player id is never read out as a shirt number."""
    nameless = line_action(type_name="Shot", result_name="On Target", player_name_ko=None)
    no_team = replace(nameless, team_name_ko=None)
    no_id = replace(no_team, player_id=None)
    items = write_template_commentary(line_batch([nameless, no_team, no_id]), persona)
    assert "울산 HD FC 선수" in items[0].description
    assert "울산 HD FC 선수" in items[1].description  # team name from match_info
    assert "울산 HD FC 선수" in items[2].description
    (bare,) = write_template_commentary(line_batch([replace(no_id, team_id=5)], info=None), persona)
    assert "선수" in bare.description


WEIRD_NAMES = [
    "",
    "   ",
    "\x00\x01\x02",
    'O\'Neil "The Wall"',
    "줄\n바꿈\r\n이름",
    "탭\t이름",
    "\u202e역방향\u202c",
    "줄\u2028구분",
    "{p} {0} {zone:이/가} %s",
    "⚽🔥👨‍👩‍👧",
    "王大明",
    "Ä" * 500,
    "손흥민(7)",
    "\ud800외톨이",
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", WEIRD_NAMES)
def test_weird_names_never_break_a_line(persona: Persona, name: str) -> None:
    """Quotes, newlines, control characters, braces, emoji and huge names still give clean lines."""
    actions = [
        line_action(i, type_name=t, result_name=r, player_name_ko=name, team_name_ko=name)
        for i, (t, r) in enumerate(ALL_PAIRS[::7])
    ]
    batch = line_batch(actions, score=Score(2, 0))
    items = write_template_commentary(batch, persona)
    check_items(batch, items)
    if name.startswith("{p}"):
        # taken literally (and cut to 20 characters), never formatted
        assert any("{p} {0} {zone:이/가}…" in i.description for i in items)


@pytest.mark.parametrize("persona", PERSONAS)
def test_odd_numbers_never_break_a_line(persona: Persona) -> None:
    """Non-finite or off-pitch coordinates, extra-time periods and huge clocks are handled."""
    nan, inf = float("nan"), float("inf")
    actions = [
        line_action(0, start_x=nan, start_y=inf, end_x=-inf, end_y=nan, dx=nan, dy=inf),
        line_action(1, start_x=1e9, start_y=-1e9, end_x=1e9, end_y=1e9, type_name="Carry"),
        line_action(2, period_id=3, time_seconds=59.0, type_name="Goal"),
        line_action(3, period_id=4, time_seconds=1e12, type_name="Foul", result_name="Yellow_Card"),
        line_action(4, period_id=5, time_seconds=0.0, type_name="Penalty Kick", result_name="Goal"),
        line_action(5, period_id=9, time_seconds=nan, type_name="Pause", player_id=nan),
        line_action(6, player_id=inf, player_name_ko=None, team_name_ko=None, team_id=-1),
    ]
    batch = line_batch(actions, score=Score(1, 0))
    items = write_template_commentary(batch, persona)
    check_items(batch, items)


@pytest.mark.parametrize(
    ("period", "seconds", "text"),
    [
        (1, 0.0, "전반 1분"),
        (1, 754.0, "전반 13분"),
        (1, 2700.0, "전반 45+1분"),
        (2, 0.0, "후반 1분"),
        (2, 180.0, "후반 4분"),
        (2, 1300.0, "후반 22분"),
        (2, 2699.0, "후반 45분"),
        (2, 2939.0, "후반 45+4분"),
        (3, 60.0, "연장 전반 2분"),
        (3, 950.0, "연장 전반 15+1분"),
        (4, 0.0, "연장 후반 1분"),
        (4, 1000.0, "연장 후반 15+2분"),
        (5, 30.0, "승부차기"),
        (7, 0.0, "7피리어드 1분"),
    ],
)
def test_minute_of_play(period: int, seconds: float, text: str) -> None:
    """The minute being played, counted from the start of its half as Korean broadcasts
    and K League reports count it (후반 22분 is the 67th minute; 후반 48분 would read as
    three minutes into added time), with added time past the half's length (45+4)."""
    assert actions_module.minute_text(period, seconds) == text


@pytest.mark.parametrize(
    ("x", "y", "tactical", "zone"),
    [
        (95.0, 34.0, False, "페널티 박스 중앙"),
        (102.0, 30.0, False, "골문 바로 앞"),
        (80.0, 5.0, False, "상대 진영 오른쪽 측면"),  # y = 0 is the acting team's right
        (80.0, 63.0, False, "상대 진영 왼쪽 측면"),
        (60.0, 34.0, False, "하프라인 너머 중앙"),
        (40.0, 34.0, False, "자기 진영 중앙"),
        (8.0, 34.0, False, "자기 페널티 박스 안"),
        (80.0, 20.0, True, "파이널 서드 우측 하프스페이스"),
        (95.0, 34.0, True, "상대 박스 중앙"),
        (20.0, 66.0, True, "수비 지역 좌측면"),
    ],
)
def test_pitch_zones_for_the_acting_team(x: float, y: float, tactical: bool, zone: str) -> None:
    """Zones read for the team that attacks towards x = 105 with its right flank at y = 0."""
    assert actions_module.zone(x, y, tactical) == zone


@pytest.mark.parametrize(
    ("x", "y", "zone"),
    [
        (95.0, 34.0, "박스 한가운데"),
        (80.0, 34.0, "박스 바로 앞"),
        (80.0, 5.0, "상대 골대 쪽 오른편"),
        (60.0, 63.0, "상대 쪽 왼편"),
        (40.0, 34.0, "자기 쪽 가운데"),
        (8.0, 34.0, "자기 골문 앞"),
    ],
)
def test_a_friend_names_places_in_everyday_words(x: float, y: float, zone: str) -> None:
    """Issue 16: FRIEND's own words for places; the thirds are the plain ones."""
    assert actions_module.zone(x, y, False, casual=True) == zone
    assert actions_module.direction(10.0, 10.0, False, casual=True) == "왼쪽 앞"


@pytest.mark.parametrize(
    ("dx", "dy", "direction"),
    [(20.0, 0.0, "전방"), (10.0, 10.0, "왼쪽 전방"), (0.0, -10.0, "오른쪽"), (-20.0, 1.0, "뒤")],
)
def test_direction_for_the_acting_team(dx: float, dy: float, direction: str) -> None:
    """Positive dx is forward and positive dy is towards the acting team's left touchline."""
    assert actions_module.direction(dx, dy, tactical=False) == direction


def test_every_phrasing_renders_with_both_kinds_of_names() -> None:
    """Each phrasing of each kind and persona formats with consonant- and vowel-final names."""
    book = phrasebook()
    assert set(book.kinds) >= {"goal", "own_goal", "unknown", "received"}
    for kind, bank in book.kinds.items():
        assert set(bank) == set(PERSONAS), kind
        for persona, positions in bank.items():
            assert len(positions) >= 3, (kind, persona)
            options = [phrase for position in positions for phrase in position]
            for name in ("손흥민", "김민재", "FC 서울"):
                slots = {f: template_module._Slot(name) for p in options for f in p.fields}
                for phrase in options:
                    text = phrase.text.format_map(slots)
                    assert "{" not in text and len(text) <= MAX_DESCRIPTION_CHARS


def test_persona_spelled_loosely_falls_back_to_a_voice() -> None:
    """A persona in lower case is understood, an unknown one gets the caster's voice."""
    batch = line_batch([line_action(type_name="Pass", result_name="Successful")])
    lower = write_template_commentary(batch, "friend")  # type: ignore[arg-type]
    assert lower == write_template_commentary(batch, "FRIEND")
    unknown = write_template_commentary(batch, "BOGUS")  # type: ignore[arg-type]
    assert unknown == write_template_commentary(batch, "CASTER")


def test_empty_batch_gives_no_items() -> None:
    """A batch without actions (never closed by the batcher) yields an empty tuple."""
    assert write_template_commentary(line_batch([]), "CASTER") == ()


def test_random_input_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    """Thousands of random actions (names, vocab, numbers, scores) never reach the last resort."""
    rng = random.Random(20261122)
    types = [*sorted(TYPE_NAMES), "Unknown Type", ""]
    results = [None, *sorted(RESULT_NAMES), "Odd", ""]
    names = [None, *KOREAN_PLAYERS, *WEIRD_NAMES, "Player19", "Player 10", "Kim", "K7"]
    numbers = [0.0, 3.5, 52.5, 104.9, 105.0, 68.0, -0.0, float("nan"), float("inf"), 1e12]
    caplog.set_level(logging.WARNING, logger="pitchcast.commentary.template.writer")
    for batch_index in range(300):
        actions = [
            Action(
                game_id=rng.choice([1, 3, 99]),
                action_id=batch_index * 10 + i,
                period_id=rng.choice([1, 2, 3, 4, 5, 6]),
                time_seconds=rng.choice([0.0, 61.0, 2800.0, 1e9]),
                team_id=rng.choice([1, 2, 11, 12, 7]),
                player_id=rng.choice([None, 7.0, float("nan"), 1e20]),
                result_name=rng.choice(results),
                start_x=rng.choice(numbers),
                start_y=rng.choice(numbers),
                end_x=rng.choice(numbers),
                end_y=rng.choice(numbers),
                dx=rng.choice(numbers),
                dy=rng.choice(numbers),
                type_name=rng.choice(types),
                player_name_ko=rng.choice(names),
                team_name_ko=rng.choice(names),
            )
            for i in range(10)
        ]
        score = Score(rng.randint(-1, 4), rng.randint(-1, 4))
        batch = line_batch(actions, score=score, info=rng.choice([INFO, None, match_infos()[1]]))
        for persona in PERSONAS:
            check_items(batch, write_template_commentary(batch, persona))
    assert not caplog.records, [r.getMessage() for r in caplog.records[:3]]


# --- Determinism across processes ----------------------------------------------------------------


def test_output_is_identical_across_processes() -> None:
    """Two interpreters with different hash seeds write the same lines for the same batches."""
    batches = sample_match_batches(1)[:40] + sample_match_batches(3)[-40:]
    assert_same_lines_in_other_processes(batches, ("1", "4242"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_rows_alone_are_the_lines_of_the_whole_batch(persona: Persona) -> None:
    """write_template_rows gives, for any rows, exactly the whole batch's items at them."""
    rng = random.Random(7)
    for game in (1, 3):
        for batch in sample_match_batches(game)[::7]:
            whole = write_template_commentary(batch, persona)
            n = len(batch.actions)
            picks = [[r] for r in range(1, n + 1)] + [rng.sample(range(1, n + 1), min(3, n))]
            for rows in picks:
                written = write_template_rows(batch, persona, rows)
                assert list(written) == sorted(rows)
                assert written == {r: whole[r - 1] for r in rows}
    with pytest.raises(ValueError):
        write_template_rows(sample_match_batches(1)[0], persona, [0])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("player_id", [500101.0, 3577.0, 100.0, 7.0, 7.5, 0.0, -3.0, 1e20])
def test_a_nameless_players_id_is_never_read_out_as_a_shirt_number(
    persona: Persona, player_id: float
) -> None:
    """K League and Metrica player ids are database ids (500101, P3577), and a small id is
    no shirt number either: the feed carries none. The nameless player is the team's."""
    nameless = line_action(type_name="Shot", result_name="On Target", player_name_ko=None)
    (item,) = write_template_commentary(
        line_batch([replace(nameless, player_id=player_id)]), persona
    )
    assert "울산 HD FC 선수" in item.description
    assert "번 선수" not in item.description


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_shoot_out_kick_that_scores_states_no_match_score(persona: Persona) -> None:
    """A shoot-out kick (period 5) is no match goal: its Goal row neither moves the score
    ('스코어 2대 1' after a 1-1 draw) nor counts as the match's n-th goal or a comeback."""
    level = replace(
        line_batch([line_action(0, period_id=5, type_name="Pass")]),
        score=Score(1, 1),
    )
    kick = line_action(
        1,
        period_id=5,
        time_seconds=30.0,
        type_name="Penalty Kick",
        result_name="Goal",
        start_x=94.0,
        end_x=105.0,
    )
    goal = replace(kick, action_id=2, type_name="Goal", result_name=None)
    batch = replace(level, actions=(kick, goal), first_action_id=1, last_action_id=2)
    for item in write_template_commentary(batch, persona):
        assert not STATED_SCORE.search(item.description), item.description
        assert "번째 골" not in item.description and "선제골" not in item.description


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_shoot_out_kick_is_not_told_as_a_players_next_shot(persona: Persona) -> None:
    """A player with a shot in the match who misses his shoot-out kick has not taken his
    second shot of the match: no '두 번째 슈팅' story on the kick."""
    shot = line_action(0, type_name="Shot", result_name="Off Target", start_x=90.0, end_x=105.0)
    kick = line_action(
        1,
        period_id=5,
        time_seconds=30.0,
        type_name="Penalty Kick",
        result_name="Off Target",
        start_x=94.0,
        end_x=105.0,
    )
    batch = replace(line_batch([shot, kick]), first_action_id=0, last_action_id=1)
    _, told = write_template_commentary(batch, persona)
    assert "번째" not in told.description, told.description


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_name_ending_in_a_full_stop_ends_a_sentence_once(persona: Persona) -> None:
    """'박지성 Jr.' at the end of a sentence: one full stop (s20: '옆으로 빼 줬어, 박지성
    Jr..'), and the name's own stop stays inside a sentence ('박지성 Jr.의 패스')."""
    from tests.support.commentary_batches import korean_batch

    batch = korean_batch()
    texts = []
    for action in batch.actions:
        named = replace(action, player_name_ko="박지성 Jr.")
        for offset in range(0, 3000, 7):  # no story: the action id turns the rotation
            moved = replace(named, action_id=named.action_id + offset)
            item = template_module.write_template_line(
                moved, persona, story=None, match_info=batch.match_info, game_id=batch.game_id
            )
            texts.append(item.description)
    assert any("Jr." in t for t in texts)
    assert [t for t in texts if re.search(r"(?<!\.)\.\.(?!\.)", t)] == []


@pytest.mark.parametrize(
    ("persona", "supports"),
    [*((p, "") for p in PERSONAS), ("FRIEND", "1"), ("FRIEND", "2")],
)
@pytest.mark.parametrize("result", ["Goal", "On Target", "Off Target"])
def test_every_penalty_line_says_it_was_a_penalty(
    persona: Persona, supports: str, result: str
) -> None:
    """s21: a penalty's line says 페널티킥 (or PK): '{선수}의 발을 떠난 공이 골문 안으로
    들어갑니다!' or a FRIEND's '와아, {선수:이/가} 넣었어!' never did, whichever game's
    rotation chose them (a backing FRIEND's banks, for either side, too); nor did the shot
    banks' lines without a {슈팅} slot at a penalty saved or missed."""
    missing = []
    for game_id in range(60):
        kick = line_action(
            1, game_id=game_id, type_name="Penalty Kick", result_name=result,
            start_x=94.0, start_y=34.0, end_x=105.0, end_y=35.0, dx=11.0, dy=1.0,
        )  # fmt: skip
        batch = line_batch([kick], info=replace(INFO, game_id=game_id))
        (item,) = write_template_commentary(batch, persona, supports=supports)
        if not re.search("페널티킥|PK", item.description):
            missing.append(item.description)
    assert missing == []
