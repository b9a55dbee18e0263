"""The forms of a feed file read through (the rows; their meaning: test_match_csv.py)."""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pitchcast.streams.feed_files import MalformedCsv, feed_rows


def _rows(path: Path) -> list[tuple[int, dict[str | None, str | None]]]:
    return list(feed_rows(path).rows)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_the_one_the_first_line_uses(tmp_path: Path, delimiter: str) -> None:
    """A comma inside a field (quoted in a comma file) stays in the field; spaces around
    a column name are not part of it."""
    path = tmp_path / "m.csv"
    field = '"x,y"' if delimiter == "," else "x,y"
    path.write_text(delimiter.join(["a", " b "]) + "\n" + delimiter.join(["1", field]) + "\n")
    feed = feed_rows(path)
    assert feed.header == ("a", "b")
    assert list(feed.rows) == [(2, {"a": "1", "b": "x,y"})]


def test_a_cp949_file_reads_as_korean(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("name\n세징야\n대구FC\n".encode("cp949"))
    assert [row["name"] for _, row in _rows(path)] == ["세징야", "대구FC"]


def test_a_gzip_file_is_read_whatever_its_name_and_a_broken_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(gzip.compress("name\n세징야\n".encode()))
    assert _rows(path) == [(2, {"name": "세징야"})]
    path.write_bytes(gzip.compress(b"name\n")[:12])
    with pytest.raises(MalformedCsv, match=r"m.csv:1: a broken gzip file"):
        feed_rows(path)


def test_json_lines_skip_blank_lines_and_control_records_and_keep_line_numbers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"control": "match_start"}\n\n{"a": 1.5, "b": null, "c": true}\n')
    feed = feed_rows(path)
    assert feed.header is None
    assert list(feed.rows) == [(3, {"a": "1.5", "b": "", "c": "true"})]


def test_a_json_array_says_to_write_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('[{"a": 1}]')
    with pytest.raises(MalformedCsv, match=r"m.json:1: a JSON array: write one object a line"):
        feed_rows(path)


def _zip(path: Path, names: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "x")


@pytest.mark.parametrize(
    ("name", "write", "expected"),
    [
        ("m.xlsx", lambda p: _zip(p, ["[Content_Types].xml", "xl/workbook.xml"]),
         "an Excel workbook, not a CSV: save the sheet as CSV UTF-8"),
        ("m.xls", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)),
         "an Excel workbook, not a CSV: save the sheet as CSV UTF-8"),
        ("m.zip", lambda p: _zip(p, ["m.csv"]),
         "a zip archive: unzip it and give the CSV (gzip is read as it is)"),
        ("m.csv", lambda p: p.write_bytes(b""), "an empty file"),
        ("m.csv", lambda p: p.write_text("\r\n\n  \n"), "an empty file"),
    ],
)  # fmt: skip
def test_a_file_that_is_no_feed_at_all_says_what_it_is(
    tmp_path: Path, name: str, write: Callable[[Path], object], expected: str
) -> None:
    # An .xlsx given as it is said "not UTF-8 text (byte 0x88 at column 13)"; an empty
    # file listed 16 missing columns.
    path = tmp_path / name
    write(path)
    with pytest.raises(MalformedCsv) as caught:
        feed_rows(path)
    assert str(caught.value) == f"{path}:1: {expected}"


def test_a_json_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    # json.loads keeps the last value without a word (the worker refuses such a message).
    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\n{"team_id": 12, "a": 2, "team_id": 99}\n')
    with pytest.raises(MalformedCsv, match=r"m.jsonl:2: key 'team_id' given twice \(12, 99\)"):
        list(feed_rows(path).rows)
