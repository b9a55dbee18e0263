"""Read match files in the K League column layout (``raw_data.csv``, ``match_info.csv``).

The file forms read (gzip, encodings, delimiters, JSON lines): :mod:`pitchcast.streams.feed_files`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pitchcast.exceptions import SchemaViolation
from pitchcast.schemas.decoding import match_info_from_mapping
from pitchcast.schemas.records import MatchInfo
from pitchcast.streams.feed_files import MalformedCsv, feed_rows

__all__ = [
    "ACTION_COLUMNS",
    "MalformedCsv",
    "first_game_id",
    "match_info_beside",
    "match_info_for",
    "read_actions",
    "read_match_info",
]

ACTION_COLUMNS: tuple[str, ...] = (
    "game_id", "action_id", "period_id", "time_seconds", "team_id", "player_id",
    "result_name", "start_x", "start_y", "end_x", "end_y", "dx", "dy", "type_name",
    "player_name_ko", "team_name_ko", "position_name", "main_position",
)  # fmt: skip
_log = logging.getLogger("pitchcast.feed")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_OPTIONAL = frozenset({"position_name", "main_position"})
_INT_COLUMNS = frozenset({"game_id", "action_id", "period_id", "team_id"})
_FLOAT_COLUMNS = frozenset(
    {"time_seconds", "player_id", "start_x", "start_y", "end_x", "end_y", "dx", "dy"}
)


def _convert(path: Path, line: int, column: str, text: str) -> Any:
    text = text.strip()
    if text == "" or text.lower() == "nan":
        return None
    if column not in _INT_COLUMNS and column not in _FLOAT_COLUMNS:
        return text
    try:
        # "12.0" in an int column: pandas writes an int column with gaps as floats.
        number = int(text) if column in _INT_COLUMNS and "." not in text else float(text)
    except ValueError:
        hint = ""
        if _DECIMAL_COMMA.fullmatch(text):
            hint = f" (a decimal comma? write a point: {text.replace(',', '.')})"
        raise MalformedCsv(
            path, line, f"column {column!r}: {text!r} is not a number{hint}"
        ) from None
    if isinstance(number, int):
        return number
    if not math.isfinite(number):  # float() reads "inf"; JSON cannot carry it
        raise MalformedCsv(path, line, f"column {column!r}: {text!r} is not a finite number")
    if column in _FLOAT_COLUMNS:
        return number
    if not number.is_integer():
        raise MalformedCsv(path, line, f"column {column!r}: {text!r} is not a whole number")
    return int(number)


def read_actions(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a match feed file as action dicts, typed; raises :class:`MalformedCsv`.

    A CSV in the ``raw_data.csv`` layout (columns in any order, unknown ones ignored)
    or JSON lines keyed by the same names, in the forms :mod:`pitchcast.streams.feed_files`
    reads (gzip, UTF-8, UTF-16, Korean CP949; commas, semicolons or tabs)."""
    feed = feed_rows(path)
    if feed.header is not None:
        missing = _missing(feed.header)
        if missing and {"home_team_id", "away_team_id"} <= set(feed.header):
            raise MalformedCsv(
                path,
                1,
                "a match info file, not a match's actions: give it with --match-info"
                " (or leave it beside the match file) and the actions as FILE",
            )
        if missing:
            raise MalformedCsv(path, 1, f"missing columns: {missing} ({_LAYOUT})")
        for column in ACTION_COLUMNS:
            at = [i for i, name in enumerate(feed.header, start=1) if name == column]
            if len(at) > 1:
                raise MalformedCsv(
                    path, 1, f"column {column!r} is named twice (columns {at[0]} and {at[1]})"
                )
    for line, row in feed.rows:
        if None in row or any(v is None for v in row.values()):
            raise MalformedCsv(path, line, "wrong number of fields")
        if feed.header is None and (missing := _missing(row)):
            raise MalformedCsv(path, line, f"missing keys: {missing} ({_LAYOUT})")
        action = {c: _convert(path, line, c, row.get(c) or "") for c in ACTION_COLUMNS}
        for column in ("game_id", "action_id", "period_id", "time_seconds", "type_name"):
            if action[column] is None:
                raise MalformedCsv(path, line, f"column {column!r} is empty")
        yield action


_LAYOUT = "a match file needs the columns of K League's raw_data.csv, in any order: README, Data"


def _missing(names: Iterable[str | None]) -> str:
    present = set(names)
    return ", ".join(c for c in ACTION_COLUMNS if c not in present and c not in _OPTIONAL)


def first_game_id(path: Path) -> int | None:
    """The game id of the first action of a match CSV (None when it has no rows)."""
    for action in read_actions(path):
        return int(action["game_id"])
    return None


def match_info_beside(path: Path) -> Path | None:
    """``match_info.csv`` in the folder of match CSV ``path``, if there is one: where
    ``pitchcast replay`` and ``pitchcast eval`` look when no --match-info is given."""
    beside = path.parent / "match_info.csv"
    return beside if beside.is_file() else None


def match_info_for(
    path: Path, games: Sequence[int], *, given: Path | None = None
) -> MatchInfo | None:
    """The match info row of the first of ``games`` (the id a match is played under,
    then its own), from ``given``, else from the ``match_info.csv`` beside ``path``;
    None without a file. ``given`` without such a row is a :class:`MalformedCsv`; the
    file beside without one is a warning (it may hold other games), and None."""
    info_file = given or match_info_beside(path)
    if info_file is None:
        return None
    infos = read_match_info(info_file)
    info = next((infos[g] for g in games if g in infos), None)
    if info is None:
        wanted = " or ".join(str(g) for g in dict.fromkeys(games))
        if given is not None:
            raise MalformedCsv(given, 1, f"no row for game {wanted}")
        held = ", ".join(str(g) for g in list(infos)[:5]) + (", ..." if len(infos) > 5 else "")
        _log.warning(
            "pitchcast.match_info_missing %s has no row for game %s (its games: %s):"
            " played without match info",
            info_file,
            wanted,
            held or "none",
        )
    return info


def read_match_info(path: Path) -> dict[int, MatchInfo]:
    """``match_info.csv`` rows by game_id, in the forms :func:`read_actions` reads;
    raises :class:`MalformedCsv`."""
    infos: dict[int, MatchInfo] = {}
    for line, row in feed_rows(path).rows:
        try:
            converted = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
            for column in (
                "game_id", "season_id", "competition_id", "game_day",
                "home_team_id", "away_team_id", "home_score", "away_score",
            ):  # fmt: skip
                value = converted.get(column)
                if value:
                    converted[column] = int(float(value))
            info = match_info_from_mapping(converted)
        except (ValueError, SchemaViolation) as exc:
            raise MalformedCsv(path, line, str(exc)) from None
        infos[info.game_id] = info
    return infos
