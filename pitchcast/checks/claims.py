"""Numbers a line states, against the match story at its action.

The story is folded over the match in log order (:func:`pitchcast.story.advance_story`)
and each line is checked against the story just before and just after its action.
Names are masked first (``Player 10`` holds no number of the line). What is checked:

**Score.** ``2-1``, ``2:1``, ``2 : 1``, ``2대 1``, ``2 대 1`` (both numbers at most 30;
not a chain such as the formation ``4-4-2``; ``2:00`` is a clock time) must equal the
running score at the action: the score after it (a ``Goal`` or ``Own Goal`` row
changes it), and for a ``Shot`` whose result is ``Goal`` (the row before its
``Goal`` row) the score before or after the goal. Home comes first when the home team's
name stands right before the numbers or the away team's right after (``Home 1 : 0
Away``); otherwise either order is accepted (``Away가 1-0으로 앞섭니다``). ``N대N``
written without spaces is the tactical idiom (1대1 경합, 2대1 패스) when a word such as
경합, 돌파, 패스, 상황, 찬스, 대결, 싸움, 마크, 수비, 공격 follows or 에서 / 을 / 를
/ 으로 is attached, is a score when a score word (스코어, 점수, 앞서, 리드, 동점, 역전,
추격, 달아나, 따라붙) is in the same sentence, and is listed as unparsed otherwise.
A number pair followed by 분, 초, m, 명, 번, 골, 회 is not a score (``10-15분``).

**Minute.** ``전반 12분``, ``후반 67분``, ``연장 전반 98분``, ``전반 45+2분`` must name the
action's period and its minute (:func:`pitchcast.schemas.records.match_minute`) within ±1, or the
period and minute of an earlier goal or card of the story (a line may recall them).
Korean broadcasts count both ways, so in the second half ``후반 12분`` (12 minutes into
the half, 57th) and ``후반 57분`` are both read, and the same in extra time; counted from
the half's start a minute runs on into added time (``후반 48분``: 45+3, the 93rd). A bare
``12분`` is read as a minute only as ``12분에``, ``12분경``, ``12분께`` or ``12분,`` at the
start of a sentence; durations (``12분 만에``, ``12분 동안``, ``12분간``, ``12분째``,
``남은 12분``) are skipped, and any other bare minute is listed as unparsed.

**Counts.** Ordinals (``두 번째 골``, ``2번째 슈팅``, ``첫 골``, ``세 골째``), cardinals
with a match context (``오늘 2골``, ``벌써 두 골``, ``경고 두 장``, ``슈팅 3개``,
``3번의 슈팅``) and goal differences (``2골 차``, ``격차를 2골로``). Goals, shots
(``유효 슈팅``: on target), cautions (경고: yellow cards, a direct red is none), corners and
fouls are checked only at an action of that kind, where the count is unambiguous enough:
it must equal the player's, the team's or the match's count after the action (a ``Shot``
with result ``Goal`` counts its goal). At a ``Second_Yellow_Card`` a second card is right
by definition. A count of a kind stated at another action (``두 번째 골을 노립니다`` at a
pass) is listed as unparsed. A goal difference is checked at every action against the
score after it.

**Score by team.** ``울산 HD 2, 전북 현대 1`` (a team's name, its goals, the other
team's name and its goals: the moment lines' way) is a score too, each number the named
team's.

**Players on the pitch.** ``수적 열세`` (a side a player short of the other) needs the
two sides' dismissals (a direct red, a second yellow) after the action to differ: after
one on each side it is ten against ten.

**Restart.** A foul or handball in the offender's own penalty area gives a penalty kick,
not a free kick: ``프리킥`` in its line is an error.

**Period** (:func:`check_period`, for moment lines: kick-off, half-time, the end of a
period...). Each period the line names (``전반전``, ``후반``, ``연장 전반``, ``승부차기``;
not a minute such as ``후반 12분``, which the minute rule reads) must be its action's; a
period as a time (``후반에 뒤집자``: 에 after it) is listed as unparsed.

Anything the rules above do not read is not an error: conservative by design.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pitchcast.checks.particles import find_names
from pitchcast.schemas.records import Action, Score, Story, match_minute, player_key
from pitchcast.schemas.vocabulary import CARD_RESULTS, SHOT_TYPES

__all__ = [
    "ClaimCheck",
    "ClaimError",
    "LineFacts",
    "Unparsed",
    "check_claims",
    "check_period",
    "in_own_box",
]

HOME, AWAY, NAME = "⟪H⟫", "⟪A⟫", "⟪N⟫"
_NATIVE = {
    "한": 1, "하나": 1, "첫": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "네": 4, "넷": 4,
    "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10, "열한": 11, "열두": 12,
}  # fmt: skip
_N = (
    r"(?<![0-9\uac00-\ud7a3])"
    r"(\d{1,3}|열한|열두|다섯|여섯|일곱|여덟|아홉|하나|한|두|둘|세|셋|네|넷|열)"
)
_PERIODS = {"전반": 1, "후반": 2, "연장 전반": 3, "연장 후반": 4}
_PERIOD_START = {1: 0, 2: 45, 3: 90, 4: 105}
_PERIOD_LENGTH = {1: 45, 2: 45, 3: 15, 4: 15}

# Not inside a longer chain of numbers: 4-4-2 and 4-2-3-1 are formations, not scores.
_SCORE_RE = re.compile(
    r"(?<![\d.+\-–:])(\d{1,2})(\s*[-:–]\s*|\s*대\s*)(\d{1,2})(?![\d.])(?!\s*[-–:]\s*\d)"
)
# "<home> 2, <away> 1": a team's name before each number.
_TEAM_SCORE_RE = re.compile(
    rf"({HOME}|{AWAY})\s*(\d{{1,2}})\s*[,:·]?\s*({HOME}|{AWAY})\s*(\d{{1,2}})(?![\d.])"
)
_PERIOD_WORD_RE = re.compile(r"(연장\s*전반|연장\s*후반|전반|후반|승부차기)(?!\s*\d|적)")
_WHEN_AFTER = re.compile(r"전?\s*에")
_PERIOD_OF_WORD = {"연장 전반": 3, "연장 후반": 4, "전반": 1, "후반": 2, "승부차기": 5}
_SHORT_HANDED_RE = re.compile(r"수적\s*열세")
_NOT_SCORE_AFTER = re.compile(r"\s*(분|초|m\b|명|번|골|회|개|경기|위)")
_IDIOM_AFTER = re.compile(r"\s*(경합|돌파|패스|상황|찬스|대결|싸움|마크|수비|공격|에서|을|를|으로)")
_SCORE_WORDS = re.compile(r"스코어|점수|앞서|리드|동점|역전|추격|달아나|따라붙")
_MINUTE_RE = re.compile(
    r"(?:(연장\s*전반|연장\s*후반|전반|후반)\s*)?(?<!\d)(\d{1,3})(?:\s*\+\s*(\d{1,2}))?\s*분"
)
_DURATION_AFTER = re.compile(r"\s*(만에|동안|간|째|여|가량|정도)")
_MINUTE_CONTEXT_AFTER = re.compile(r"(에|경|께)|,")
_OBJECTS = r"(유효\s*슈팅|슈팅|슛|골|득점|경고|옐로\s*카드|옐로|코너킥|코너|파울|반칙)"
_ORDINAL_RE = re.compile(_N + r"\s*번\s*째\s*" + _OBJECTS + r"|첫\s*" + _OBJECTS)
_GOALS_TH_RE = re.compile(_N + r"\s*골\s*째")
_CONTEXT_GOALS_RE = re.compile(
    r"(?:오늘|이날|벌써|이 경기(?:에서)?만?)\s*" + _N + r"\s*골(?!\s*차)"
)
_CARDS_RE = re.compile(r"(?:경고|옐로\s*카드|옐로)\s*" + _N + r"\s*장")
_SHOTS_RE = re.compile(
    r"(?:(유효\s*)?(?:슈팅|슛)\s*"
    + _N
    + r"\s*(?:개|번|회))|(?:"
    + _N
    + r"\s*(?:개|번|차례)의\s*(유효\s*)?(?:슈팅|슛))"
)
_DIFFERENCE_RE = re.compile(_N + r"\s*골\s*차|격차를?\s*" + _N + r"\s*골")
_SENTENCE_END = re.compile(r"[.!?…]")
_CAUTIONS = frozenset({"yellow", "second_yellow"})
_YELLOW = frozenset({"yellow"})
_FOULS = frozenset({"Foul", "Handball_Foul"})


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What a line may be checked against: its action and the story around it."""

    action: Action
    before: Story
    after: Story
    home_names: tuple[str, ...] = ()
    away_names: tuple[str, ...] = ()
    other_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimError:
    kind: str  # score, minute, count
    stated: str
    expected: str
    text: str

    def describe(self) -> str:
        return f"{self.kind}: states {self.stated!r}, the data says {self.expected}: {self.text}"


