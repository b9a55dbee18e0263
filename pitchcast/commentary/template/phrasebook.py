"""The template writer's phrasings, loaded from ``phrasebook.toml`` and checked.

The phrasebook is data so that an editor who writes Korean but not Python can add or
fix a phrasing; its format is described at the top of the file itself. This module
reads it once, checks every entry and turns each phrasing into a :class:`Phrase`.
A mistake is a :class:`PhrasebookError` that names the entry (``[received.CASTER]
lines[3]``) and says what is wrong: an unknown section or key, a kind or persona
missing, no lines, a tone that is not one of the six, an unknown slot or one the kind
does not fill, a particle the Korean helpers do not know, a sentence written at two
rotation positions of one persona, a sentence that is only a name. FRIEND's backing
banks (``[backing.<kind>.ours]`` and ``.theirs``, used when it backs a team) follow the
rules of the kind's banks and count as FRIEND's sentences. (Sentences are what
``pitchcast eval`` counts, with its own definition of a sentence shape: a tail sentence
two phrasings share would come back as often as both together.)

Slots are the ``{...}`` groups of a phrasing. Their names are Korean words
(``{선수}``, ``{구역}``); a particle after a name is written as the pair
``{선수:이/가}`` and filled with the right form (``손흥민이``, ``김민재가``).
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from pitchcast.checks.shapes import NAME_MASK, line_shapes
from pitchcast.checks.wording import backing_slips
from pitchcast.commentary.korean import attach_particle, leading_particle, particle_for
from pitchcast.commentary.template.actions import ACTION_KINDS
from pitchcast.exceptions import PhrasebookError
from pitchcast.schemas.records import TONES, Tone
from pitchcast.settings import PERSONAS

__all__ = [
    "ALWAYS_SLOTS",
    "BACKING_MOMENTS",
    "BACKING_PERSONA",
    "BACKING_SIDES",
    "BACKING_STATES",
    "KIND_SLOTS",
    "MOMENT_TEAM_SLOTS",
    "SCORE_STATES",
    "STORY_SECTIONS",
    "Phrase",
    "Phrasebook",
    "PhrasebookError",
    "Slot",
    "load_phrasebook",
    "parse_phrasebook",
    "phrasebook",
    "sentence_shapes",
]

# Slots every action line can use: always filled.
ALWAYS_SLOTS: Final = frozenset(
    {"선수", "구역", "도착구역", "시간", "라인", "슈팅", "반칙", "동작"}
)
# Slots filled only for some actions: a kind's bank needs lines without them too.
#   팀: the acting team (when the player is named and the team known)
#   거리, 방향: how far and where the ball went (when it moved 3 m or more)
_OPTIONAL_SLOTS: Final = frozenset({"팀", "거리", "방향"})
# Slots only some kinds fill, on top of the above.
KIND_SLOTS: Mapping[str, frozenset[str]] = {
    "received": frozenset({"앞선수"}),  # the passer, when the previous action was his pass
    "goal": frozenset({"스코어", "상황"}),  # the score after the goal, and what it means
    "own_goal": frozenset({"스코어", "상황"}),
}
# Kinds whose every line needs their own slots (they exist only when the slot is known).
_REQUIRED: Mapping[str, frozenset[str]] = {
    "goal": frozenset({"스코어"}),
    "own_goal": frozenset({"스코어"}),
}
# FRIEND's backing banks (a FRIEND who backs a team): whose action the line is about.
BACKING_PERSONA: Final = "FRIEND"
BACKING_SIDES: Final = ("ours", "theirs")
# A backing FRIEND's lines at the end of a period: by how its team stands.
BACKING_MOMENTS: Final = ("half_time", "second_half_end", "period_end", "full_time")
BACKING_STATES: Final = ("ahead", "level", "behind")
_BACKING_MOMENT_SLOTS: Final = frozenset(
    {"홈팀", "원정팀", "홈득점", "원정득점", "우리팀", "상대팀", "우리득점", "상대득점", "피리어드"}
)
# Score sentences of goal lines: the scoring team and the goal difference.
SCORE_STATES: Final = ("lead", "extend", "level", "chase")
_SCORE_STATE_SLOTS: Final = frozenset({"득점팀", "골차"})
# Story sentences added after a line when the match story makes them true.
STORY_SECTIONS: Mapping[str, frozenset[str]] = {
    "story_goal_first": frozenset({"선수", "팀", "시간"}),
    "story_goal_nth": frozenset({"선수", "팀", "골순서"}),
    "story_goal_brace": frozenset({"선수", "팀", "개인골순서", "앞골시간"}),
    "story_goal_comeback": frozenset({"선수", "팀"}),
    "story_shot_nth": frozenset({"선수", "팀", "슈팅순서"}),
    "story_shot_scorer": frozenset({"선수", "팀", "슈팅순서", "득점수"}),
    "story_card_second": frozenset({"선수", "팀", "앞경고시간"}),
    "story_card_team": frozenset({"팀", "경고순서"}),
    "story_pressure": frozenset({"팀"}),
    # Lines of the match's flow, from its control messages (template/moments.py).
    "moment_kick_off": frozenset({"홈팀", "원정팀"}),
    "moment_second_half": frozenset({"홈팀", "원정팀", "피리어드"}),
    "moment_extra_first_half": frozenset({"홈팀", "원정팀"}),
    "moment_extra_second_half": frozenset({"홈팀", "원정팀"}),
    "moment_shoot_out": frozenset({"홈팀", "원정팀"}),
    "moment_shoot_out_end": frozenset({"홈팀", "원정팀"}),
    "moment_half_time": frozenset({"홈팀", "원정팀", "홈득점", "원정득점"}),
    "moment_second_half_end": frozenset({"홈팀", "원정팀", "홈득점", "원정득점"}),
    "moment_period_end": frozenset({"홈팀", "원정팀", "홈득점", "원정득점", "피리어드"}),
    "moment_full_time": frozenset({"홈팀", "원정팀", "홈득점", "원정득점"}),
}
# The slots that name the teams of a moment line, or their score (meaningless without
# the teams): a moment told when no team is named takes a line without them.
MOMENT_TEAM_SLOTS: Final = frozenset({"홈팀", "원정팀", "홈득점", "원정득점"})
_KIND_KEYS: Final = frozenset({"about"})
_PERSONA_KEYS: Final = frozenset({"tone", "lines"})


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrasing: its text, the slots it uses, and how it opens."""

    text: str
    fields: frozenset[str]
    # The slot the line opens with ("선수" for "{선수:이/가} ..."), or "" when it opens with text.
    lead: str
    # The opening word when it opens with text ("공이", "골!").
    lead_word: str
    # Where it comes from, for messages: "received.CASTER[3]".
    entry: str


