"""Reading match CSVs of a match unlike the samples: Korean names, other ids, encodings."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
from pathlib import Path

import pytest

from pitchcast.streams.match_csv import (
    MalformedCsv,
    match_info_for,
    read_actions,
    read_match_info,
)
from tests.support.unseen_match import GAME_ID, HOME, match_actions, write_match


def test_korean_match_reads_back_as_written(tmp_path: Path) -> None:
    """Korean names (with spaces and a Latin part) and K League-size ids survive the CSV."""
    path = write_match(tmp_path)
    assert list(read_actions(path)) == match_actions()
    info = read_match_info(path.parent / "match_info.csv")[GAME_ID]
    assert (info.home_team_id, info.home_team_name_ko) == (HOME[0], HOME[1])


def _saved_as(path: Path, save: str) -> Path:
    """``path`` re-saved as people save a CSV (Excel on Korean Windows, other tools)."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if save == "cp949":  # Excel's "CSV (쉼표로 분리)" on Korean Windows
        path.write_bytes(text.encode("cp949"))
    elif save == "utf-8 BOM, CRLF, blank lines at the end":  # Excel's "CSV UTF-8"
        path.write_bytes(("\ufeff" + text.replace("\n", "\r\n") + "\r\n\r\n").encode())
    elif save == "utf-16 tabs":  # Excel's "유니코드 텍스트"
        out = io.StringIO()
        csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows(rows)
        path.write_bytes(out.getvalue().encode("utf-16"))
    elif save == "semicolons":
        out = io.StringIO()
        csv.writer(out, delimiter=";").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    elif save == "columns reordered, one more":
        order = [*reversed(range(len(rows[0])))]
        out = io.StringIO()
        csv.writer(out).writerows(
            [
                [r[i] for i in order] + [x]
                for r, x in zip(rows, ["memo", *["메모"] * (len(rows) - 1)], strict=True)
            ]
        )
        path.write_text(out.getvalue(), encoding="utf-8")
    elif save == "gzip":
        path.write_bytes(gzip.compress(text.encode()))
    return path


_SAVES = ["cp949", "utf-8 BOM, CRLF, blank lines at the end", "utf-16 tabs", "semicolons",
          "columns reordered, one more", "gzip"]  # fmt: skip


@pytest.mark.parametrize("save", _SAVES)
def test_a_feed_saved_as_people_save_it_reads_as_the_utf8_csv(tmp_path: Path, save: str) -> None:
    """The match CSV and its match_info.csv read back the same, Korean names intact,
    however a person's tool saved them."""
    path = _saved_as(write_match(tmp_path), save)
    _saved_as(path.parent / "match_info.csv", save)
    assert list(read_actions(path)) == match_actions()
    info = read_match_info(path.parent / "match_info.csv")[GAME_ID]
    assert (info.home_team_id, info.home_team_name_ko) == (HOME[0], HOME[1])


def test_a_json_lines_feed_reads_as_the_csv(tmp_path: Path) -> None:
    """One action object a line with the CSV's column names as keys (a dump of
    match-events too: its control records are left out, as replay writes its own)."""
    path = tmp_path / "feed.jsonl"
    records = [{"game_id": GAME_ID, "control": "match_start"}, *match_actions()]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) + "\n")
    assert list(read_actions(path)) == match_actions()


