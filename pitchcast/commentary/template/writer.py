"""Deterministic Korean commentary written from the action data: the template writer.

It is the fallback of the LLM stage, the demo default and the backend of deterministic
tests. :func:`write_template_line` writes one line for one action, given the match story
before it; :func:`write_template_commentary` writes a whole batch and gives the same
lines as calling :func:`write_template_line` action by action. Neither raises on an
action the schema accepts.

How a line is made:

1. The action is sorted into a *kind* (``pass_side``, ``shot_on``, ``goal``...) from its
   type, result and geometry (:mod:`.actions`).
2. The kind's phrasings for the persona come from the phrasebook
   (:mod:`.phrasebook`, data in ``phrasebook.toml``) and fill slots:
   the player and team names with the right particle, the zone, the minute, the score...
   A FRIEND who backs a team in the match (:mod:`.backing`) takes the kind's
   ``[backing]`` bank for the side of the action when the phrasebook has one.
3. **Rotation.** The phrasing is chosen from the log alone, with no memory of earlier
   lines, so that a restarted worker or a replay writes the same lines: the k-th told
   action of its count takes the k-th position of a permutation of the kind's bank,
   fixed per (match, persona, kind) by a stable hash. At ``every`` density the count is
   the actions with this (type, result) (``story.occurrences``; kinds that split one
   (type, result) by geometry index their banks with the same count); below it, the
   actions ``story`` density showed under the action's rotation key, its line kind
   (``told_before``), so silent actions use up no position. A bank of n positions
   therefore gives a sentence again only n counted actions later, at the earliest.
4. A position may hold a second sentence (a *twin*), used when the first needs a slot
   this action lacks (the passer, a distance) or would open like the previous line
   probably did (the same name or word, the same zone; the previous line is predicted
   from the previous action). Twins belong to their position, so the guarantee above
   holds for them too. Only a position with no usable sentence sends the search to the
   positions half a turn, a quarter... away (the loader keeps that rare).
5. A story sentence follows when the story makes one true (a second goal, a player's
   third shot, a second caution, a team pressing): :mod:`.storytelling`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Final

from pitchcast.commentary.korean import attach_particle
from pitchcast.commentary.template.actions import (
    Geometry,
    classify,
    clean,
    direction,
    finite,
    geometry,
    line_kind,
    minute_text,
    scored_from,
    zone,
)
from pitchcast.commentary.template.backing import backed_team_id, side_of
from pitchcast.commentary.template.phrasebook import (
    BACKING_PERSONA,
    Phrase,
    Phrasebook,
    Slot,
    phrasebook,
)
from pitchcast.commentary.template.storytelling import stories_before, story_lines
from pitchcast.commentary.template.tone import situation_tone
from pitchcast.schemas.records import (
    Action,
    Batch,
    CommentaryItem,
    MatchInfo,
    Score,
    Tone,
)
from pitchcast.schemas.vocabulary import SHOOT_OUT_PERIOD
from pitchcast.settings import PERSONAS, Persona
from pitchcast.story import Story, new_story, told_before

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "write_template_commentary",
    "write_template_line",
    "write_template_rows",
]

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS: Final = 120
_NAME_MAX_CHARS = 20
_SCORE_NAME_MAX_CHARS = 14
_TYPE_MAX_CHARS = 30
_PASS_LIKE = frozenset({"Pass", "Cross", "Pass_Freekick", "Pass_Corner", "Throw-In", "Goal Kick"})
_GOAL_TYPES = frozenset({"Goal", "Own Goal"})
_SHOT_NOUNS: Mapping[str, str] = {
    "Shot": "슈팅",
    "Shot_Freekick": "프리킥 슈팅",
    "Penalty Kick": "페널티킥",
}
_RESULT_WORDS: Mapping[str, str] = {
    "Successful": "성공",
    "Unsuccessful": "실패",
    "Off Target": "골문 밖",
    "On Target": "유효 슈팅",
    "Blocked": "블록",
    "Yellow_Card": "경고",
    "Goal": "골",
    "Low Quality Shot": "위력 없는 슈팅",
    "Direct_Red_Card": "퇴장",
    "Keeper Rush-Out": "골키퍼 전진",
    "Second_Yellow_Card": "경고 누적 퇴장",
}


class _Slot(str):
    """A slot value whose format spec is a Korean particle: ``"{선수:이/가}"`` → ``손흥민이``."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return attach_particle(str(self), spec) if spec else str(self)