# One position of a kind's rotation: the sentences tried in order (usually one; a second
# one is used when the first lacks a slot or would open like the previous line).
Slot = tuple[Phrase, ...]


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """Every phrasing, by section and persona, checked."""

    # kind -> persona -> rotation positions
    kinds: Mapping[str, Mapping[str, tuple[Slot, ...]]]
    # kind -> persona -> tone
    tones: Mapping[str, Mapping[str, Tone]]
    # persona -> the tone of routine play
    routine_tones: Mapping[str, Tone]
    # persona -> state -> sentences (rotated by the match's goal count)
    score_states: Mapping[str, Mapping[str, tuple[Phrase, ...]]]
    # story section -> persona -> sentences
    story: Mapping[str, Mapping[str, tuple[Phrase, ...]]]
    # FRIEND backing a team: kind -> side (ours, theirs) -> rotation positions
    backing: Mapping[str, Mapping[str, tuple[Slot, ...]]] = field(default_factory=dict)
    # ... and at the end of a period: moment -> state (ahead, level, behind) -> sentences
    backing_moments: Mapping[str, Mapping[str, tuple[Phrase, ...]]] = field(default_factory=dict)
    # ... and of the other side's action of a kind without a backing bank: FRIEND's own
    # bank, but not these sentences, which regret or praise it (wording.toml [backing])
    sided: frozenset[Phrase] = frozenset()

    def lines(self, kind: str, persona: str) -> tuple[Slot, ...]:
        return self.kinds[kind][persona]

    def tone(self, kind: str, persona: str) -> Tone:
        return self.tones[kind][persona]


