"""Name slots: the model writes ``{P1}`` / ``{T1}``, pitchcast writes the names.

A batch's players and teams get short references (players ``P1..Pn`` in order of first
appearance in the batch, teams ``T1`` = home and ``T2`` = away when the match info says
so). The prompt defines them; the model writes the references, never the names; this
module puts the names back with the right Korean particle (``{P1}이`` becomes
``손흥민이`` or ``이강인이``... and ``김민재가``). Names outside the batch cannot be written
this way, so they cannot be invented by construction.

Particle choice goes through :func:`attach_particle`, the one switch point to the shared
Korean helpers (``pitchcast.commentary.korean``). The model may write a particle in
either form (``{P1}이지만`` or ``{P1}지만``); the copula's 이 is kept after a final
consonant and dropped after a vowel (손흥민이지만 / 김민재지만, 손흥민이었다 / 김민재였다).
A bare ``야`` is the one ambiguous form: at the start of a sentence it is a call, the
vocative (``{P1}야, 잘했어`` → 손흥민아 / 김민재야); anywhere else it ends a statement,
the copula (``골은 {P1}야!`` → 손흥민이야 / 김민재야).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pitchcast.commentary import korean
from pitchcast.schemas.records import Action, Batch
from pitchcast.story import notable_players, player_key

__all__ = [
    "PLACEHOLDER_RE",
    "SlotTable",
    "attach_particle",
    "build_slots",
    "clean_text",
    "fill_slots",
    "find_placeholders",
    "names_in_batch",
]

# A brace group the model wrote: a known reference or an invented one, both caught.
PLACEHOLDER_RE = re.compile(r"\{([^{}\s]{1,16})\}")
# The Hangul run right after a placeholder: where a particle sits.
_HANGUL_RUN_RE = re.compile(r"[\uac00-\ud7a3]+")

# Plain particles that may follow an alternating one in the same run (과의, 와도).
_TRAILING_PARTICLES = ("의", "는", "도", "만")
# Alternating particles that such a plain one may follow.
_LEADING_PARTICLES = ("으로", "로", "이랑", "랑", "과", "와")
_NAME_MAX_CHARS = 40
# What may stand between the start of a sentence and a name that is called (vocative).
_SENTENCE_END = ".!?…~\n"
_OPENERS = "\"'“‘「『(["


def clean_text(text: str) -> str:
    """Text with control and format characters removed and whitespace collapsed."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def attach_particle(name: str, particle: str) -> str:
    """``name`` followed by the right form of ``particle`` (이/가, 은/는, 을/를, (으)로...).

    The one switch point for particle rules (:mod:`pitchcast.commentary.korean`).
    """
    return korean.attach_particle(name, particle)


@functools.lru_cache(maxsize=256)
def _alternates(form: str) -> bool:
    """Whether ``form`` is one form of a particle pair (가, 으로, 이라고; not 의, 에게)."""
    try:
        return korean.particle_for("밥", form) != korean.particle_for("나", form)
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SlotTable:
    """The references of one batch: ``{"P1": "손흥민", "T1": "울산 HD", ...}``."""

    players: dict[str, str]
    teams: dict[str, str]
    # team_id -> team ref, player key (id or name) -> player ref; for the action rows.
    team_ref_by_id: dict[int, str]
    player_ref_by_key: dict[str, str]
    # Team ref of each player ref (the prompt's player table).
    team_of_player: dict[str, str]
    # Position of each player ref, when the data has one.
    position_of_player: dict[str, str]
    home_ref: str | None = None
    away_ref: str | None = None

    def name_of(self, ref: str) -> str | None:
        """The name behind a reference, or None for a reference of no one."""
        return self.players.get(ref) or self.teams.get(ref)

    @property
    def refs(self) -> dict[str, str]:
        return {**self.teams, **self.players}

    def player_ref(self, action: Action) -> str | None:
        key = player_key(action)
        return self.player_ref_by_key.get(key) if key is not None else None

    def team_ref(self, action: Action) -> str | None:
        return self.team_ref_by_id.get(action.team_id)


def _display_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = clean_text(raw)[:_NAME_MAX_CHARS].strip()
    return name or None