# --- Rotation ------------------------------------------------------------------------------------


def _stable(text: str) -> int:
    """A number from ``text`` that is the same in every process (unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).digest())


@cache
def _order(size: int, seed: str) -> tuple[int, ...]:
    """The bank's phrasings in the order a match and persona go through them."""
    return tuple(sorted(range(size), key=lambda i: _stable(f"{seed}:{i}")))


@cache
def _detours(size: int) -> tuple[int, ...]:
    """Offsets to try from a turn: 0, then half, a quarter, three quarters... of the
    bank (van der Corput order: each is as far as can be from those tried before),
    then every other offset."""
    offsets: list[int] = []
    denominator = 1
    while denominator <= 2 * size:
        for numerator in range(denominator):
            fraction = numerator / denominator
            if denominator > 1 and numerator % 2 == 0:
                continue  # already tried with a smaller denominator
            offset = round(fraction * size) % size
            if offset not in offsets:
                offsets.append(offset)
        denominator *= 2
    offsets += [i for i in range(size) if i not in offsets]
    return tuple(offsets)


def _pick(
    bank: tuple[Slot, ...], turn: int, seed: str, available: frozenset[str],
    echo: Callable[[Phrase], int], banned: frozenset[Phrase] = frozenset(),
) -> Phrase:  # fmt: skip
    """The phrasing for the ``turn``-th action of its kind (see the module docstring).

    The turn's position gives the sentence: of its alternatives that have every slot
    they need, the first that echoes the previous line least (``echo``: 0 not at all).
    Only a position with no usable sentence at all sends the search on to the
    positions half a turn, a quarter... away.
    """
    size = len(bank)
    order = _order(size, seed)
    for offset in _detours(size):
        position = bank[order[(turn + offset) % size]]
        usable = [p for p in position if p.fields <= available and p not in banned]
        if usable:
            return min(usable, key=echo)  # min keeps the first of equals
    # The loader makes sure every bank has a sentence on the always-filled slots.
    return bank[0][-1]


# --- Names and score -----------------------------------------------------------------------------


def _team_name_by_id(info: MatchInfo | None, team_id: object) -> str:
    if info is None or team_id is None:
        return ""
    if team_id == info.home_team_id:
        return clean(info.home_team_name_ko, _NAME_MAX_CHARS) or clean(
            info.home_team_name, _NAME_MAX_CHARS
        )
    if team_id == info.away_team_id:
        return clean(info.away_team_name_ko, _NAME_MAX_CHARS) or clean(
            info.away_team_name, _NAME_MAX_CHARS
        )
    return ""


def _side(info: MatchInfo | None, team_id: object) -> int | None:
    """0 for the home team, 1 for the away team, None when the match info cannot tell."""
    if info is None or info.home_team_id is None or info.home_team_id == info.away_team_id:
        return None
    if team_id == info.home_team_id:
        return 0
    if team_id == info.away_team_id:
        return 1
    return None


def _actor(action: Action, team: str) -> str:
    name = clean(action.player_name_ko, _NAME_MAX_CHARS)
    if name:
        return name
    # A player id is a database id, not the number on a shirt (DESIGN.md section 2).
    return f"{team} 선수" if team else "선수"


def _team(action: Action, info: MatchInfo | None) -> str:
    return clean(action.team_name_ko, _NAME_MAX_CHARS) or _team_name_by_id(info, action.team_id)


def _passer(previous: Action | None, action: Action, actor: str) -> str:
    """Who passed the ball ``action`` receives: the previous action's player, when it
    was a pass of the same team by someone else with a name."""
    if previous is None:
        return ""
    if previous.type_name not in _PASS_LIKE or previous.team_id != action.team_id:
        return ""
    name = clean(previous.player_name_ko, _NAME_MAX_CHARS)
    return name if name and name != actor else ""


def _score_after(action: Action, before: Score, info: MatchInfo | None) -> tuple[Score, int] | None:
    """(score after the goal ``action``, scoring side), or None when it cannot be told or
    does not move (a shoot-out kick is no goal of the match)."""
    acting = _side(info, action.team_id)
    if acting is None or action.period_id == SHOOT_OUT_PERIOD:
        return None
    side = acting if action.type_name == "Goal" else 1 - acting
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (before.home, before.away)):
        return None
    if before.home < 0 or before.away < 0:
        return None
    after = Score(before.home + (side == 0), before.away + (side == 1))
    return after, side


