"""The phrasebook: the shipped one loads, and every mistake names its entry."""

from __future__ import annotations

import math
import re
from importlib import resources

import pytest

from pitchcast.checks.particles import check_particles
from pitchcast.checks.register import register_slips
from pitchcast.checks.wording import find_wording
from pitchcast.commentary.template import writer as template_module
from pitchcast.commentary.template.actions import ACTION_KINDS, direction, zone
from pitchcast.commentary.template.phrasebook import (
    ALWAYS_SLOTS,
    STORY_SECTIONS,
    Phrase,
    PhrasebookError,
    load_phrasebook,
    parse_phrasebook,
    phrasebook,
    sentence_shapes,
)
from pitchcast.settings import PERSONAS

SHIPPED = (
    resources.files("pitchcast.commentary.template").joinpath("phrasebook.toml").read_text("utf-8")
)


def _without(text: str, header: str) -> str:
    """``text`` without the section ``[header]`` (up to the next section)."""
    pattern = re.compile(rf"^\[{re.escape(header)}\]\n(?:(?!\[).*\n|\n)*", re.MULTILINE)
    assert pattern.search(text), header
    return pattern.sub("", text, count=1)


def _in_section(text: str, header: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` inside section ``[header]`` replaced by ``new``."""
    start = text.index(f"[{header}]\n")
    end = text.find("\n[", start + 1)
    end = len(text) if end < 0 else end
    block = text[start:end]
    assert old in block, (header, old)
    return text[:start] + block.replace(old, new, 1) + text[end:]


def _error(text: str) -> str:
    with pytest.raises(PhrasebookError) as caught:
        parse_phrasebook(text)
    return str(caught.value)


def test_shipped_phrasebook_loads_once_with_every_kind_and_persona() -> None:
    """The packaged file is valid: every kind and story section, in all three voices."""
    book = phrasebook()
    assert book is phrasebook()  # loaded once
    assert set(book.kinds) == set(ACTION_KINDS)
    assert set(book.story) == set(STORY_SECTIONS)
    for bank in (*book.kinds.values(), *book.story.values()):
        assert set(bank) == set(PERSONAS)
    assert load_phrasebook() == book


def test_frequent_kinds_have_large_banks() -> None:
    """The kinds that make most lines have the positions the repetition targets need."""
    book = phrasebook()
    minimum = {"received": 24, "pass_side": 16, "carry": 16, "pass_forward": 14, "pass_back": 14}
    minimum |= {"pass_fail": 10, "interception": 8, "recovery": 8, "duel_won": 8, "duel_lost": 8}
    for kind, size in minimum.items():
        for persona in PERSONAS:
            assert len(book.lines(kind, persona)) >= size, (kind, persona)


def test_every_story_sentence_renders_within_the_line_limit() -> None:
    """Story sentences format with plausible values and stay short enough to add to a line."""
    raw = {
        "선수": "Player 10",
        "팀": "울산 HD FC",
        "시간": "후반 90+4분",
        "골순서": "두 번째",
        "개인골순서": "세 번째",
        "앞골시간": "전반 45+2분",
        "슈팅순서": "열한 번째",
        "득점수": "두 골",
        "앞경고시간": "전반 12분",
        "경고순서": "세 번째",
        # moment_* sections (kick-off, half-time, full time): whole lines of their own.
        "홈팀": "울산 HD FC",
        "원정팀": "포항 스틸러스",
        "홈득점": "2",
        "원정득점": "10",
        "피리어드": "연장 전반",
    }
    values = {slot: template_module._Slot(value) for slot, value in raw.items()}
    for section, bank in phrasebook().story.items():
        for persona, lines in bank.items():
            for phrase in lines:
                text = phrase.text.format_map(values)
                assert "{" not in text and len(text) <= 60, (section, persona, text)


def test_slot_names_are_documented_at_the_top_of_the_file() -> None:
    """An editor finds every slot explained in the file's header comment."""
    header = SHIPPED.split("[voice.CASTER]")[0]
    for slot in ALWAYS_SLOTS | {"팀", "거리", "방향", "앞선수", "스코어", "상황"}:
        assert "{" + slot + "}" in header, slot


def _without_kind(text: str, kind: str) -> str:
    for header in (kind, *(f"{kind}.{persona}" for persona in PERSONAS)):
        text = _without(text, header)
    return text


def _lines_of(text: str, header: str, lines: str) -> str:
    """``text`` with the lines of ``[header]`` replaced by the TOML array ``lines``."""
    pattern = rf"(\[{re.escape(header)}\]\n(?:tone = .*\n)?lines = )\[[^\]]*\]"
    return re.sub(pattern, lambda m: m.group(1) + lines, text, count=1)


_FIRST_RECEIVED = "{선수:이/가} 공을 받습니다."
_SECOND_SIDE_PASS = "짧은 횡패스, {선수:이/가} 옆 동료에게 내주죠."
MISTAKES = [
    pytest.param(
        lambda t: _in_section(t, "received.CASTER", _FIRST_RECEIVED, "{선슈} 받음."),
        r"\[received.CASTER\] lines\[0\] .*unknown slot \{선슈\}",
        id="unknown-slot",
    ),
    pytest.param(
        lambda t: _in_section(t, "pass_side.CASTER", _SECOND_SIDE_PASS, "{앞선수} 패스."),
        r"\[pass_side.CASTER\] lines\[1\] .*unknown slot \{앞선수\} here",
        id="slot-of-another-kind",
    ),
    pytest.param(
        lambda t: _without(t, "received.FRIEND"),
        r"missing \[received.FRIEND\]",
        id="missing-persona",
    ),
    pytest.param(
        lambda t: _without_kind(t, "offside"),
        r"missing \[offside\]",
        id="missing-kind",
    ),
    pytest.param(
        lambda t: _lines_of(t, "pause.ANALYST", "[]"),
        r"\[pause.ANALYST\] has no lines",
        id="empty-kind",
    ),
    pytest.param(
        lambda t: _in_section(t, "goal.CASTER", 'tone = "excited"', 'tone = "happy"'),
        r"\[goal.CASTER\] tone 'happy' is not one of excited, tense",
        id="bad-tone",
    ),
    pytest.param(
        lambda t: _in_section(t, "voice.FRIEND", '"playful"', '"joyful"'),
        r"\[voice.FRIEND\] tone 'joyful'",
        id="bad-voice-tone",
    ),
    pytest.param(
        lambda t: t + '\n[recieved]\nabout = "typo"\n',
        r"unknown section \[recieved\]",
        id="unknown-section",
    ),
    pytest.param(
        lambda t: _in_section(t, "catch.ANALYST", "lines = [", 'tones = "calm"\nlines = ['),
        r"\[catch.ANALYST\]: unknown key 'tones'",
        id="unknown-key",
    ),
    pytest.param(
        lambda t: _in_section(t, "foul.CASTER", "{선수}의 파울이", "{선수:이/를} 파울이"),
        r"\[foul.CASTER\] lines\[0\] .*unknown particle '이/를'",
        id="bad-particle",
    ),
    pytest.param(
        lambda t: _in_section(t, "foul.CASTER", "{선수}의 파울이", "{선수의 파울이"),
        r"\[foul.CASTER\] lines\[0\] .*braces do not pair up",
        id="unpaired-brace",
    ),
    pytest.param(
        lambda t: _in_section(t, "foul.CASTER", "{선수}의 파울이", "{0}의 파울이"),
        r"\[foul.CASTER\] lines\[0\] .*\{0\} is not a slot",
        id="positional-field",
    ),
    pytest.param(
        lambda t: _in_section(t, "pass_side.CASTER", _SECOND_SIDE_PASS, _FIRST_RECEIVED),
        r"the sentence '\{N\}이/가 공을 받습니다' is also in \[(received|pass_side).CASTER\] lines",
        id="repeated-line",
    ),
    pytest.param(
        lambda t: _in_section(
            t,
            "pass_forward.CASTER",
            "앞으로 한 칸 전진, {선수}의 패스입니다.",
            "앞으로 한 칸 전진합니다. {선수}의 백패스입니다.",
        ),
        r"\[pass_back.CASTER\] lines\[5\] .*the sentence '\{N\}의 백패스입니다' is also in"
        r" \[pass_forward.CASTER\] lines\[5\]",
        id="shared-sentence",
    ),
    pytest.param(
        lambda t: _in_section(t, "pass_long.FRIEND", "길게 뻥, {선수}!", "길게 뻥! {선수}."),
        r"\[pass_long.FRIEND\] lines\[0\]\[1\] .*a sentence that is only a name",
        id="name-alone",
    ),
    pytest.param(
        lambda t: _in_section(
            t, "score_state.CASTER", "경기는 다시 동점이 됩니다!", "{득점팀:이/가} 앞서 나갑니다!"
        ),
        r"\[score_state.CASTER\] level\[1\] .*is also in \[score_state.CASTER\] lead\[0\]",
        id="score-state-sentence",
    ),
    pytest.param(
        lambda t: _in_section(t, "goal.ANALYST", " 스코어 {스코어}.", "."),
        r"\[goal.ANALYST\] lines\[0\] .*every line here needs \{스코어\}",
        id="goal-without-score",
    ),
    pytest.param(
        lambda t: _lines_of(t, "pause.CASTER", '["{팀:이/가} 잠시 멈춥니다."]'),
        r"\[pause.CASTER\]: at least one line must use only the always-filled slots",
        id="no-always-usable-line",
    ),
    pytest.param(
        lambda t: _in_section(t, "story_pressure.CASTER", "{팀:이/가} 최근", "{구역}에서 최근"),
        r"\[story_pressure.CASTER\] lines\[0\] .*unknown slot \{구역\}",
        id="story-slot",
    ),
    pytest.param(
        lambda t: _in_section(t, "score_state.ANALYST", "level = [", "draw = ["),
        r"\[score_state.ANALYST\]: unknown key 'draw'",
        id="score-state-key",
    ),
    pytest.param(
        lambda t: _in_section(t, "received.CASTER", f'"{_FIRST_RECEIVED}",', "[],"),
        r"\[received.CASTER\] lines\[0\]: an empty \[ \]",
        id="empty-twin",
    ),
    pytest.param(
        lambda t: t.replace("[backing.yellow]", "[backing.yelow]", 1),
        r"\[backing.yelow\]: unknown kind 'yelow'",
        id="backing-unknown-kind",
    ),
    pytest.param(
        lambda t: _without(t, "backing.red.theirs"),
        r"missing \[backing.red.theirs\]",
        id="backing-side-missing",
    ),
    pytest.param(
        lambda t: _lines_of(t, "backing.goal.ours", '["{선수} 골이야, 우리 골!"]'),
        r"\[backing.goal.ours\] lines\[0\] .*every line here needs \{스코어\}",
        id="backing-goal-without-score",
    ),
    pytest.param(
        lambda t: _lines_of(t, "backing.shot_off.theirs", '["{선수} 슛, 아 빗나갔다!"]'),
        r"\[backing.shot_off.theirs\] lines\[0\] .*also in \[shot_off.FRIEND\]",
        id="backing-repeats-a-friend-sentence",
    ),
    pytest.param(
        lambda t: _in_section(t, "moment_full_time.FRIEND", '  "경기 끝났다!",\n', ""),
        r"\[moment_full_time.FRIEND\] needs a line without \{홈팀\}, \{원정팀\} and the score",
        id="moment-bank-names-the-teams-in-every-line",
    ),
    pytest.param(
        lambda t: _in_section(t, "foul.CASTER", "{선수}의 파울이", "{선수}가 범한 파울이"),
        r"\[foul.CASTER\] lines\[0\] .*\{선수\} then '가': .*write \{선수:이/가\}",
        id="bare-particle-after-a-slot",
    ),
    pytest.param(
        # "하프스페이스이죠": a copula ending alternates too (found in the shipped book).
        lambda t: _in_section(t, "pass_long.ANALYST", "{거리:이죠/죠}.", "{거리}이죠."),
        r"\[pass_long.ANALYST\] lines\[\d+\] .*\{거리\} then '이죠': .*\{거리:이죠/죠\}",
        id="bare-copula-after-a-slot",
    ),
    pytest.param(
        lambda t: t.replace("[voice.CASTER]", "[voice.CASTER", 1),
        r"not valid TOML",
        id="not-toml",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), MISTAKES)
def test_mistakes_are_reported_with_the_entry(mutate: object, expected: str) -> None:
    """Each kind of mistake raises PhrasebookError naming the section, line and problem."""
    text = mutate(SHIPPED)  # type: ignore[operator]
    assert text != SHIPPED
    message = _error(text)
    assert re.search(expected, message), message


def test_twins_of_one_position_may_share_a_sentence() -> None:
    """Only one twin is said per action, so twins may share a sentence; the shipped book
    does (a position's twins differ in how they open, not in how they end)."""
    bank = phrasebook().lines("pass_back", "CASTER")
    shared = [
        position
        for position in bank
        if len(position) > 1
        and set(sentence_shapes(position[0])) & set(sentence_shapes(position[1]))
    ]
    assert shared


def test_score_states_rotate_goal_after_goal() -> None:
    """Each score state has more than one sentence, so two goals in a row differ."""
    for persona, states in phrasebook().score_states.items():
        for state, sentences in states.items():
            assert len(sentences) >= 2, (persona, state)


def test_twins_are_tried_in_order() -> None:
    """A list of sentences is one rotation position: its sentences are its alternatives."""
    bank = phrasebook().lines("received", "CASTER")
    twins = [position for position in bank if len(position) > 1]
    assert twins
    for position in twins:
        assert all(p.entry.endswith(f"[{i}]") for i, p in enumerate(position))


# --- Claims the data cannot support (issue 16, item 2) ---------------------------------------

# The action type each kind is written for, where the lexicon allows a word only at some
# types (regret and aim at a chance): any other kind is checked as a plain pass.
_CHANCE_KIND_TYPES = {
    "shot": "Shot", "goal_miss": "Goal Miss", "goal_post": "Goal Post", "goal": "Goal",
    "own_goal": "Own Goal", "cross": "Cross", "corner": "Pass_Corner", "offside": "Offside",
    "catch": "Catch", "parry": "Parry", "block": "Block", "story_shot": "Shot",
    "story_goal": "Goal", "hit": "Hit", "deflection": "Deflection",
}  # fmt: skip


def _type_of(section: str) -> str:
    for prefix, type_name in sorted(_CHANCE_KIND_TYPES.items(), key=lambda kv: -len(kv[0])):
        if section.startswith(prefix):
            return type_name
    return "Pass"


def _every_phrase() -> list[tuple[str, Phrase]]:
    """(type it is written for, phrase) of every variant: kinds, twins, score states, story."""
    book = phrasebook()
    out = [
        (_type_of(kind), phrase)
        for kind, personas in book.kinds.items()
        for slots in personas.values()
        for slot in slots
        for phrase in slot
    ]
    for states in book.score_states.values():
        out += [("Goal", phrase) for phrases in states.values() for phrase in phrases]
    for section, personas in book.story.items():
        out += [(_type_of(section), p) for phrases in personas.values() for p in phrases]
    for kind, sides in book.backing.items():  # a FRIEND backing a team: its own reactions
        out += [(_type_of(kind), p) for bank in sides.values() for slot in bank for p in slot]
    for states in book.backing_moments.values():  # ... and its end-of-period lines
        out += [("Pass", p) for phrases in states.values() for p in phrases]
    return out


def test_no_phrasebook_line_claims_what_the_data_cannot_show() -> None:
    """Every variant passes the wording lexicon (pitchcast/checks/wording.toml) at its kind:
    no gesture, feeling, intent, reading of the play, manner, unbacked judgement, cause or
    off-ball play, no regret but at a chance, and none of the known mistakes."""
    phrases = _every_phrase()
    assert len(phrases) > 1400
    found = [
        f"{phrase.entry} {phrase.text}: {', '.join(f'{f.kind} {f.matched!r}' for f in findings)}"
        for type_name, phrase in phrases
        if (findings := find_wording(phrase.text, type_name))
    ]
    assert found == []


def test_the_lexicon_would_catch_a_planted_claim() -> None:
    """The sweep above is not vacuous: a planted line of each kind is caught at a pass."""
    for planted in ("{선수:이/가} 길목을 읽고 차단합니다.", "과감한 전진, {선수}!",
                    "{선수}의 현명한 판단이죠.", "아쉽네요, {선수}의 패스."):  # fmt: skip
        assert find_wording(planted, "Pass"), planted
    # How an own goal went in is not in the data; a ball off a body is, at a Hit.
    planted = "자책골! {선수}의 몸에 맞고 들어갑니다."
    assert [f.kind for f in find_wording(planted, "Own Goal")] == ["unsupported.contact"]
    assert find_wording("{선수}의 몸에 맞습니다.", "Hit") == []


def test_a_backing_friend_has_banks_for_goals_shots_and_cards() -> None:
    """Both sides of every backed kind, in FRIEND's register; kinds the code knows."""
    backing = phrasebook().backing
    expected = {
        "goal", "goal_plain", "own_goal", "own_goal_plain", "shot_goal", "shot_on",
        "shot_off", "shot_blocked", "goal_post", "yellow", "second_yellow", "red",
        "penalty_goal", "penalty_saved", "penalty_missed",
    }  # fmt: skip
    assert set(backing) == expected
    for kind, sides in backing.items():
        assert set(sides) == {"ours", "theirs"}, kind
        for bank in sides.values():
            assert len(bank) >= 3, kind
            for phrase in (p for slot in bank for p in slot):
                assert register_slips(phrase.text, "FRIEND") == [], phrase.entry


def test_a_backing_friend_ends_every_period_whatever_the_standing() -> None:
    """Half-time, the end of the second half, of an extra-time period and full time: a
    sentence at least for ahead, level and behind, in FRIEND's register."""
    moments = phrasebook().backing_moments
    assert set(moments) == {"half_time", "second_half_end", "period_end", "full_time"}
    for moment, states in moments.items():
        assert set(states) == {"ahead", "level", "behind"}, moment
        for phrase in (p for phrases in states.values() for p in phrases):
            assert register_slips(phrase.text, "FRIEND") == [], phrase.entry


# --- Particles after every slot, whatever fills it (s20) ------------------------------------

# Values of each kind of ending a slot may take: names ending in a vowel, ㄹ, another
# consonant, a digit, a Latin letter, with a space; every zone and direction; digits.
_NAMES = (
    "손흥민", "세징야", "홍철", "Kim 2", "Lee 10", "Park 1", "Kim", "Jesse 린가드",
    "대전 하나시티즌", "부천FC1995", "FC서울", "K리그1", "울산 HD",
)  # fmt: skip
_ZONES = tuple(
    sorted(
        {
            zone(x, y, tactical, casual=casual)
            for x in (3.0, 10.0, 30.0, 60.0, 80.0, 95.0, 102.0)
            for y in (5.0, 20.0, 34.0, 48.0, 63.0)
            for tactical, casual in ((False, False), (True, False), (False, True))
        }
    )
)
_DIRECTIONS = tuple(
    sorted(
        {
            direction(math.cos(a / 10), math.sin(a / 10), tactical, casual=casual)
            for a in range(63)
            for tactical, casual in ((False, False), (True, False), (False, True))
        }
    )
)
_ORDINALS = ("두 번째", "세 번째", "열한 번째")
_MINUTES = ("전반 12분", "후반 45+2분", "연장 전반 91분")
_GOALS = ("0", "1", "2", "3", "4", "5", "7", "10")
_POOLS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("선수", "앞선수", "팀", "홈팀", "원정팀", "득점팀", "우리팀"), _NAMES),
    "상대팀": _NAMES,
    **dict.fromkeys(("구역", "도착구역"), _ZONES),
    "방향": _DIRECTIONS,
    **dict.fromkeys(("시간", "앞골시간", "앞경고시간"), _MINUTES),
    **dict.fromkeys(("골순서", "개인골순서", "슈팅순서", "경고순서"), _ORDINALS),
    **dict.fromkeys(("홈득점", "원정득점", "우리득점", "상대득점"), _GOALS),
    **dict.fromkeys(("골차", "득점수"), ("한 골", "두 골", "세 골")),
    "거리": ("7m", "18m", "37m"),
    "라인": ("골라인", "터치라인", "라인"),
    "슈팅": ("슈팅", "프리킥 슈팅", "페널티킥"),
    "반칙": ("파울", "핸드볼 반칙"),
    "동작": ("Shield", "Bad Touch", "Dispossessed"),
    "스코어": ("대전 하나시티즌 2 : 1 부천FC1995", "FC서울 0 : 3 K리그1"),
    "상황": ("앞서 나갑니다.",),
    "피리어드": ("후반전", "연장 전반", "연장 후반", "승부차기"),
}


def _renderings(phrase: Phrase) -> list[tuple[str, list[str]]]:
    """``phrase`` filled with every value of its slots' pools (in step), and the words
    put in (the names the particle check reads the end of)."""
    pools = {name: _POOLS[name] for name in phrase.fields}
    out = []
    for i in range(max((len(p) for p in pools.values()), default=1)):
        values = {name: pool[i % len(pool)] for name, pool in pools.items()}
        text = phrase.text.format_map({k: template_module._Slot(v) for k, v in values.items()})
        out.append((text, [v for v in values.values() if not v.isdigit()]))
    return out


def test_every_phrasing_takes_the_right_particle_after_whatever_fills_its_slots() -> None:
    """A particle written right after a slot (``{선수}죠``, ``{구역}이었습니다``) is
    right for one kind of ending only: each phrasing, filled with names ending in a
    vowel, ㄹ, a consonant, a digit and a Latin letter, every zone, direction and score,
    passes the particle check (pitchcast/checks/particles.py). Write ``{선수:이죠/죠}``."""
    assert set(_POOLS) >= {s for _, p in _every_phrase() for s in p.fields}
    found = sorted(
        {
            f"{phrase.entry} {phrase.text}: {error.describe()}"
            for _, phrase in _every_phrase()
            for text, words in _renderings(phrase)
            for error in check_particles(text, words).errors
        }
    )
    assert found == []


def test_the_particle_sweep_would_catch_a_planted_slip() -> None:
    """Not vacuous: a particle written for vowel-final names only is caught."""
    planted = Phrase("보낸 쪽은 {선수}죠.", frozenset({"선수"}), "", "보낸", "planted")
    renderings = _renderings(planted)
    errors = [e for text, words in renderings for e in check_particles(text, words).errors]
    assert {e.word for e in errors} >= {"손흥민", "홍철", "Lee 10"}


def test_key_events_have_a_sentence_each_in_a_busy_match() -> None:
    """A fan remembers the call of each goal and card: in a 3-2 match with seven cautions
    (K League matches often have five to eight) no goal, scoring shot, caution or team's
    n-th caution takes a sentence an earlier one took (s20: FRIEND's fourth caution of
    the Korean sample repeated the first, '조심해야겠다'; the fourth goal the first)."""
    book = phrasebook()
    minimum = {"goal": 5, "shot_goal": 5, "yellow": 7}
    for kind, size in minimum.items():
        for persona in PERSONAS:
            assert len(book.lines(kind, persona)) >= size, (kind, persona)
    # A team pressing is said at most every 25 actions, its sentence chosen by the
    # action count: with three, the Korean sample said '최근 몇 분은 수원 삼성의 흐름이죠.'
    # at 60' and again at 67'.
    sections = {"story_goal_nth": 4, "story_card_team": 4, "story_pressure": 6}
    for section, size in sections.items():
        for persona in PERSONAS:
            assert len(book.story[section][persona]) >= size, (section, persona)


# The words of the ball going in: the shot line before a Goal row says them.
_BALL_IN = re.compile(r"골망|들어가|들어갔|들어갑|골문을\s*엽|골문 안|마무리")


def _bank_texts(kinds: tuple[str, ...], *, backing: tuple[str, ...]) -> list[tuple[str, str]]:
    """(where, text) of every phrasing of ``kinds``' banks in each persona and of the
    backing FRIEND's banks of ``backing``, on either side."""
    book = phrasebook()
    texts = [
        (f"{kind}.{persona}", phrase.text)
        for kind in kinds
        for persona, slots in book.kinds[kind].items()
        for slot in slots
        for phrase in slot
    ]
    texts += [
        (f"backing.{kind}.{side}", phrase.text)
        for kind in backing
        for side, bank in book.backing.get(kind, {}).items()
        for slot in bank
        for phrase in slot
    ]
    return texts


def test_a_goal_row_does_not_tell_the_ball_going_in_again() -> None:
    """A goal is two rows, the shot (result Goal) and the Goal row, told in two lines
    one after the other: the shot's line says the ball went in ('그대로 골망을
    가릅니다', '들어갔다!!'), so the Goal row's line tells the goal (minute, scorer,
    score) without seeing the ball in again: sample match 1 read 'Player10의 발을 떠난
    공이 골문 안으로 들어갑니다!' and then '들어갑니다! 후반 57분, Player10이 골문을
    엽니다!', ANALYST 'Player10이 슈팅을 득점으로 완성하죠.' and then '후반 57분,
    Player10이 골로 마무리하죠.'."""
    goal_rows = _bank_texts(("goal", "goal_plain"), backing=("goal", "goal_plain"))
    assert len(goal_rows) > 25
    seen = [f"{where}: {text}" for where, text in goal_rows if _BALL_IN.search(text)]
    assert seen == []


_STOPPED = re.compile(r"막|선방|정면|지켜|걸[렸립리]|잡았|잡아|처리|뻔|키퍼 잘")


def test_a_saved_shot_is_told_as_saved_and_never_into_the_goal() -> None:
    """A shot on target that is no goal was stopped: its save is told with the shot (the
    keeper's row is silent), so the shot's line must say so, and never that it went
    '골문 안으로' (sample match 1 at key: 'Player8이 때린 슈팅이 골문 안으로
    향하네요!', read as a goal; ANALYST '유효 슈팅으로 이어져요' said nothing of the
    save)."""
    lines = _bank_texts(("shot_on", "penalty_saved"), backing=("shot_on",))
    wrong = [f"{w}: {t}" for w, t in lines if "골문 안" in t or not _STOPPED.search(t)]
    assert wrong == []
