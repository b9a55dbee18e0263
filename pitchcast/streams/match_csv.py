"""Read match CSVs in the K League column layout (``raw_data.csv``, ``match_info.csv``)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pitchcast.exceptions import SchemaViolation
from pitchcast.schemas.decoding import match_info_from_mapping
from pitchcast.schemas.records import MatchInfo

__all__ = [
    "ACTION_COLUMNS",
    "MalformedCsv",
    "first_game_id",
    "match_info_beside",
    "read_actions",
    "read_match_info",
]

ACTION_COLUMNS: tuple[str, ...] = (
    "game_id", "action_id", "period_id", "time_seconds", "team_id", "player_id",
    "result_name", "start_x", "start_y", "end_x", "end_y", "dx", "dy", "type_name",
    "player_name_ko", "team_name_ko", "position_name", "main_position",
)  # fmt: skip
_OPTIONAL = frozenset({"position_name", "main_position"})
_INT_COLUMNS = frozenset({"game_id", "action_id", "period_id", "team_id"})
_FLOAT_COLUMNS = frozenset(
    {"time_seconds", "player_id", "start_x", "start_y", "end_x", "end_y", "dx", "dy"}
)


class MalformedCsv(SchemaViolation):
    """A CSV row that does not fit the K League layout; carries the line number."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


def _not_utf8(path: Path) -> MalformedCsv:
    """The error for a file that is not UTF-8, at the first line that is not."""
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = line[exc.start]
            return MalformedCsv(
                path,
                number,
                f"not UTF-8 text (byte 0x{byte:02x} at column {exc.start + 1}); a Korean CSV"
                " saved by Excel is often CP949: save it as UTF-8"
                " (iconv -f cp949 -t utf-8)",
            )
    return MalformedCsv(path, 1, "not UTF-8 text")


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
        raise MalformedCsv(path, line, f"column {column!r}: {text!r} is not a number") from None
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
    """Rows of a match CSV as action dicts, typed; raises :class:`MalformedCsv`."""
    try:
        yield from _read_actions(path)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _read_actions(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in ACTION_COLUMNS if c not in header and c not in _OPTIONAL]
        if missing:
            raise MalformedCsv(path, 1, f"missing columns: {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise MalformedCsv(path, line, "wrong number of fields")
            action = {c: _convert(path, line, c, row.get(c) or "") for c in ACTION_COLUMNS}
            for column in ("game_id", "action_id", "period_id", "time_seconds", "type_name"):
                if action[column] is None:
                    raise MalformedCsv(path, line, f"column {column!r} is empty")
            yield action


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


def read_match_info(path: Path) -> dict[int, MatchInfo]:
    """``match_info.csv`` rows by game_id; raises :class:`MalformedCsv`."""
    try:
        return _read_match_info(path)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _read_match_info(path: Path) -> dict[int, MatchInfo]:
    infos: dict[int, MatchInfo] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
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
                raise MalformedCsv(path, reader.line_num, str(exc)) from None
            infos[info.game_id] = info
    return infos