_COUNT_WORDS = ("영", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")


def _count_word(n: int) -> str:
    """A goal difference as said aloud: "두 골 차", not "2골 차" (read 이골)."""
    return _COUNT_WORDS[n] if 0 <= n < len(_COUNT_WORDS) else str(n)


def _score_slots(
    after: Score, side: int, info: MatchInfo | None, persona: str, book: Phrasebook, turn: int
) -> dict[str, _Slot]:
    """The score after the goal and what it means; ``turn`` (the match's goals before this
    one) rotates the state's sentences, so two goals in a row never say it alike."""
    # Shorter names here: a score line carries both teams and must fit one line.
    home = clean(_team_name_by_id(info, info.home_team_id), _SCORE_NAME_MAX_CHARS) if info else ""
    away = clean(_team_name_by_id(info, info.away_team_id), _SCORE_NAME_MAX_CHARS) if info else ""
    home, away = home or "홈 팀", away or "원정 팀"
    scorer, other = (after.home, after.away) if side == 0 else (after.away, after.home)
    difference = scorer - other
    if difference == 0:
        state = "level"
    elif difference == 1:
        state = "lead"
    elif difference > 1:
        state = "extend"
    else:
        state = "chase"
    sentences = book.score_states[persona][state]
    sentence = sentences[turn % len(sentences)].text.format_map(
        {"득점팀": _Slot(home if side == 0 else away), "골차": _Slot(_count_word(abs(difference)))}
    )
    # Read as a broadcast reads it, home first: "2대 1" (the sentence or {상황} says who
    # leads; a team name on each side of the numbers reads like a data feed).
    return {
        "스코어": _Slot(f"{after.home}대 {after.away}"),
        "상황": _Slot(sentence),
    }


# --- One line ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """What a line knows besides its action."""

    persona: str
    story: Story
    info: MatchInfo | None
    previous: Action | None
    game_id: object
    # The story covers the match from its start (story sentences may be said).
    history: bool = True
    # The score before the action is known (goal lines may carry it).
    score: bool = True
    # Added to every turn when the story does not count from kick-off (old records),
    # so that batches do not all start the rotation at the same place.
    turn_offset: int = 0
    # Below ``every`` the rotation counts the actions ``story`` density showed.
    density: str = "every"
    # The team id a FRIEND backs in this match (template/backing.py); None: neutral.
    backed: int | None = None


@dataclass(frozen=True, slots=True)
class _Drafted:
    kind: str
    note: str | None
    geometry: Geometry
    slots: dict[str, _Slot]
    actor: str
    team: str


_NAME_SLOTS = frozenset({"선수", "팀", "앞선수"})
_ZONE_SLOTS = frozenset({"구역", "도착구역"})


def _draft(action: Action, ctx: _Context, previous: Action | None) -> _Drafted:
    """The kind and slot values of ``action`` (``previous``: the action before it)."""
    tactical = ctx.persona == "ANALYST"
    casual = ctx.persona == "FRIEND"  # a friend's own words for places
    type_name = action.type_name if isinstance(action.type_name, str) else ""
    raw_result = action.result_name if isinstance(action.result_name, str) else None
    shape = geometry(action)
    kind, note = classify(type_name, raw_result or None, shape)
    team = _team(action, ctx.info)
    actor = _actor(action, team)
    slots: dict[str, _Slot] = {
        "선수": _Slot(actor),
        "구역": _Slot(zone(shape.x, shape.y, tactical, casual=casual)),
        "도착구역": _Slot(zone(shape.end_x, shape.end_y, tactical, casual=casual)),
        "시간": _Slot(minute_text(action.period_id, action.time_seconds)),
        "라인": _Slot(line_kind(shape.x, shape.y)),
        "슈팅": _Slot(_SHOT_NOUNS.get(type_name, "슈팅")),
        "반칙": _Slot("핸드볼 반칙" if type_name == "Handball_Foul" else "파울"),
        "동작": _Slot(clean(type_name, _TYPE_MAX_CHARS) or "기록되지 않은 동작"),
    }
    if type_name == "Goal":  # told where it was scored from, if known
        where = scored_from(action, previous)
        if where is None:
            del slots["구역"]
        else:
            slots["구역"] = _Slot(zone(*where, tactical, casual=casual))
    if team and clean(action.player_name_ko, _NAME_MAX_CHARS):
        slots["팀"] = _Slot(team)  # a nameless actor already reads "<team> 선수"
    if shape.distance >= 3.0:
        slots["거리"] = _Slot(f"{shape.distance:.0f}m")
        slots["방향"] = _Slot(direction(shape.dx, shape.dy, tactical, casual=casual))
    if kind == "received":
        passer = _passer(previous, action, actor)
        if passer:
            slots["앞선수"] = _Slot(passer)
    return _Drafted(kind, note, shape, slots, actor, team)


def _opening(phrase: Phrase, slots: Mapping[str, str]) -> str:
    """How a line opens. Two lines in a row opening with the same word, the same name or a
    pitch zone read as a pattern; different players opening two lines is play-by-play."""
    if phrase.lead in _NAME_SLOTS:  # the passer opening after his own pass line is an echo too
        return f"name={slots.get(phrase.lead, '')}"
    if phrase.lead in _ZONE_SLOTS:  # zone names share their first words (자기 진영 ...)
        return "zone"
    return phrase.lead or phrase.lead_word


def _zones_in(phrase: Phrase, slots: Mapping[str, str]) -> frozenset[str]:
    return frozenset(str(slots[f]) for f in ("구역", "도착구역") if f in phrase.fields)


def _seed(ctx: _Context, kind: str) -> str:
    return f"{ctx.game_id}:{ctx.persona}:{kind}"


def _bank(
    ctx: _Context, book: Phrasebook, kind: str, action: Action
) -> tuple[tuple[Slot, ...], str, frozenset[Phrase]]:
    """The kind's bank, rotation seed and the phrasings not to use: a backing FRIEND's
    own bank for the side of the action when the phrasebook has one, else the persona's
    (for a backing FRIEND and the other side's action, without those taking a side)."""
    if ctx.backed is not None and ctx.persona == BACKING_PERSONA:
        sides, side = book.backing.get(kind), side_of(action, ctx.backed)
        if sides:
            return sides[side], f"{_seed(ctx, kind)}:{side}", frozenset()
        if side == "theirs":  # FRIEND's own bank, without regret or praise of theirs
            return book.lines(kind, ctx.persona), _seed(ctx, kind), book.sided
    return book.lines(kind, ctx.persona), _seed(ctx, kind), frozenset()


def _turn(ctx: _Context, action: Action) -> int:
    try:
        if ctx.density == "every":
            return ctx.story.occurrences(action) + ctx.turn_offset
        return told_before(ctx.story, action) + ctx.turn_offset
    except Exception:  # an action whose kind key cannot be built: rotate on its id
        return int(finite(action.action_id, 0.0)) % 9973


def _predicted_opening(ctx: _Context, book: Phrasebook) -> tuple[str, frozenset[str]]:
    """How the previous line most likely opened, and the zones it named.

    The previous line is not known here (it may even come from the LLM); its natural
    phrasing is: the turn of the previous action is its occurrences minus itself.
    """
    previous = ctx.previous
    if previous is None:
        return "", frozenset()
    drafted = _draft(previous, ctx, None)
    kind = drafted.kind
    if kind in ("goal", "own_goal"):
        kind += "_plain"  # its score is not at hand: the plain bank opens alike enough
    slots = dict(drafted.slots)
    if kind == "received":
        slots["앞선수"] = _Slot("?")  # usually known: assume the natural phrasing rendered
    turn = max(_turn(ctx, previous) - 1, 0)
    bank, seed, banned = _bank(ctx, book, kind, previous)
    phrase = _pick(bank, turn, seed, frozenset(slots), lambda _: 0, banned)
    return _opening(phrase, slots), _zones_in(phrase, slots)


def _story_text(
    drafted: _Drafted, action: Action, ctx: _Context, book: Phrasebook, room: int
) -> str:
    """The most telling story sentence that fits ``action`` and ``room`` characters, or ''.

    One at most: a line is commentary on the play, the story is its aside.
    """
    if not ctx.history:
        return ""
    lines = story_lines(
        action,
        drafted.kind,
        ctx.story,
        actor=drafted.actor,
        team=drafted.team,
        team_name=lambda team_id: _team_name_by_id(ctx.info, team_id),
    )
    for line in lines:
        values = {k: _Slot(v) for k, v in line.slots.items() if v}
        bank = book.story[line.section][ctx.persona]
        # The turn's sentence, or the next one that has its slots: a sentence keeps its
        # place in the rotation whatever the others need.
        for step in range(len(bank)):
            phrase = bank[(line.turn + step) % len(bank)]
            if phrase.fields <= frozenset(values):
                text = phrase.text.format_map(values)
                if len(text) + 1 <= room:
                    return text
                break
    return ""


def _write(action: Action, ctx: _Context) -> tuple[Tone, str]:
    book = phrasebook()
    drafted = _draft(action, ctx, ctx.previous)
    kind, slots = drafted.kind, drafted.slots
    if kind in ("goal", "own_goal"):
        scored = _score_after(action, ctx.story.score, ctx.info) if ctx.score else None
        if scored is None:
            kind += "_plain"
        else:
            goals = len(ctx.story.goals)
            slots.update(_score_slots(*scored, ctx.info, ctx.persona, book, goals))
    try:
        last_opening, last_zones = _predicted_opening(ctx, book)
    except Exception:  # the previous line is a guess: never let it cost this one
        logger.debug("pitchcast.template.prediction_failed", exc_info=True)
        last_opening, last_zones = "", frozenset()

    def echo(phrase: Phrase) -> int:
        """2: opens like the previous line; 1: names its zone again; 0: neither."""
        if _opening(phrase, slots) == last_opening:
            return 2
        return 1 if _zones_in(phrase, slots) & last_zones else 0

    bank, seed, banned = _bank(ctx, book, kind, action)
    phrase = _pick(bank, _turn(ctx, action), seed, frozenset(slots), echo, banned)
    text = phrase.text.format_map(slots)
    note = ""
    if drafted.note:
        word = _RESULT_WORDS.get(drafted.note) or clean(drafted.note, _TYPE_MAX_CHARS)
        note = f" (기록: {word})"
    told = _story_text(
        drafted, action, ctx, book, MAX_DESCRIPTION_CHARS - len(text) - len(note) - 1
    )
    if told:
        text = f"{text} {told}"
    # The kind's tone, raised or lowered by the situation (a free kick in its own half
    # threatens nothing; a reception in the six-yard box does).
    base = book.tone(kind, ctx.persona)
    tone = situation_tone(ctx.persona, base, action, ctx.story, ctx.backed)
    return tone, text + note


def _last_resort(action: Action) -> str:
    """A plain line for an action the phrasings could not describe (a bug, logged)."""
    try:
        return f"{minute_text(action.period_id, action.time_seconds)}, 경기가 이어집니다."
    except Exception:
        return "경기가 이어집니다."


# A name that ends in a full stop (박지성 Jr.) at the end of a sentence: one stop, not two.
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def _finish(text: str) -> str:
    """One clean line of at most :data:`MAX_DESCRIPTION_CHARS` characters, never empty."""
    line = clean(_DOUBLE_STOP.sub(".", text), MAX_DESCRIPTION_CHARS)
    return line or "경기가 이어집니다."


def _voice(persona: object) -> str:
    voice = persona.upper() if isinstance(persona, str) else "CASTER"
    return voice if voice in PERSONAS else "CASTER"


def _item(action: Action, ctx: _Context) -> CommentaryItem:
    try:
        tone, text = _write(action, ctx)
    except Exception:
        logger.warning(
            "pitchcast.template.line_failed",
            exc_info=True,
            extra={"game_id": ctx.game_id, "action_id": action.action_id},
        )
        tone, text = "calm", _last_resort(action)
    return CommentaryItem(
        action_id=action.action_id,
        time_seconds=action.time_seconds,
        tone=tone,
        description=_finish(text),
    )


def write_template_line(
    action: Action,
    persona: Persona,
    *,
    story: Story | None,
    match_info: MatchInfo | None,
    previous: Action | None = None,
    game_id: int,
    density: str = "every",
    supports: str = "",
) -> CommentaryItem:
    """One Korean commentary line for ``action`` in ``persona``'s voice.

    ``story`` is the match story before ``action`` (``batch.story`` with the batch's
    earlier actions folded on); None when it is not known, which leaves the line
    without story sentences or score. ``previous`` is the action before it in the
    batch (None for the first). Deterministic and total: the same arguments give the
    same line in every process, and no action the schema accepts makes it raise.
    ``density`` (every, story, key) chooses what the phrasing rotation counts;
    ``supports`` the team a FRIEND backs (``PITCHCAST_FRIEND_SUPPORTS``; template/backing.py).
    """
    voice = _voice(persona)
    backed = _backed(voice, supports, match_info)
    if story is None:  # nothing counted: the action id turns the rotation
        offset = int(finite(action.action_id, 0.0)) % 1_000_003
        ctx = _Context(voice, new_story(match_info), match_info, previous, game_id,
                       history=False, score=False, turn_offset=offset, density=density,
                       backed=backed)  # fmt: skip
    else:
        ctx = _Context(voice, story, match_info, previous, game_id, density=density, backed=backed)
    return _item(action, ctx)


def _backed(voice: str, supports: str, info: MatchInfo | None) -> int | None:
    """The team FRIEND backs in this match; None for the other voices, or neutral."""
    return backed_team_id(supports, info) if voice == BACKING_PERSONA else None


# --- A whole batch -------------------------------------------------------------------------------


def _opening_score(batch: Batch) -> Score | None:
    """The score when ``batch`` opened, from its close score with its goals taken off,
    or None when the batch is not consistent (for records that carry no story).

    A ``Goal`` row scores for the acting team, an ``Own Goal`` row for the other; a
    Shot with result Goal is the same goal as its Goal row and is not counted.
    """
    info = batch.match_info
    running = [batch.score.home, batch.score.away]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in running):
        return None
    for action in reversed(batch.actions):
        if action.type_name not in _GOAL_TYPES:
            continue
        acting = _side(info, action.team_id)
        if acting is None:
            return None  # cannot tell whose goal
        side = acting if action.type_name == "Goal" else 1 - acting
        running[side] -= 1
    if min(running) < 0:
        return None
    return Score(running[0], running[1])


