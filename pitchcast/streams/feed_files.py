"""Open a match feed file as people save it: its bytes to rows of text fields.

Read through, whatever the file's name (an Excel workbook, a zip archive or an empty
file is named as such, with what to do):

- gzip (its magic bytes): the file inside is read as below;
- UTF-8, with or without a BOM; UTF-16 with a BOM (Excel's "유니코드 텍스트");
- CP949 / EUC-KR (Excel's "CSV (쉼표로 분리)" on Korean Windows), only when the file is
  not UTF-8 and reads as Korean: it holds Hangul, most of its syllables among KS X
  1001's 2,350 common ones, and nothing but Hangul, hanja, CJK punctuation and ASCII.
  A file in another legacy code (Latin-1 "Åke" is one rare syllable in CP949) is
  refused with its first line that is not UTF-8, never read as made-up Korean;
- a CSV delimited by commas, semicolons or tabs (the one its first line uses most);
- JSON lines: one object a line, keyed by the column names (a first character ``{``).

Every failure is a :class:`MalformedCsv` naming the file, the line and what to do.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pitchcast.exceptions import SchemaViolation

__all__ = ["FeedRows", "MalformedCsv", "feed_rows"]

_log = logging.getLogger("pitchcast.feed")

_SAVE_AS_UTF8 = "save it as UTF-8 (Excel: CSV UTF-8; or iconv -t utf-8)"
_DELIMITERS = (",", ";", "\t")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an .xls workbook (and other OLE files)
# Besides ASCII, what a Korean match file holds: Hangul syllables and jamo, hanja,
# CJK and general punctuation (·, ‘’, “”), fullwidth forms, enclosed signs (㈜).
_NOT_KOREAN_TEXT = re.compile(
    "[^\x00-\x7f\u00b7\u00d7\u2010-\u206f\u3000-\u303f\u3130-\u318f\u3200-\u32ff"
    "\u4e00-\u9fff\uac00-\ud7a3\uff00-\uffef]"
)
_HANGUL = re.compile("[\uac00-\ud7a3]")
_COMMON_SYLLABLES_SHARE = 0.9


class MalformedCsv(SchemaViolation):
    """A feed file's row that does not fit the K League layout; carries the line number."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class FeedRows:
    """A feed file's rows: ``(line number, {column: text})``; ``header`` is None for
    JSON lines (each record has its own keys; a null is an empty text). A CSV row with
    too few fields has None values, too many a None key (as ``csv.DictReader``)."""

    header: tuple[str, ...] | None
    rows: Iterator[tuple[int, dict[str | None, str | None]]]


def feed_rows(path: Path) -> FeedRows:
    """The rows of the feed file at ``path`` (module docstring: the forms read)."""
    raw = path.read_bytes()
    forms = []
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise MalformedCsv(path, 1, f"a broken gzip file ({exc}): gzip -t says more") from None
        forms.append("gzip")
    if raw[:4] == b"PK\x03\x04" or raw[:8] == _OLE2:
        raise MalformedCsv(path, 1, _archive(raw))
    text, encoding = _decoded(path, raw)
    if not text.strip():
        raise MalformedCsv(path, 1, "an empty file")
    if encoding != "UTF-8":
        forms.append(encoding)
    opening = text.lstrip()[:1]
    if opening == "[":
        raise MalformedCsv(path, 1, "a JSON array: write one object a line (JSON lines)")
    if opening == "{":
        forms.append("JSON lines")
        rows = FeedRows(None, _json_rows(path, text))
    else:
        rows = _csv_rows(text, forms)
    if forms:
        _log.info("pitchcast.feed read %s as %s", path, ", ".join(forms))
    return rows


def _archive(raw: bytes) -> str:
    """What a zip file (an .xlsx is one) or an old .xls workbook is, and what to do."""
    workbook = "an Excel workbook, not a CSV: save the sheet as CSV UTF-8"
    if raw[:8] == _OLE2:
        return workbook
    try:
        names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except zipfile.BadZipFile:
        names = []
    if any(name.startswith("xl/") for name in names):
        return workbook
    return "a zip archive: unzip it and give the CSV (gzip is read as it is)"


def _decoded(path: Path, raw: bytes) -> tuple[str, str]:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].decode("utf-16", "replace").count("\n") + 1
            raise MalformedCsv(path, line, f"broken UTF-16 text: {_SAVE_AS_UTF8}") from None
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        korean = raw.decode("cp949")
    except UnicodeDecodeError:
        korean = None
    if korean is not None and _reads_as_korean(korean):
        return korean, "CP949"
    raise _not_utf8(path, raw)


def _reads_as_korean(text: str) -> bool:
    """True when CP949-decoded ``text`` is plausibly Korean (module docstring)."""
    if _NOT_KOREAN_TEXT.search(text):
        return False
    syllables = set(_HANGUL.findall(text))
    if not syllables:
        return False
    common = sum(1 for s in syllables if _in_ks_x_1001(s))
    return common >= _COMMON_SYLLABLES_SHARE * len(syllables)


def _in_ks_x_1001(syllable: str) -> bool:
    # Python's euc_kr writes the others as 8-byte jamo sequences (KS X 1001 annex 3).
    try:
        return len(syllable.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def _not_utf8(path: Path, raw: bytes) -> MalformedCsv:
    """The error for a file that is not UTF-8, at the first line that is not."""
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = line[exc.start]
            return MalformedCsv(
                path,
                number,
                f"not UTF-8 text (byte 0x{byte:02x} at column {exc.start + 1}), nor Korean"
                f" CP949: {_SAVE_AS_UTF8}",
            )
    return MalformedCsv(path, 1, f"not UTF-8 text: {_SAVE_AS_UTF8}")


def _csv_rows(text: str, forms: list[str]) -> FeedRows:
    first = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first.count)  # ties: the comma, listed first
    if delimiter != ",":
        forms.append({";": "semicolon", "\t": "tab"}[delimiter] + "-delimited")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = tuple(name.strip() for name in reader.fieldnames or ())
    reader.fieldnames = list(header)

    def rows() -> Iterator[tuple[int, dict[str | None, str | None]]]:
        for row in reader:
            yield reader.line_num, row  # type: ignore[misc]

    return FeedRows(header, rows())


def _json_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str | None, str | None]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=functools.partial(_once, path, number))
        except json.JSONDecodeError as exc:
            raise MalformedCsv(
                path, number, f"not JSON ({exc.msg} at column {exc.colno}): one object a line"
            ) from None
        if not isinstance(record, dict):
            raise MalformedCsv(path, number, "not a JSON object: one object a line")
        if "control" in record:  # match_start, period_end...: replay writes its own
            continue
        yield number, {key: _json_text(value) for key, value in record.items()}


def _once(path: Path, line: int, pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are each given once (``json`` keeps the last silently)."""
    record: dict[str, object] = {}
    for key, value in pairs:
        if key in record:
            raise MalformedCsv(path, line, f"key {key!r} given twice ({record[key]!r}, {value!r})")
        record[key] = value
    return record


def _json_text(value: object) -> str:
    """A JSON value as the CSV would hold it: null empty, a number as written; true,
    an object or a list as JSON text (a number column then refuses it)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