def _phrase(text: object, entry: str, allowed: frozenset[str]) -> Phrase:
    """A checked phrasing; :class:`PhrasebookError` naming ``entry`` when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise PhrasebookError(f"{entry}: a phrasing must be non-empty text, got {text!r}")
    shown = f"{entry} {text!r}"
    if text != text.strip() or "\n" in text:
        raise PhrasebookError(f"{shown}: no spaces or line breaks at the ends or inside")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PhrasebookError(f"{shown}: braces do not pair up ({exc}); write {{선수}}") from exc
    fields: set[str] = set()
    for index, (_, name, spec, conversion) in enumerate(parts):
        if name is None:
            continue
        after = parts[index + 1][0] if index + 1 < len(parts) else ""
        bare = None if spec else leading_particle(after)
        if bare is not None:
            # "{구역}이죠" reads "하프스페이스이죠": only the slot's filler knows its sound.
            form, pair = bare
            copula = " (이야/야 for the copula)" if pair == "아/야" else ""
            raise PhrasebookError(
                f"{shown}: {{{name}}} then {form!r}: a particle after a slot alternates with"
                f" the sound it ends in; write {{{name}:{pair}}}{copula}"
            )
        if conversion or not name or any(c in name for c in ".[]") or name.isdigit():
            raise PhrasebookError(f"{shown}: {{{name}}} is not a slot; write e.g. {{선수:이/가}}")
        if name not in allowed:
            known = ", ".join("{" + s + "}" for s in sorted(allowed))
            raise PhrasebookError(f"{shown}: unknown slot {{{name}}} here; known: {known}")
        if spec:
            try:
                particle_for("가", spec)
            except ValueError as exc:
                raise PhrasebookError(
                    f"{shown}: {{{name}:{spec}}}: unknown particle {spec!r};"
                    " write a pair such as 이/가, 은/는, 을/를, 과/와, (으)로"
                ) from exc
        fields.add(name)
    literal, first = parts[0][0], parts[0][1]
    if not literal and first:
        return Phrase(text, frozenset(fields), first, "", entry)
    return Phrase(text, frozenset(fields), "", literal.split(" ", 1)[0], entry)


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        raise PhrasebookError(f"missing [{where}]")
    if not isinstance(value, dict):
        raise PhrasebookError(f"[{where}] must be a section, got {type(value).__name__}")
    return value


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PhrasebookError(
            f"[{where}]: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )


def _tone(value: object, where: str) -> Tone:
    if value not in TONES:
        raise PhrasebookError(f"[{where}] tone {value!r} is not one of {', '.join(TONES)}")
    return value  # type: ignore[return-value]


def _lines(table: Mapping[str, Any], where: str, allowed: frozenset[str]) -> tuple[Phrase, ...]:
    """Plain lines (story sentences): each a string."""
    lines = table.get("lines")
    if not isinstance(lines, list) or not lines:
        raise PhrasebookError(f'[{where}] has no lines: write lines = ["...", ...]')
    return tuple(_phrase(text, f"[{where}] lines[{i}]", allowed) for i, text in enumerate(lines))


def _slots(table: Mapping[str, Any], where: str, allowed: frozenset[str]) -> tuple[Slot, ...]:
    """An action bank: each entry a string, or a list of strings tried in order."""
    lines = table.get("lines")
    if not isinstance(lines, list) or not lines:
        raise PhrasebookError(f'[{where}] has no lines: write lines = ["...", ...]')
    bank: list[Slot] = []
    for i, entry in enumerate(lines):
        if isinstance(entry, list):
            if not entry:
                raise PhrasebookError(f"[{where}] lines[{i}]: an empty [ ]; write the sentences")
            texts = [(f"[{where}] lines[{i}][{j}]", text) for j, text in enumerate(entry)]
        else:
            texts = [(f"[{where}] lines[{i}]", entry)]
        bank.append(tuple(_phrase(text, name, allowed) for name, text in texts))
    return tuple(bank)


def _kind(
    name: str, section: Mapping[str, Any], routine: Mapping[str, Tone]
) -> tuple[dict[str, tuple[Slot, ...]], dict[str, Tone]]:
    _check_keys(section, _KIND_KEYS | frozenset(PERSONAS), name)
    banks: dict[str, tuple[Slot, ...]] = {}
    tones: dict[str, Tone] = {}
    for persona in PERSONAS:
        where = f"{name}.{persona}"
        table = _table(section, persona, where)
        _check_keys(table, _PERSONA_KEYS, where)
        tones[persona] = _tone(table["tone"], where) if "tone" in table else routine[persona]
        banks[persona] = _action_bank(name, table, where)
    return banks, tones


def _action_bank(kind: str, table: Mapping[str, Any], where: str) -> tuple[Slot, ...]:
    """The checked bank of ``kind`` in ``[where]``: the kind's slots, its required ones
    on every line, and one line at least on the always-filled slots."""
    allowed = ALWAYS_SLOTS | _OPTIONAL_SLOTS | KIND_SLOTS.get(kind, frozenset())
    bank = _slots(table, where, allowed)
    phrases = [phrase for slot in bank for phrase in slot]
    required = _REQUIRED.get(kind, frozenset())
    for phrase in phrases:
        if not required <= phrase.fields:
            slots = ", ".join("{" + s + "}" for s in sorted(required))
            raise PhrasebookError(f"{phrase.entry} {phrase.text!r}: every line here needs {slots}")
    core = ALWAYS_SLOTS | KIND_SLOTS.get(kind, frozenset())
    if not any(phrase.fields <= core for phrase in phrases):
        raise PhrasebookError(
            f"[{where}]: at least one line must use only the always-filled slots"
            f" ({', '.join('{' + s + '}' for s in sorted(core))}): {{팀}}, {{거리}} and"
            " {방향} are sometimes unknown"
        )
    return bank


def _backing(section: Mapping[str, Any]) -> dict[str, dict[str, tuple[Slot, ...]]]:
    """``[backing.<kind>.ours]`` / ``.theirs``: FRIEND's banks when it backs a team (the
    action of the backed team, or of the other one). A kind without them stays neutral."""
    banks: dict[str, dict[str, tuple[Slot, ...]]] = {}
    for kind, table in section.items():
        where = f"backing.{kind}"
        if kind not in ACTION_KINDS:
            raise PhrasebookError(
                f"[{where}]: unknown kind {kind!r}; a backing bank is for one of the code's"
                f" kinds ({', '.join(ACTION_KINDS[:4])}, ...)"
            )
        table = _table(section, kind, where)
        _check_keys(table, _KIND_KEYS | frozenset(BACKING_SIDES), where)
        banks[kind] = {}
        for side in BACKING_SIDES:
            side_table = _table(table, side, f"{where}.{side}")
            _check_keys(side_table, frozenset({"lines"}), f"{where}.{side}")
            banks[kind][side] = _action_bank(kind, side_table, f"{where}.{side}")
    return banks


def _backing_moments(section: Mapping[str, Any]) -> dict[str, dict[str, tuple[Phrase, ...]]]:
    """``[backing_moment.<moment>]``: ``ahead``, ``level``, ``behind`` = a sentence or a list."""
    _check_keys(section, frozenset(BACKING_MOMENTS), "backing_moment")
    moments: dict[str, dict[str, tuple[Phrase, ...]]] = {}
    for moment in section:
        where = f"backing_moment.{moment}"
        table = _table(section, moment, where)
        _check_keys(table, _KIND_KEYS | frozenset(BACKING_STATES), where)
        moments[moment] = _state_phrases(table, BACKING_STATES, where, _BACKING_MOMENT_SLOTS)
    return moments


def _score_states(section: Mapping[str, Any]) -> dict[str, dict[str, tuple[Phrase, ...]]]:
    """Each state is a sentence or a list of them (taken in turn, goal after goal)."""
    _check_keys(section, frozenset(PERSONAS), "score_state")
    states: dict[str, dict[str, tuple[Phrase, ...]]] = {}
    for persona in PERSONAS:
        where = f"score_state.{persona}"
        table = _table(section, persona, where)
        _check_keys(table, frozenset(SCORE_STATES), where)
        states[persona] = _state_phrases(table, SCORE_STATES, where, _SCORE_STATE_SLOTS)
    return states


def _state_phrases(
    table: Mapping[str, Any], states: Iterable[str], where: str, slots: frozenset[str]
) -> dict[str, tuple[Phrase, ...]]:
    """Each state of ``table`` (all required): a sentence or a list of them."""
    phrases: dict[str, tuple[Phrase, ...]] = {}
    for state in states:
        if state not in table:
            raise PhrasebookError(f'[{where}] is missing {state} = "..." (or a list)')
        value = table[state]
        texts = value if isinstance(value, list) and value else [value]
        phrases[state] = tuple(
            _phrase(text, f"[{where}] {state}" + (f"[{i}]" if len(texts) > 1 else ""), slots)
            for i, text in enumerate(texts)
        )
    return phrases


def _story(name: str, section: Mapping[str, Any]) -> dict[str, tuple[Phrase, ...]]:
    _check_keys(section, _KIND_KEYS | frozenset(PERSONAS), name)
    banks = {}
    for persona in PERSONAS:
        where = f"{name}.{persona}"
        table = _table(section, persona, where)
        _check_keys(table, frozenset({"lines"}), where)
        banks[persona] = _lines(table, where, STORY_SECTIONS[name])
        if name.startswith("moment_") and all(p.fields & MOMENT_TEAM_SLOTS for p in banks[persona]):
            # A feed may name no team (no match info, no team_name_ko in its actions).
            raise PhrasebookError(
                f"[{where}] needs a line without {{홈팀}}, {{원정팀}} and the score, for a"
                " match whose teams no message names"
            )
    return banks


# Sample values that render a phrasing the way a line reads, for the sentence check: names
# of the sample roster (masked by the shape), and one value per kind of slot, so that two
# sentences that differ only in which zone or which minute they name count as one.
_SAMPLE_NAMES: Final = ("손흥민", "서울")
_SAMPLE_VALUES: Mapping[str, str] = {
    "선수": "손흥민", "앞선수": "손흥민", "팀": "서울", "득점팀": "서울",
    "구역": "페널티 박스 앞", "도착구역": "페널티 박스 앞",
    "시간": "전반 12분", "앞골시간": "전반 12분", "앞경고시간": "전반 12분",
    "거리": "12m", "방향": "전방", "라인": "골라인", "슈팅": "슈팅", "반칙": "파울",
    "동작": "동작", "스코어": "서울 1 : 0 서울", "상황": "", "골차": "2",
    "골순서": "두 번째", "개인골순서": "두 번째", "슈팅순서": "두 번째",
    "득점수": "한 골", "경고순서": "두 번째",
    "홈팀": "서울", "원정팀": "서울", "홈득점": "1", "원정득점": "0",
}  # fmt: skip


class _Sample(str):
    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return attach_particle(str(self), spec) if spec else str(self)


class _SampleValues(dict[str, _Sample]):
    def __missing__(self, slot: str) -> _Sample:
        return _Sample(slot)  # a slot added later without a sample value: its own name


def sentence_shapes(phrase: Phrase) -> list[str]:
    """The sentence shapes a line written from ``phrase`` has (as ``pitchcast eval``
    counts them: :func:`pitchcast.checks.shapes.line_shapes`)."""
    values = _SampleValues({k: _Sample(v) for k, v in _SAMPLE_VALUES.items()})
    return line_shapes(phrase.text.format_map(values), _SAMPLE_NAMES)


# A masked name with the particle pair after it: {N}, {N}이/가.
_NAME_WITH_PARTICLE = re.compile(re.escape(NAME_MASK) + r"(?:\S+/\S+)?")


def _only_names(shape: str) -> bool:
    """A sentence that is only a name (``…! 손흥민.``): every line ending so shares it."""
    rest = _NAME_WITH_PARTICLE.sub("", shape)
    return not rest.strip(" ,")


def _sentences_once(book: Phrasebook) -> None:
    """Every sentence of a persona belongs to one rotation position.

    A match counts sentences, not lines: a sentence two phrasings share (a tail such as
    "{선수}의 패스입니다.") comes back whenever either is used, however far apart their
    rotation puts them. So a sentence may appear in the twins of one position only, and
    no sentence may be just a name.
    """
    for persona in PERSONAS:
        owner: dict[str, tuple[str, str]] = {}
        units: list[tuple[str, tuple[Phrase, ...]]] = []
        for kind, banks in book.kinds.items():
            units += [(f"{kind}[{i}]", slot) for i, slot in enumerate(banks[persona])]
        for section, banks in book.story.items():
            units += [(f"{section}[{i}]", (p,)) for i, p in enumerate(banks[persona])]
        for state, phrases in book.score_states[persona].items():
            units += [(f"score_state.{state}[{i}]", (p,)) for i, p in enumerate(phrases)]
        if persona == BACKING_PERSONA:
            for kind, sides in book.backing.items():
                for side, bank in sides.items():
                    units += [(f"backing.{kind}.{side}[{i}]", slot) for i, slot in enumerate(bank)]
            for moment, states in book.backing_moments.items():
                for state, phrases in states.items():
                    units += [
                        (f"backing_moment.{moment}.{state}[{i}]", (p,))
                        for i, p in enumerate(phrases)
                    ]
        for unit, phrases in units:
            for phrase in phrases:
                for shape in sentence_shapes(phrase):
                    if _only_names(shape):
                        raise PhrasebookError(
                            f"{phrase.entry} {phrase.text!r}: a sentence that is only a name"
                            " reads the same in every line that ends so; join it to the"
                            " sentence before (…, {선수}의 패스.)"
                        )
                    first = owner.setdefault(shape, (unit, phrase.entry))
                    if first[0] != unit:
                        raise PhrasebookError(
                            f"{phrase.entry} {phrase.text!r}: the sentence {shape!r} is also"
                            f" in {first[1]}; a sentence may be written once per persona"
                            " (twins of one position aside)"
                        )


def _sided(kinds: Mapping[str, Mapping[str, tuple[Slot, ...]]]) -> frozenset[Phrase]:
    """FRIEND's sentences that a fan of one team does not say of the other side's action
    (``크로스 아깝다``, ``패스 좋다``): a backing FRIEND passes over them there, keeping
    the bank's rotation (the sentence of the turn, or its twin, or a position further)."""
    return frozenset(
        phrase
        for personas in kinds.values()
        for position in personas[BACKING_PERSONA]
        for phrase in position
        if backing_slips(phrase.text)
    )