@dataclass(frozen=True, slots=True)
class Unparsed:
    kind: str
    stated: str
    why: str
    text: str


@dataclass(slots=True)
class ClaimCheck:
    checked: int = 0
    errors: list[ClaimError] = field(default_factory=list)
    unparsed: list[Unparsed] = field(default_factory=list)

    def merge(self, other: ClaimCheck) -> None:
        self.checked += other.checked
        self.errors.extend(other.errors)
        self.unparsed.extend(other.unparsed)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NATIVE[word]


def mask_names(text: str, facts: LineFacts) -> str:
    """``text`` with home, away and other names replaced by markers without digits."""
    side = {n: HOME for n in facts.home_names} | {n: AWAY for n in facts.away_names}
    names = [*facts.home_names, *facts.away_names, *facts.other_names]
    out, pos = [], 0
    for start, end, name in find_names(text, names):
        out += [text[pos:start], side.get(name, NAME)]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _is_goal_shot(action: Action) -> bool:
    return action.type_name in SHOT_TYPES and action.result_name == "Goal"


def _home_side(facts: LineFacts) -> bool:
    home = facts.before.home_team_id
    if home is None:
        home = facts.before.teams[0].team_id if facts.before.teams else facts.action.team_id
    return facts.action.team_id == home


def acceptable_scores(facts: LineFacts) -> list[Score]:
    """The scores a line of this action may state."""
    after = facts.after.score
    if _is_goal_shot(facts.action):
        plus = (
            Score(after.home + 1, after.away)
            if _home_side(facts)
            else Score(after.home, after.away + 1)
        )
        return [after, plus]
    return [after]