def _batch_context(batch: Batch, voice: str) -> tuple[Story, _Context]:
    """The story at the batch's open and the context its lines share."""
    info, game_id = batch.match_info, batch.game_id
    if batch.story is not None:
        return batch.story, _Context(voice, batch.story, info, None, game_id)
    # An old record without a story: the score is what the batch implies, story
    # sentences only for the match's first batch, and the rotation turned per batch.
    story = new_story(info)
    offset = _stable(f"{game_id}:{batch.batch_index}") % 1_000_003
    opening = _opening_score(batch)
    if opening is None:
        return story, _Context(voice, story, info, None, game_id, False, False, offset)
    from_kickoff = batch.batch_index == 0 and opening == Score()
    story = replace(story, score=opening)
    return story, _Context(voice, story, info, None, game_id, from_kickoff, True, offset)


def write_template_commentary(
    batch: Batch, persona: Persona, density: str = "every", supports: str = ""
) -> tuple[CommentaryItem, ...]:
    """One Korean commentary item per action of ``batch``, in order, in ``persona``'s voice.

    The same items as :func:`write_template_line` for each action with the story folded
    up to it (``batch.story``; for an old record without one, a story started from the
    match info with the score the batch implies, and no story sentences unless the
    batch is the match's first). Deterministic and total: it does not raise on any
    batch the schema accepts.
    """
    rows = range(1, len(batch.actions) + 1)
    return tuple(write_template_rows(batch, persona, rows, density, supports).values())


