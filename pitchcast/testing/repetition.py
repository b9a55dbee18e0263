"""How often commentary repeats itself over a match: sentence shapes, counted.

A line's *shape* is its text with the names and numbers masked: ``Player9가 공을
받습니다.`` and ``Player21이 공을 받습니다.`` are one shape, ``{선수}[이/가] 공을
받습니다.``. Names (players and teams of the match) become ``{선수}`` / ``{팀}`` and the
particle after them is written as its pair, so a name's final sound does not make two
shapes of one sentence; digit runs become ``{N}``. Zones and other words stay: they are
part of what a reader sees repeated. ``strict=True`` masks the pitch words as well
(zones, directions, lines, halves: ``{W}``), which counts phrasings rather than sentences.

:func:`measure` gives, for the lines of one match in one persona: how many distinct
shapes, the most used one and its share, the shortest gap (in lines) between two uses
of one shape, and how many batches have every line distinct. :func:`sample_batches`
forms the sample matches' batches the way the batcher does (10 actions, a partial
batch at each period end) with the story at each batch's open.

Used by the template's repetition tests (the CI gate) and ``bench/repetition.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pitchcast.commentary import actions
from pitchcast.schemas.records import Action, Batch, CommentaryItem, MatchInfo
from pitchcast.story import Story, advance_story, new_story
from pitchcast.streams.match_csv import read_actions, read_match_info

__all__ = ["Repetition", "mask", "measure", "sample_batches", "shapes_of"]

_DATA = Path(__file__).resolve().parents[2] / "data"
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
# Particle pairs after a name, longest first: the form written -> the pair.
_PAIRS = (
    ("으로", "(으)로"), ("로", "(으)로"), ("이랑", "(이)랑"), ("랑", "(이)랑"),
    ("이야", "(이)야"), ("이에요", "이에요/예요"), ("예요", "이에요/예요"),
    ("이", "이/가"), ("가", "이/가"), ("은", "은/는"), ("는", "은/는"),
    ("을", "을/를"), ("를", "을/를"), ("과", "과/와"), ("와", "과/와"),
    ("아", "아/야"), ("야", "아/야"),
)  # fmt: skip
_HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")


def _pitch_words() -> re.Pattern[str]:
    words = {"골라인", "터치라인", "전반", "후반", "전방", "뒤", "후방", "연장"}
    for plain in actions._PLAIN_ZONES.values():
        words.update(plain)
    for depth in actions._TACTICAL_DEPTHS.values():
        words.add(depth)
        words.update(f"{depth} {lane}" for lane in actions._TACTICAL_LANES)
    for side in ("왼쪽", "오른쪽", "좌측", "우측"):
        words.update(side + end for end in ("", " 전방", " 뒤", " 후방"))
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


_PITCH_WORDS = _pitch_words()


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(re.escape(n) for n in ordered))


def mask(
    text: str, players: Iterable[str], teams: Iterable[str] = (), *, strict: bool = False
) -> str:
    """``text`` with names, the particle after them, and numbers masked (see module doc)."""
    team_set = set(teams)
    pattern = _names_pattern([*players, *team_set])
    out: list[str] = []
    pos = 0
    if pattern is not None:
        for match in pattern.finditer(text):
            if match.start() < pos:
                continue
            out.append(text[pos : match.start()])
            out.append("{팀}" if match.group(0) in team_set else "{선수}")
            pos = match.end()
            for form, pair in _PAIRS:
                end = pos + len(form)
                if text.startswith(form, pos) and not _HANGUL_RE.match(text, end):
                    out.append(f"[{pair}]")
                    pos = end
                    break
    out.append(text[pos:])
    masked = _NUMBER_RE.sub("{N}", "".join(out))
    return _PITCH_WORDS.sub("{W}", masked) if strict else masked


@dataclass(frozen=True, slots=True)
class Repetition:
    """Repetition figures of one match in one persona."""

    lines: int
    shapes: int
    top_shape: str
    top_count: int
    min_gap: int  # lines between the two closest uses of one shape (0: no shape repeats)
    min_gap_shape: str
    batches: int
    distinct_batches: int  # batches whose lines are all different

    @property
    def top_share(self) -> float:
        return self.top_count / self.lines if self.lines else 0.0


def shapes_of(
    batches: Sequence[Batch],
    items: Sequence[Sequence[CommentaryItem]],
    *,
    strict: bool = False,
) -> list[str]:
    """The shape of every line, in match order (``items[i]`` are the lines of batch i)."""
    players: set[str] = set()
    teams: set[str] = set()
    for batch in batches:
        for action in batch.actions:
            if action.player_name_ko:
                players.add(action.player_name_ko)
            if action.team_name_ko:
                teams.add(action.team_name_ko)
        info = batch.match_info
        if info is not None:
            for name in (info.home_team_name_ko, info.home_team_name, info.away_team_name_ko):
                if name:
                    teams.add(name)
            if info.away_team_name:
                teams.add(info.away_team_name)
    return [
        mask(item.description, players, teams, strict=strict) for lines in items for item in lines
    ]


def measure(
    batches: Sequence[Batch],
    items: Sequence[Sequence[CommentaryItem]],
    *,
    strict: bool = False,
) -> Repetition:
    """The repetition figures of one match's lines (``items[i]``: the lines of batch i)."""
    shapes = shapes_of(batches, items, strict=strict)
    counts = Counter(shapes)
    top_shape, top_count = counts.most_common(1)[0] if counts else ("", 0)
    last: dict[str, int] = {}
    min_gap, min_gap_shape = 0, ""
    for index, shape in enumerate(shapes):
        if shape in last:
            gap = index - last[shape]
            if min_gap == 0 or gap < min_gap:
                min_gap, min_gap_shape = gap, shape
        last[shape] = index
    distinct = sum(len({i.description for i in lines}) == len(lines) for lines in items)
    return Repetition(
        lines=len(shapes),
        shapes=len(counts),
        top_shape=top_shape,
        top_count=top_count,
        min_gap=min_gap,
        min_gap_shape=min_gap_shape,
        batches=len(items),
        distinct_batches=distinct,
    )