def _sentence_of(text: str, index: int) -> str:
    starts = [m.end() for m in _SENTENCE_END.finditer(text, 0, index)]
    start = starts[-1] if starts else 0
    end_match = _SENTENCE_END.search(text, index)
    return text[start : end_match.start() if end_match else len(text)]


def _check_scores(text: str, facts: LineFacts, out: ClaimCheck, shown: str) -> None:
    for match in _SCORE_RE.finditer(text):
        a, sep, b = int(match.group(1)), match.group(2), int(match.group(3))
        stated = match.group(0).strip()
        after = text[match.end() :]
        if _NOT_SCORE_AFTER.match(after):
            continue
        if sep == "대":
            if _IDIOM_AFTER.match(after):
                continue  # 1대1 경합, 2대1 패스: not a score
            if not _SCORE_WORDS.search(_sentence_of(text, match.start())):
                out.unparsed.append(Unparsed("score", stated, "N대N without a score word", shown))
                continue
        if match.group(3).startswith("0") and len(match.group(3)) == 2:
            out.unparsed.append(Unparsed("score", stated, "a clock time, not a score", shown))
            continue
        if a > 30 or b > 30:
            out.unparsed.append(Unparsed("score", stated, "numbers too large for a score", shown))
            continue
        left = text[: match.start()].rstrip()
        right = after.lstrip()
        ordered = left.endswith(HOME) or right.startswith(AWAY)
        reversed_ = left.endswith(AWAY) or right.startswith(HOME)
        out.checked += 1
        ok = False
        for score in acceptable_scores(facts):
            if ordered and not reversed_:
                ok |= (a, b) == (score.home, score.away)
            elif reversed_ and not ordered:
                ok |= (a, b) == (score.away, score.home)
            else:
                ok |= sorted((a, b)) == sorted((score.home, score.away))
        if not ok:
            wanted = " or ".join(f"{s.home}-{s.away} (home-away)" for s in acceptable_scores(facts))
            out.errors.append(ClaimError("score", stated, wanted, shown))


def _check_team_scores(text: str, facts: LineFacts, out: ClaimCheck, shown: str) -> None:
    for match in _TEAM_SCORE_RE.finditer(text):
        first, a, second, b = (
            match.group(1),
            int(match.group(2)),
            match.group(3),
            int(match.group(4)),
        )
        if first == second or _NOT_SCORE_AFTER.match(text[match.end() :]):
            continue
        stated = match.group(0).replace(HOME, "<home>").replace(AWAY, "<away>")
        home, away = (a, b) if first == HOME else (b, a)
        out.checked += 1
        scores = acceptable_scores(facts)
        if all((home, away) != (s.home, s.away) for s in scores):
            wanted = " or ".join(f"{s.home}-{s.away} (home-away)" for s in scores)
            out.errors.append(ClaimError("score", stated, wanted, shown))