def build_slots(batch: Batch) -> SlotTable:
    """References for every team and player of ``batch`` (deterministic for a batch)."""
    info = batch.match_info
    teams: dict[str, str] = {}
    team_ref_by_id: dict[int, str] = {}
    home_ref = away_ref = None
    if info is not None:
        for team_id, name_ko, name_en in (
            (info.home_team_id, info.home_team_name_ko, info.home_team_name),
            (info.away_team_id, info.away_team_name_ko, info.away_team_name),
        ):
            ref = f"T{len(teams) + 1}"
            teams[ref] = _display_name(name_ko) or _display_name(name_en) or f"팀 {team_id}"
            if team_id is not None:
                team_ref_by_id[team_id] = ref
        home_ref, away_ref = "T1", "T2"
    players: dict[str, str] = {}
    player_ref_by_key: dict[str, str] = {}
    team_of_player: dict[str, str] = {}
    position_of_player: dict[str, str] = {}

    def team_ref_of(team_id: int, name: str | None) -> str:
        ref = team_ref_by_id.get(team_id)
        if ref is None:
            ref = f"T{len(teams) + 1}"
            teams[ref] = _display_name(name) or f"팀 {team_id}"
            team_ref_by_id[team_id] = ref
        return ref

    for action in batch.actions:
        team_ref_of(action.team_id, action.team_name_ko)
    # The players the match story is about come first, so the story can name them.
    for key, name, team_id in notable_players(batch.story):
        ref = f"P{len(players) + 1}"
        player_ref_by_key[key] = ref
        players[ref] = _display_name(name) or "선수"
        team_of_player[ref] = team_ref_of(team_id, None)
    for action in batch.actions:
        team_ref = team_ref_of(action.team_id, action.team_name_ko)
        key = player_key(action)
        if key is None or key in player_ref_by_key:
            continue
        ref = f"P{len(players) + 1}"
        player_ref_by_key[key] = ref
        # A player id is a database id, not the number on a shirt: nameless is 선수.
        players[ref] = _display_name(action.player_name_ko) or "선수"
        team_of_player[ref] = team_ref
        position = _display_name(action.main_position or action.position_name)
        if position:
            position_of_player[ref] = position
    return SlotTable(
        players=players,
        teams=teams,
        team_ref_by_id=team_ref_by_id,
        player_ref_by_key=player_ref_by_key,
        team_of_player=team_of_player,
        position_of_player=position_of_player,
        home_ref=home_ref,
        away_ref=away_ref,
    )


def find_placeholders(text: str) -> list[str]:
    """Every ``{...}`` reference in ``text``, in order (known or not)."""
    return PLACEHOLDER_RE.findall(text)


def _split_particle(run: str) -> tuple[str, str] | None:
    """(alternating particle, rest) when the Hangul ``run`` after a placeholder is one,
    possibly followed by a plain particle (과의, 와도); None for anything else (의, 에게,
    선수...), which is left as written."""
    if _alternates(run):
        return run, ""
    for form in _LEADING_PARTICLES:
        rest = run[len(form) :]
        if run.startswith(form) and rest in _TRAILING_PARTICLES:
            return form, rest
    return None


def _starts_sentence(text: str, at: int) -> bool:
    """Whether position ``at`` of ``text`` starts a sentence (quotes and spaces skipped)."""
    before = text[:at].rstrip(" " + _OPENERS)
    return not before or before[-1] in _SENTENCE_END


def fill_slots(text: str, slots: SlotTable) -> tuple[str, list[str]]:
    """``text`` with every known reference replaced by its name (particle fixed).

    Returns the filled text and the references it did not know (left as written).
    """
    unknown: list[str] = []
    out: list[str] = []
    pos = 0
    for match in PLACEHOLDER_RE.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        ref = match.group(1)
        name = slots.name_of(ref)
        pos = match.end()
        if name is None:
            unknown.append(ref)
            out.append(match.group(0))
            continue
        run_match = _HANGUL_RUN_RE.match(text, pos)
        split = _split_particle(run_match.group(0)) if run_match else None
        if split is None:
            out.append(name)
            if name.endswith(".") and text[pos : pos + 1] == "." and text[pos + 1 : pos + 2] != ".":
                pos += 1  # 박지성 Jr. closing a sentence: one stop, not two
            continue
        particle, rest = split
        if particle == "야" and not _starts_sentence(text, match.start()):
            particle = "이야/야"  # a statement's end (손흥민이야), not a call (손흥민아)
        out.append(attach_particle(name, particle) + rest)
        pos = run_match.end() if run_match else pos
    out.append(text[pos:])
    return "".join(out), unknown


def names_in_batch(batch: Batch, slots: SlotTable | None = None) -> set[str]:
    """Names a line of this batch may mention: its players and teams, the match's teams."""
    slots = slots or build_slots(batch)
    names = set(slots.players.values()) | set(slots.teams.values())
    names.update(_raw_names(batch))
    return {n for n in names if n}


def _raw_names(batch: Batch) -> Iterable[str]:
    for action in batch.actions:
        for raw in (action.player_name_ko, action.team_name_ko):
            name = _display_name(raw)
            if name:
                yield name
    info = batch.match_info
    if info is not None:
        for raw in (
            info.home_team_name_ko,
            info.home_team_name,
            info.away_team_name_ko,
            info.away_team_name,
        ):
            name = _display_name(raw)
            if name:
                yield name