@pytest.mark.parametrize("name", ["raw_data.csv", "match_info.csv"])
def test_a_file_neither_utf8_nor_korean_is_refused_with_its_line(tmp_path: Path, name: str) -> None:
    """Latin-1 "Åke" is two bytes CP949 reads as one rare Hangul syllable: such a file
    (no Korean of the common 2,350 syllables) is refused with its line and what to do,
    not read as made-up Korean, nor a traceback."""
    path = write_match(tmp_path).parent / name
    lines = re.sub(r"[^\x00-\x7f]+", "X", path.read_text(encoding="utf-8")).splitlines(True)
    lines[1] = lines[1].replace(",", ",\u00c5ke ", 1)
    path.write_bytes("".join(lines).encode("latin-1"))
    with pytest.raises(MalformedCsv) as caught:
        if name == "raw_data.csv":
            list(read_actions(path))
        else:
            read_match_info(path)
    assert caught.value.line == 2
    assert "not UTF-8" in str(caught.value) and "save it as UTF-8" in str(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"game_id": 1,', "line 2: not JSON"),
        ("[1, 2]", "line 2: not a JSON object"),
    ],
)
def test_a_broken_json_line_is_refused_with_its_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps(match_actions()[0], ensure_ascii=False) + "\n" + line + "\n")
    with pytest.raises(MalformedCsv) as caught:
        list(read_actions(path))
    assert caught.value.line == 2 and expected.split(": ", 1)[1] in str(caught.value)


def test_a_missing_column_says_which_and_what_the_file_needs(tmp_path: Path) -> None:
    path = write_match(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(",".join(r.split(",")[:4] + r.split(",")[5:]) for r in lines))
    with pytest.raises(MalformedCsv, match=r":1: missing columns: team_id \(.*raw_data.csv"):
        list(read_actions(path))


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


def test_a_decimal_comma_says_to_write_a_point(tmp_path: Path) -> None:
    # A semicolon CSV from a European Excel writes 57,75: "'57,75' is not a number"
    # left the reader to guess why.
    path = _saved_as(write_match(tmp_path), "semicolons")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(";")
    row = lines[1].rstrip("\r\n").split(";")
    row[header.index("start_x")] = "57,75"
    path.write_text("".join([lines[0], ";".join(row) + "\n"]), encoding="utf-8")
    with pytest.raises(MalformedCsv, match=r":2: column 'start_x': .* is not a number"
                       r" \(a decimal comma\? write a point: 57.75\)"):  # fmt: skip
        list(read_actions(path))


def test_a_column_named_twice_is_refused_not_decided(tmp_path: Path) -> None:
    # A copy of team_id pasted at the end (other values) was read silently: the last won.
    path = write_match(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",team_id", *(row + ",99" for row in lines[1:])]))
    with pytest.raises(
        MalformedCsv, match=r":1: column 'team_id' is named twice \(columns 5 and 19\)"
    ):
        list(read_actions(path))


def test_a_match_info_beside_without_the_game_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The user's own raw_data.csv beside a match_info.csv of other games was replayed
    # (and evaluated) without its match info, without a word.
    path = write_match(tmp_path, game_id=GAME_ID + 1)
    write_match(tmp_path / "other")  # a match_info.csv of GAME_ID only
    (tmp_path / "other" / "match_info.csv").replace(tmp_path / "match_info.csv")
    with caplog.at_level(logging.WARNING, "pitchcast.feed"):
        assert match_info_for(path, [GAME_ID + 1]) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"pitchcast.match_info_missing {tmp_path / 'match_info.csv'} has no row for game"
        f" {GAME_ID + 1} (its games: {GAME_ID}): played without match info"
    ]


def test_a_given_match_info_without_the_game_is_refused(tmp_path: Path) -> None:
    path = write_match(tmp_path)
    with pytest.raises(MalformedCsv, match=r"match_info.csv:1: no row for game 917 or 918$"):
        match_info_for(path, [917, 918], given=path.parent / "match_info.csv")
    info = match_info_for(path, [917, GAME_ID])
    assert info is not None and info.game_id == GAME_ID


def test_a_match_info_file_given_as_the_match_says_where_it_goes(tmp_path: Path) -> None:
    # `pitchcast replay match_info.csv` listed 14 missing columns.
    path = write_match(tmp_path).parent / "match_info.csv"
    with pytest.raises(MalformedCsv) as caught:
        list(read_actions(path))
    assert str(caught.value) == (
        f"{path}:1: a match info file, not a match's actions: give it with --match-info"
        " (or leave it beside the match file) and the actions as FILE"
    )