def in_own_box(action: Action) -> bool:
    """Whether the action is in its team's own penalty area (it attacks towards x = 105:
    16.5 m deep, 40.32 m wide on a 105 x 68 pitch)."""
    x, y = action.start_x, action.start_y
    if not (isinstance(x, float | int) and isinstance(y, float | int)):
        return False
    return math.isfinite(x) and math.isfinite(y) and x <= 16.5 and 13.84 <= y <= 54.16


def _check_restart(text: str, facts: LineFacts, out: ClaimCheck, shown: str) -> None:
    action = facts.action
    if action.type_name not in _FOULS:
        return
    if "프리킥" not in text:
        return
    out.checked += 1
    if in_own_box(action):
        why = "a penalty kick (a foul in its own penalty area)"
        out.errors.append(ClaimError("restart", "프리킥", why, shown))


def _check_players(text: str, facts: LineFacts, out: ClaimCheck, shown: str) -> None:
    for match in _SHORT_HANDED_RE.finditer(text):
        home = facts.after.home_team_id
        if home is None:
            home = facts.after.teams[0].team_id if facts.after.teams else facts.action.team_id
        off = [c.team_id == home for c in facts.after.cards if c.card not in _YELLOW]
        out.checked += 1
        if off.count(True) == off.count(False):
            level = f"{off.count(True)} sent off on each side"
            out.errors.append(ClaimError("players", match.group(0), level, shown))


def check_period(text: str, facts: LineFacts) -> ClaimCheck:
    """The periods a moment line names, against its action's period (``전반전이 끝났습니다``
    after the second half is an error)."""
    out = ClaimCheck()
    period = facts.action.period_id
    masked = mask_names(text, facts)
    for match in _PERIOD_WORD_RE.finditer(masked):
        word = " ".join(match.group(1).split())
        if _WHEN_AFTER.match(masked, match.end()):
            # 후반에 뒤집자: when something is to happen (or happened), not this moment.
            out.unparsed.append(Unparsed("period", word, "a period as a time (…에)", text))
            continue
        out.checked += 1
        if _PERIOD_OF_WORD[word] != period:
            out.errors.append(ClaimError("period", word, f"period {period}", text))
    return out


def _check_minutes(text: str, facts: LineFacts, out: ClaimCheck, shown: str) -> None:
    action = facts.action
    expected = match_minute(action.period_id, action.time_seconds)
    # A minute may also recall an earlier event of the story (전반 2분에 이어...).
    earlier = {(g.period_id, g.minute) for g in facts.before.goals}
    earlier |= {(c.period_id, c.minute) for c in facts.before.cards}
    for match in _MINUTE_RE.finditer(text):
        word, n, extra = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        stated = match.group(0).strip()
        after = text[match.end() :]
        if word is None:
            before = text[: match.start()].rstrip()
            at_start = not before or before[-1] in ".!?…" or before.endswith(",")
            if _DURATION_AFTER.match(after) or before.endswith("남은"):
                continue
            context = _MINUTE_CONTEXT_AFTER.match(after)
            if not context or (context.group(0) == "," and not at_start):
                out.unparsed.append(Unparsed("minute", stated, "a bare minute", shown))
                continue
            period = action.period_id
        else:
            period = _PERIODS[" ".join(word.split())]
        out.checked += 1
        candidates = {n + extra}
        if period in _PERIOD_START:
            # From the period's start, into its added time: 후반 48분 is 45+3 (93rd).
            candidates.add(_PERIOD_START[period] + n + extra)
        if any((period, c) in earlier for c in candidates):
            continue  # the minute of an earlier goal or card
        if period != action.period_id:
            out.errors.append(
                ClaimError("minute", stated, f"period {action.period_id}, {expected}'", shown)
            )
            continue
        if all(abs(c - expected) > 1 for c in candidates):
            out.errors.append(ClaimError("minute", stated, f"minute {expected} (±1)", shown))


