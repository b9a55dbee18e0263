"""Check a model's commentary lines against the batch they describe.

A line is valid when:

* its row ``n`` is an action of the batch (rows are 1..len(batch), in action order);
* its tone is one of :data:`~pitchcast.schemas.records.TONES`. Close synonyms are mapped
  (``neutral`` -> ``calm``, ``분석`` -> ``analytical``, see :data:`TONE_SYNONYMS`):
  the tone is a display hint, and a repair round trip costs seconds; any other word
  is rejected;
* its text is not empty once control characters are stripped, uses only the batch's
  references (``{P1}``, ``{T1}``: an unknown one is rejected), and with the names
  filled in is at most ``max_chars`` long (:data:`MAX_DESCRIPTION_CHARS`);
* grounding: a name of the match's roster (``batch.roster``, the match info's teams)
  that the text writes out must belong to an action of this batch or the match info.
  Names outside the roster cannot be told from ordinary words; slot filling is what
  keeps the model from writing them;
* numbers: a score, minute or count the line states must agree with the action and the
  match story around it (:mod:`pitchcast.checks.claims`, the same rules ``pitchcast
  eval`` applies); what those rules cannot read is let through, never guessed at;
* wording: nothing the data cannot support (:mod:`pitchcast.checks.wording`);
* key moments: the line of a goal, an own goal or a card says so
  (:func:`pitchcast.checks.naming.unnamed_kind`, the words ``pitchcast eval`` checks):
  ``제카가 공을 다룹니다`` at a penalty goal is refused (``untold.goal``);
* register: when the persona is given, every sentence ends in its register
  (:func:`pitchcast.checks.register.register_slips`: no 반말 from CASTER or ANALYST, no
  존댓말 from FRIEND), so a refused line is written by the template in the same voice.

:func:`validate_items` checks a complete answer strictly: exactly one line per
requested row, no extra, duplicate or unknown rows. :class:`LineAssembler` checks a
streamed answer line by line and hands out valid items in action order as soon as
every earlier row is settled, across a first attempt and a repair; see its docstring
for what a repair keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from pitchcast.checks.claims import LineFacts, check_claims, facts_names
from pitchcast.checks.naming import unnamed_kind
from pitchcast.checks.register import register_slips
from pitchcast.checks.wording import backing_slips, find_wording
from pitchcast.commentary.parsing import ParsedItem
from pitchcast.commentary.prompt import MAX_TEXT_CHARS, format_rows
from pitchcast.commentary.slots import (
    PLACEHOLDER_RE,
    SlotTable,
    build_slots,
    clean_text,
    fill_slots,
    names_in_batch,
)
from pitchcast.commentary.template.backing import backed_team_id
from pitchcast.commentary.template.phrasebook import BACKING_PERSONA
from pitchcast.exceptions import CommentaryRejected
from pitchcast.schemas.records import TONES, Action, Batch, CommentaryItem, Tone
from pitchcast.story import advance_story

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "TONE_SYNONYMS",
    "ItemChecker",
    "LineAssembler",
    "normalize_tone",
    "validate_items",
    "wording_refusals",
]

MAX_DESCRIPTION_CHARS = MAX_TEXT_CHARS
# Roster names shorter than this are not searched for: one letter matches everywhere.
_MIN_NAME_CHARS = 2
_SHOWN_VALUE_CHARS = 30

TONE_SYNONYMS: dict[str, Tone] = {
    **{tone: tone for tone in TONES},
    "exciting": "excited",
    "excitement": "excited",
    "thrilled": "excited",
    "흥분": "excited",
    "tension": "tense",
    "nervous": "tense",
    "긴장": "tense",
    "neutral": "calm",
    "relaxed": "calm",
    "차분": "calm",
    "analytic": "analytical",
    "analysis": "analytical",
    "분석": "analytical",
    "humorous": "playful",
    "funny": "playful",
    "유쾌": "playful",
    "disappointing": "disappointed",
    "disappointment": "disappointed",
    "sad": "disappointed",
    "실망": "disappointed",
    "아쉬움": "disappointed",
}


def normalize_tone(raw: str) -> Tone | None:
    """The tone ``raw`` names (case, quotes and close synonyms forgiven), else None."""
    key = clean_text(raw).strip(" \"'`.,:;()[]").lower()
    return TONE_SYNONYMS.get(key)


def _shown(value: str) -> str:
    value = clean_text(value)
    return repr(value if len(value) <= _SHOWN_VALUE_CHARS else value[:_SHOWN_VALUE_CHARS] + "…")


def _cleaned_names(names: Iterable[str | None]) -> set[str]:
    cleaned = (clean_text(n) for n in names if n)
    return {n for n in cleaned if len(n) >= _MIN_NAME_CHARS}


def _name_spans(text: str, names: Iterable[str]) -> list[tuple[int, int, str]]:
    """Where each name stands as a word: not inside a longer word before it, and not
    followed by a Latin letter or digit (Hangul may follow: it is a particle)."""
    spans = []
    for name in names:
        start = 0
        while (index := text.find(name, start)) != -1:
            end = index + len(name)
            before_ok = index == 0 or not text[index - 1].isalnum()
            after_ok = end == len(text) or not (text[end].isascii() and text[end].isalnum())
            if before_ok and after_ok:
                spans.append((index, end, name))
            start = index + 1
    return spans


class ItemChecker:
    """Content checks of single lines of one batch (row, tone, text, grounding)."""

    def __init__(
        self,
        batch: Batch,
        *,
        slots: SlotTable | None = None,
        max_chars: int = MAX_DESCRIPTION_CHARS,
        persona: str | None = None,
        supports: str = "",
    ) -> None:
        self.batch = batch
        self.slots = slots or build_slots(batch)
        self.max_chars = max_chars
        self.persona = persona  # None: no register check
        # A FRIEND backing a team (PITCHCAST_FRIEND_SUPPORTS) takes no side for the other.
        self._backed = (
            backed_team_id(supports, batch.match_info)
            if supports and persona == BACKING_PERSONA
            else None
        )
        self.rows: tuple[int, ...] = tuple(range(1, len(batch.actions) + 1))
        self._actions: dict[int, Action] = dict(zip(self.rows, batch.actions, strict=True))
        self._allowed = _cleaned_names(names_in_batch(batch, self.slots))
        info = batch.match_info
        roster = _cleaned_names(batch.roster)
        if info is not None:
            roster |= _cleaned_names(
                (
                    info.home_team_name_ko,
                    info.home_team_name,
                    info.away_team_name_ko,
                    info.away_team_name,
                )
            )
        self._forbidden = roster - self._allowed
        self._known_refs = ", ".join(self.slots.refs)
        self._facts = _facts_by_row(batch)

    def action_for(self, row: int) -> Action | None:
        """The action behind row ``row`` (1-based), or None."""
        return self._actions.get(row)

    def ungrounded_names(self, text: str) -> list[str]:
        """Roster names in ``text`` that are neither in this batch nor in the match info."""
        if not self._forbidden:
            return []
        # References are not names; a space keeps words on both sides apart.
        plain = PLACEHOLDER_RE.sub(" ", text)
        allowed_spans = _name_spans(plain, self._allowed)
        found: list[str] = []
        for start, end, name in sorted(_name_spans(plain, self._forbidden)):
            inside_allowed = any(a <= start and end <= b for a, b, _ in allowed_spans)
            if not inside_allowed and name not in found:
                found.append(name)
        return found

    def check(self, parsed: ParsedItem) -> CommentaryItem:
        """The item of a valid line; :class:`CommentaryRejected` with every problem else."""
        row = parsed.row
        action = self._actions.get(row)
        if action is None:
            raise CommentaryRejected([f"n={row}: no such action in this batch"])
        reasons: list[str] = []
        tone = normalize_tone(parsed.tone)
        if tone is None:
            reasons.append(f"n={row}: tone {_shown(parsed.tone)} is not one of {', '.join(TONES)}")
        raw = clean_text(parsed.text)
        filled = ""
        if not raw:
            reasons.append(f"n={row}: empty text")
        else:
            filled, unknown = fill_slots(raw, self.slots)
            if unknown:
                shown = ", ".join("{" + ref + "}" for ref in dict.fromkeys(unknown))
                reasons.append(f"n={row}: unknown reference {shown}; use only {self._known_refs}")
            if len(filled) > self.max_chars:
                reasons.append(
                    f"n={row}: {len(filled)} characters, above the limit of {self.max_chars}"
                )
            ungrounded = self.ungrounded_names(raw)
            if ungrounded:
                reasons.append(f"n={row}: names someone not in this batch: {', '.join(ungrounded)}")
            facts = self._facts.get(row)
            if facts is not None and filled:
                for error in check_claims(filled, facts).errors:
                    reasons.append(
                        f"n={row}: states {error.stated!r}, but the data says {error.expected}"
                    )
            # Wording the data cannot support (a gesture, a feeling, an intent...), read
            # before the names are filled in, and with the names written out masked, so a
            # name never matches a pattern (티아고의 holds 고의).
            names = self._allowed | self._forbidden
            for found in find_wording(raw, action.type_name, names=names):
                reasons.append(f"n={row}: {found.matched!r} [{found.kind}]: {found.why}")
            # A goal's or a card's line must say so (checks/naming.toml's words).
            untold = unnamed_kind(raw, action, names=names)
            if untold is not None:
                reasons.append(
                    f"n={row}: [untold.{untold}]: a line of a {_UNTOLD_KINDS[untold]}"
                    " must say what happened"
                )
            if self._backed is not None and action.team_id != self._backed:
                for word in backing_slips(raw, names=names):
                    reasons.append(
                        f"n={row}: {word!r} [backing]: a fan of its team does not regret"
                        " or praise the other side's action"
                    )
            if self.persona is not None:
                slips = register_slips(raw, self.persona)
                if slips:
                    reasons.append(
                        f"n={row}: {', '.join(slips)}: not {self.persona}'s register"
                        f" ({_REGISTER_HINTS.get(self.persona, '')})"
                    )
        if reasons or tone is None:
            raise CommentaryRejected(reasons)
        return CommentaryItem(
            action_id=action.action_id,
            time_seconds=action.time_seconds,
            tone=tone,
            description=filled,
        )


_REGISTER_HINTS = {
    "CASTER": "존댓말: ~니다, ~죠, ~네요, or a short call",
    "ANALYST": "존댓말: ~죠, ~요, ~니다",
    "FRIEND": "반말: ~어/아, ~네, ~다, ~지, ~야",
}


_UNTOLD_KINDS = {
    "goal": "goal",
    "own_goal": "own goal",
    "yellow": "yellow card",
    "sending_off": "sending-off",
    "penalty": "foul in its own box (a penalty kick)",
}

_WORDING_KIND = re.compile(r"\[((?:unsupported\.[a-z]+)|(?:untold\.[a-z_]+)|mistake|backing)\]:")


def wording_refusals(reasons: Iterable[str]) -> list[str]:
    """The wording kinds (``unsupported.manner``, ``mistake``...) among refusal reasons:
    lines refused for a claim the data cannot support, or for leaving a goal or a card
    untold (``untold.goal``...), for the ``lines_refused`` metric."""
    return [m.group(1) for reason in reasons if (m := _WORDING_KIND.search(reason))]


def _facts_by_row(batch: Batch) -> dict[int, LineFacts]:
    """Per row, the action and the story just before and after it (for number checks).
    Empty for a batch without its story (records of pitchcast 0.1)."""
    if batch.story is None:
        return {}
    info = batch.match_info
    home = tuple(n for n in (info.home_team_name_ko, info.home_team_name) if n) if info else ()
    away = tuple(n for n in (info.away_team_name_ko, info.away_team_name) if n) if info else ()
    names = facts_names(home, away, tuple(batch.roster))
    facts: dict[int, LineFacts] = {}
    story = batch.story
    for row, action in enumerate(batch.actions, start=1):
        after = advance_story(story, action)
        facts[row] = LineFacts(action, story, after, **names)
        story = after
    return facts


def validate_items(
    batch: Batch,
    parsed_items: Sequence[ParsedItem],
    *,
    rows: Sequence[int] | None = None,
    max_chars: int = MAX_DESCRIPTION_CHARS,
    persona: str | None = None,
    supports: str = "",
) -> tuple[CommentaryItem, ...]:
    """One valid item per requested row (default: every action of ``batch``), in order.

    Strict: a missing, extra, duplicate or unknown row, or any invalid line, raises
    :class:`CommentaryRejected` listing every problem found.
    """
    checker = ItemChecker(batch, max_chars=max_chars, persona=persona, supports=supports)
    expected = tuple(rows) if rows is not None else checker.rows
    reasons: list[str] = []
    if len(parsed_items) != len(expected):
        reasons.append(f"expected {len(expected)} lines, got {len(parsed_items)}")
    items: dict[int, CommentaryItem] = {}
    seen: set[int] = set()
    for parsed in parsed_items:
        if parsed.row not in expected:
            known = checker.action_for(parsed.row) is not None
            reasons.append(
                f"n={parsed.row}: not asked for"
                if known
                else f"n={parsed.row}: no such action in this batch"
            )
            continue
        if parsed.row in seen:
            reasons.append(f"n={parsed.row}: written more than once")
            continue
        seen.add(parsed.row)
        try:
            items[parsed.row] = checker.check(parsed)
        except CommentaryRejected as exc:
            reasons.extend(exc.reasons)
    missing = [row for row in expected if row not in seen]
    if missing:
        reasons.append(f"missing n={format_rows(missing)}")
    if reasons:
        raise CommentaryRejected(reasons)
    return tuple(items[row] for row in expected)


class LineAssembler:
    """Validates a streamed answer line by line; settles items in action order.

    A row is *settled* (final) when its line is valid and every earlier row is settled;
    :meth:`add` returns the items it settles, ready to publish. Settled items never
    change, across retries and the repair.

    An attempt covers the rows it asked for. Problems are of two kinds:

    * structural: a row written twice, a row not in the batch, or an asked row missing
      at the end (cut-off or mis-numbered answers). From the first such problem on, no
      further row of the attempt settles, and at the end its unsettled lines are
      dropped: their numbering cannot be trusted;
    * content: a bad tone, text, reference or name on one row. Only that row fails;
      the attempt's other valid lines are kept for when the earlier rows settle.

    Lines for rows already settled or kept (a repair that rewrites everything) are
    ignored. :attr:`complete` says when every row is settled.
    """

    def __init__(
        self,
        batch: Batch,
        *,
        max_chars: int = MAX_DESCRIPTION_CHARS,
        checker: ItemChecker | None = None,
        settled: Mapping[int, CommentaryItem] | None = None,
        persona: str | None = None,
        supports: str = "",
    ) -> None:
        self.checker = checker or ItemChecker(
            batch, max_chars=max_chars, persona=persona, supports=supports
        )
        self.rows = self.checker.rows
        # Rows written by earlier requests (live mode): final, never asked again.
        self._settled: dict[int, CommentaryItem] = dict(settled or {})
        self._next = 0
        while self._next < len(self.rows) and self.rows[self._next] in self._settled:
            self._next += 1
        # The text of each accepted line as the model wrote it (references unfilled).
        self.raw: dict[int, str] = {}
        self._kept: dict[int, CommentaryItem] = {}
        self._asked: frozenset[int] = frozenset()
        self._seen: set[int] = set()
        self._accepted: dict[int, CommentaryItem] = {}
        self._structural = False
        self.reasons: list[str] = []

    @property
    def complete(self) -> bool:
        """Every row of the batch is settled."""
        return self._next == len(self.rows)

    @property
    def settled(self) -> tuple[CommentaryItem, ...]:
        """The settled items so far, in action order."""
        return tuple(self._settled[row] for row in self.rows[: self._next])

    def missing_rows(self) -> list[int]:
        """Rows with neither a settled nor a kept line: what a repair must ask for."""
        return [r for r in self.rows if r not in self._settled and r not in self._kept]

    def items(self) -> tuple[CommentaryItem, ...]:
        """All items, in action order (only once :attr:`complete`)."""
        if not self.complete:
            raise CommentaryRejected([f"missing n={format_rows(self.missing_rows())}"])
        return self.settled

    def begin_attempt(self, rows: Sequence[int] | None = None) -> None:
        """Start reading an answer for ``rows`` (default: every row still missing)."""
        self._asked = frozenset(rows if rows is not None else self.missing_rows())
        self._seen = set()
        self._accepted = {}
        self._structural = False
        self.reasons = []

    def add(self, parsed: ParsedItem) -> list[CommentaryItem]:
        """Check one line; return the items it settles (possibly none), in order."""
        row = parsed.row
        if self.checker.action_for(row) is None:
            self._structure_problem(f"n={row}: no such action in this batch")
            return []
        if row not in self._asked:
            return []  # already settled or kept: a repair that rewrote everything
        if row in self._seen:
            self._structure_problem(f"n={row}: written more than once")
            self._accepted.pop(row, None)
            return []
        self._seen.add(row)
        try:
            item = self.checker.check(parsed)
        except CommentaryRejected as exc:
            self.reasons.extend(exc.reasons)
            return []
        self._accepted[row] = item
        self.raw[row] = clean_text(parsed.text)
        return self._settle()

    def end_attempt(self, *, note: str | None = None) -> list[str]:
        """Close the attempt; return its problems (empty when it had none).

        ``note`` adds a problem the caller saw (an answer cut at ``max_tokens``).
        """
        missing = sorted(self._asked - self._seen)
        if missing:
            self._structure_problem(f"missing n={format_rows(missing)}")
        if note:
            self.reasons.append(note)
        if not self._structural:
            for row, item in self._accepted.items():
                if row not in self._settled:
                    self._kept[row] = item
        self._accepted = {}
        self._settle()
        return list(self.reasons)

    def _structure_problem(self, reason: str) -> None:
        self._structural = True
        self.reasons.append(reason)

    def _settle(self) -> list[CommentaryItem]:
        settled: list[CommentaryItem] = []
        while self._next < len(self.rows):
            row = self.rows[self._next]
            if row in self._settled:  # given settled (live: a row told with another line)
                self._next += 1
                continue
            item = self._kept.pop(row, None)
            if item is None and not self._structural:
                item = self._accepted.get(row)
            if item is None:
                break
            self._settled[row] = item
            self._next += 1
            settled.append(item)
        return settled