def parse_phrasebook(text: str, *, source: str = "phrasebook.toml") -> Phrasebook:
    """The checked phrasebook written in ``text`` (TOML); :class:`PhrasebookError` else."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PhrasebookError(f"{source}: not valid TOML: {exc}") from exc
    expected = {
        "voice", "score_state", "backing", "backing_moment", *ACTION_KINDS, *STORY_SECTIONS,
    }  # fmt: skip
    unknown = sorted(set(data) - expected)
    if unknown:
        raise PhrasebookError(
            f"{source}: unknown section [{unknown[0]}]; a kind must be one of the code's"
            f" kinds ({', '.join(ACTION_KINDS[:4])}, ...)"
        )
    voice = _table(data, "voice", "voice")
    _check_keys(voice, frozenset(PERSONAS), "voice")
    routine: dict[str, Tone] = {}
    for persona in PERSONAS:
        table = _table(voice, persona, f"voice.{persona}")
        _check_keys(table, frozenset({"tone"}), f"voice.{persona}")
        routine[persona] = _tone(table.get("tone"), f"voice.{persona}")
    kinds: dict[str, dict[str, tuple[Slot, ...]]] = {}
    tones: dict[str, dict[str, Tone]] = {}
    for kind in ACTION_KINDS:
        kinds[kind], tones[kind] = _kind(kind, _table(data, kind, kind), routine)
    story = {name: _story(name, _table(data, name, name)) for name in STORY_SECTIONS}
    backing = _backing(_table(data, "backing", "backing")) if "backing" in data else {}
    book = Phrasebook(
        kinds=kinds,
        tones=tones,
        routine_tones=routine,
        score_states=_score_states(_table(data, "score_state", "score_state")),
        story=story,
        backing=backing,
        sided=_sided(kinds),
        backing_moments=(
            _backing_moments(_table(data, "backing_moment", "backing_moment"))
            if "backing_moment" in data
            else {}
        ),
    )
    _sentences_once(book)
    return book


def load_phrasebook(path: Path | None = None) -> Phrasebook:
    """The phrasebook at ``path`` (default: the one shipped with pitchcast), checked."""
    if path is None:
        text = resources.files(__package__).joinpath("phrasebook.toml").read_text("utf-8")
        return parse_phrasebook(text)
    return parse_phrasebook(path.read_text("utf-8"), source=str(path))


@cache
def phrasebook() -> Phrasebook:
    """The shipped phrasebook, loaded and checked once per process."""
    return load_phrasebook()