def _counts(facts: LineFacts, obj: str) -> tuple[set[int], str | None]:
    """(acceptable counts, why not checked) for a count of ``obj`` at this action."""
    action, after = facts.action, facts.after
    key = player_key(action)
    tally = after.player(key)
    team = after.team(action.team_id)
    goal_shot = _is_goal_shot(action)
    obj = "".join(obj.split())
    if obj in ("골", "득점"):
        if action.type_name not in ("Goal", "Own Goal") and not goal_shot:
            return set(), "a goal count at an action that is no goal"
        plus = 1 if goal_shot else 0
        credited = after.goals[-1].team_id if after.goals and not goal_shot else action.team_id
        home = after.home_team_id
        team_goals = after.score.home if credited == home else after.score.away
        player_goals = tally.goals if tally is not None else 0
        return {player_goals + plus, team_goals + plus, len(after.goals) + plus}, None
    if obj in ("슈팅", "슛", "유효슈팅"):
        if action.type_name not in SHOT_TYPES:
            return set(), "a shot count at an action that is no shot"
        if obj == "유효슈팅":
            return {team.on_target, tally.on_target if tally else 0}, None
        return {team.shots, tally.shots if tally else 0}, None
    if obj in ("경고", "옐로카드", "옐로"):
        card = CARD_RESULTS.get(action.result_name or "")
        if card is None:
            return set(), "a card count at an action that is no card"
        # 경고 is a caution (a yellow card): a direct red is no 경고 of the count.
        cautions = [c for c in after.cards if c.card in _CAUTIONS]
        team_cards = sum(1 for c in cautions if c.team_id == action.team_id)
        player_cards = sum(1 for c in cautions if key is not None and c.player_key == key)
        counts = {player_cards, team_cards, len(cautions)}
        if card == "second_yellow":
            counts.add(2)
        return counts, None
    if obj in ("코너킥", "코너"):
        if action.type_name != "Pass_Corner":
            return set(), "a corner count at an action that is no corner"
        return {team.corners}, None
    if action.type_name not in ("Foul", "Handball_Foul"):
        return set(), "a foul count at an action that is no foul"
    return {team.fouls, tally.fouls if tally else 0}, None


def _check_count(
    stated: str, n: int, obj: str, text: str, facts: LineFacts, out: ClaimCheck
) -> None:
    counts, why = _counts(facts, obj)
    if why is not None:
        out.unparsed.append(Unparsed("count", stated, why, text))
        return
    out.checked += 1
    if n not in counts:
        shown = ", ".join(str(c) for c in sorted(counts))
        out.errors.append(ClaimError("count", stated, f"{obj} count in {{{shown}}}", text))


def _check_difference(stated: str, n: int, text: str, facts: LineFacts, out: ClaimCheck) -> None:
    out.checked += 1
    diffs = {abs(s.home - s.away) for s in acceptable_scores(facts)}
    if n not in diffs:
        shown = " or ".join(str(d) for d in sorted(diffs))
        out.errors.append(ClaimError("count", stated, f"goal difference {shown}", text))


def _check_counts(text: str, facts: LineFacts, out: ClaimCheck, shown: str) -> None:
    for match in _ORDINAL_RE.finditer(text):
        if match.group(1) is not None:
            n, obj = _number(match.group(1)), match.group(2)
        else:
            n, obj = 1, match.group(3)
        _check_count(match.group(0), n, obj, shown, facts, out)
    for match in _GOALS_TH_RE.finditer(text):
        _check_count(match.group(0), _number(match.group(1)), "골", shown, facts, out)
    for match in _CONTEXT_GOALS_RE.finditer(text):
        _check_count(match.group(0), _number(match.group(1)), "골", shown, facts, out)
    for match in _CARDS_RE.finditer(text):
        _check_count(match.group(0), _number(match.group(1)), "경고", shown, facts, out)
    for match in _SHOTS_RE.finditer(text):
        on_target = match.group(1) or match.group(4)
        number = match.group(2) or match.group(3)
        obj = "유효슈팅" if on_target else "슈팅"
        _check_count(match.group(0), _number(number), obj, shown, facts, out)
    for match in _DIFFERENCE_RE.finditer(text):
        number = match.group(1) or match.group(2)
        _check_difference(match.group(0), _number(number), shown, facts, out)


def check_claims(text: str, facts: LineFacts) -> ClaimCheck:
    """Every score, minute and count ``text`` states, checked against ``facts``."""
    out = ClaimCheck()
    masked = mask_names(text, facts)
    _check_scores(masked, facts, out, text)
    _check_team_scores(masked, facts, out, text)
    _check_minutes(masked, facts, out, text)
    _check_counts(masked, facts, out, text)
    _check_players(masked, facts, out, text)
    _check_restart(masked, facts, out, text)
    return out


def check_many(items: Iterable[tuple[str, LineFacts]]) -> ClaimCheck:
    """:func:`check_claims` over many lines, merged."""
    total = ClaimCheck()
    for text, facts in items:
        total.merge(check_claims(text, facts))
    return total


def facts_names(
    home: Sequence[str], away: Sequence[str], others: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Keyword arguments of :class:`LineFacts` for the names of a match."""
    return {"home_names": tuple(home), "away_names": tuple(away), "other_names": tuple(others)}