def _batches(actions: Sequence[Action], info: MatchInfo, size: int) -> list[Batch]:
    batches: list[Batch] = []
    story: Story = new_story(info)
    chunk: list[Action] = []

    def close(reason: str) -> None:
        nonlocal story, chunk
        opened = story
        for action in chunk:
            story = advance_story(story, action)
        batches.append(
            Batch(
                game_id=info.game_id,
                batch_index=len(batches),
                period_id=chunk[0].period_id,
                first_action_id=chunk[0].action_id,
                last_action_id=chunk[-1].action_id,
                close_reason=reason,  # type: ignore[arg-type]
                actions=tuple(chunk),
                score=story.score,
                match_info=info,
                story=opened,
            )
        )
        chunk = []

    for action in actions:
        if chunk and action.period_id != chunk[0].period_id:
            close("period_end")
        chunk.append(action)
        if len(chunk) == size:
            close("full")
    if chunk:
        close("match_end")
    return batches


def sample_batches(
    game_id: int,
    *,
    size: int = 10,
    data: Path = _DATA,
    rename: Callable[[Action], Action] | None = None,
) -> list[Batch]:
    """The batches of sample match ``game_id`` (1 or 3), each with its story at open.

    ``size`` actions a batch, a partial batch at each period end, as the batcher closes
    them; ``rename`` may change each action first (other names, for particle tests).
    """
    info = read_match_info(data / "match_info.csv")[game_id]
    actions = [Action(**row) for row in read_actions(data / f"events_metrica_{game_id}.csv")]
    if rename is not None:
        actions = [rename(a) for a in actions]
    return _batches(actions, replace(info), size)
