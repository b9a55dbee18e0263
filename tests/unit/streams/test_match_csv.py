"""Reading match CSVs of a match unlike the samples: Korean names, other ids, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitchcast.streams.match_csv import MalformedCsv, read_actions, read_match_info
from tests.support.unseen_match import GAME_ID, HOME, match_actions, write_match


def test_korean_match_reads_back_as_written(tmp_path: Path) -> None:
    """Korean names (with spaces and a Latin part) and K League-size ids survive the CSV."""
    path = write_match(tmp_path)
    assert list(read_actions(path)) == match_actions()
    info = read_match_info(path.parent / "match_info.csv")[GAME_ID]
    assert (info.home_team_id, info.home_team_name_ko) == (HOME[0], HOME[1])


@pytest.mark.parametrize("name", ["raw_data.csv", "match_info.csv"])
def test_a_cp949_file_is_refused_with_its_line_and_the_cause(tmp_path: Path, name: str) -> None:
    """Excel saves Korean CSVs as CP949: a clear error names the line, not a traceback."""
    path = write_match(tmp_path).parent / name
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # The header is ASCII; the first row with Korean text is line 2.
    path.write_bytes(lines[0].encode() + "".join(lines[1:]).encode("cp949"))
    with pytest.raises(MalformedCsv) as caught:
        if name == "raw_data.csv":
            list(read_actions(path))
        else:
            read_match_info(path)
    assert caught.value.line == 2
    assert "not UTF-8" in str(caught.value) and "CP949" in str(caught.value)


@pytest.mark.parametrize(("column", "text"), [("action_id", "3.7"), ("team_id", "4220.5")])
def test_a_fractional_id_is_refused_not_truncated(tmp_path: Path, column: str, text: str) -> None:
    """An id written as a float is read when whole ("12.0", as pandas writes an int column
    with gaps); a fraction is a broken row, not id 3 (which would drop as a duplicate)."""
    path = write_match(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    row = lines[2].rstrip("\r\n").split(",")
    row[header.index(column)] = text
    whole = lines[3].rstrip("\r\n").split(",")
    whole[header.index(column)] += ".0"
    path.write_text("".join([*lines[:2], ",".join(row) + "\r\n", ",".join(whole) + "\r\n"]))
    with pytest.raises(MalformedCsv) as caught:
        list(read_actions(path))
    assert caught.value.line == 3 and f"{column!r}: {text!r} is not a whole number" in str(
        caught.value
    )
    path.write_text("".join([lines[0], ",".join(whole) + "\r\n"]))
    assert [a[column] for a in read_actions(path)] == [match_actions()[2][column]]


@pytest.mark.parametrize(("column", "text"), [("time_seconds", "inf"), ("start_x", "-Infinity")])
def test_a_number_that_is_not_finite_is_refused_with_its_line(
    tmp_path: Path, column: str, text: str
) -> None:
    """``float()`` reads "inf"; the row would reach the broker and be refused there as a
    missing value (JSON has no infinity). The CSV's own line says what is wrong instead."""
    path = write_match(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    row = lines[2].rstrip("\r\n").split(",")
    row[header.index(column)] = text
    path.write_text("".join([*lines[:2], ",".join(row) + "\r\n"]))
    with pytest.raises(MalformedCsv) as caught:
        list(read_actions(path))
    assert caught.value.line == 3 and f"{column!r}: {text!r} is not a finite number" in str(
        caught.value
    )