def write_template_rows(
    batch: Batch,
    persona: Persona,
    rows: Iterable[int],
    density: str = "every",
    supports: str = "",
) -> dict[int, CommentaryItem]:
    """The items of ``rows`` only (1-based positions of ``batch``), in row order: each
    the same as ``write_template_commentary(batch, persona)[row - 1]``. Live mode asks
    for the newest rows of a growing batch each time: the others are not written again."""
    wanted = sorted(set(rows))
    if wanted and not 1 <= wanted[0] <= wanted[-1] <= len(batch.actions):
        raise ValueError(f"rows {wanted} outside 1..{len(batch.actions)}")
    voice = _voice(persona)
    try:
        start, shared = _batch_context(batch, voice)
    except Exception:
        logger.warning("pitchcast.template.story_failed", exc_info=True)
        start = new_story(None)
        shared = _Context(voice, start, batch.match_info, None, batch.game_id, False, False)
    actions = batch.actions[: wanted[-1]] if wanted else ()
    stories = list(stories_before(start, actions))
    backed = _backed(voice, supports, batch.match_info)
    items: dict[int, CommentaryItem] = {}
    for row in wanted:
        previous = actions[row - 2] if row > 1 else None
        ctx = replace(
            shared, story=stories[row - 1], previous=previous, density=density, backed=backed
        )
        items[row] = _item(actions[row - 1], ctx)
    return items
