"""Read commentary lines out of a model's answer, incrementally, as it streams in.

Two shapes are read, whatever the request asked for (a model with structured outputs
off may still answer in JSON):

* lines: ``n|tone|text``, one per line; prose, blank lines and code fences around them
  are skipped (``1 | calm | ...`` and ``- 1|calm|...`` are read too);
* JSON, bare or inside a code fence or prose: ``{"lines":[[n,"tone","text"],...]}``, a
  bare list of such triples, or objects such as ``{"n":1,"tone":..,"text":..}``.

:class:`AnswerParser` hands out each item as soon as it is complete: a line when its
newline arrives, a JSON item when its closing bracket does. Nothing here validates:
rows, tones and texts come out as written (see :mod:`.validation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["AnswerParser", "ParsedItem", "parse_answer"]

_LINE_RE = re.compile(r"^\s*(?:[-*•]\s*)?\[?(\d{1,4})\]?\s*[|｜]\s*([^|｜]*?)\s*[|｜]\s*(.*?)\s*$")
# Where a JSON answer starts: an object with a key, or a list of lists/objects.
# (A bare "{" is not enough: {P1} placeholders start with one.)
_JSON_START_RE = re.compile(r'\{\s*"|\[\s*[\[{]')
_FENCE_RE = re.compile(r"^\s*(```|~~~)")

_ROW_KEYS = ("n", "row", "번호", "id", "index", "action_id")
_TONE_KEYS = ("tone", "톤")
_TEXT_KEYS = ("text", "description", "해설", "line", "commentary")


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One line as the model wrote it: action number, tone, text (with placeholders)."""

    row: int
    tone: str
    text: str


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _item_from_json(value: Any) -> ParsedItem | None:
    """A triple ``[n, tone, text]`` or an object with row/tone/text keys; else None."""
    if isinstance(value, list) and len(value) >= 3:
        row = _int_or_none(value[0])
        if row is not None and isinstance(value[1], str) and isinstance(value[2], str):
            return ParsedItem(row, value[1], value[2])
        return None
    if isinstance(value, dict):
        row = next((_int_or_none(value[k]) for k in _ROW_KEYS if k in value), None)
        tone = next((value[k] for k in _TONE_KEYS if k in value), None)
        text = next((value[k] for k in _TEXT_KEYS if k in value), None)
        if row is not None and isinstance(tone, str) and isinstance(text, str):
            return ParsedItem(row, tone, text)
    return None


class _JsonScanner:
    """Finds complete leaf containers (no container inside) whose parent is a list.

    Those are the items of every JSON shape we read; each is decoded on its own, so a
    broken item further on does not lose the ones before it.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._pos = 0
        # (opening char, start offset, has a child container) per open container.
        self._stack: list[list[Any]] = []
        self._in_string = False
        self._escaped = False
        self.finished = False
        self.undecodable = 0

    def feed(self, chunk: str) -> tuple[list[ParsedItem], str]:
        """Items completed by ``chunk``, and what follows the JSON value if it ended."""
        items: list[ParsedItem] = []
        start_pos = self._pos
        self._buffer += chunk
        text = self._buffer
        for index in range(start_pos, len(text)):
            char = text[index]
            self._pos = index + 1
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif char == "\\":
                    self._escaped = True
                elif char == '"':
                    self._in_string = False
                continue
            if char == '"':
                self._in_string = True
            elif char in "[{":
                if self._stack:
                    self._stack[-1][2] = True
                self._stack.append([char, index, False])
            elif char in "]}":
                if not self._stack:
                    continue
                _opening, begin, has_child = self._stack.pop()
                parent_is_list = bool(self._stack) and self._stack[-1][0] == "["
                if not has_child and (parent_is_list or not self._stack):
                    item = self._decode(text[begin : index + 1])
                    if item is not None:
                        items.append(item)
                if not self._stack:
                    self.finished = True
                    return items, text[index + 1 :]
        return items, ""

    def _decode(self, fragment: str) -> ParsedItem | None:
        try:
            value = orjson.loads(fragment)
        except orjson.JSONDecodeError:
            self.undecodable += 1
            return None
        return _item_from_json(value)


class AnswerParser:
    """Incremental reader of one answer: :meth:`feed` text chunks, then :meth:`finish`."""

    def __init__(self) -> None:
        self._pending = ""
        self._json: _JsonScanner | None = None
        self.ignored_lines = 0
        self.text_parts: list[str] = []
        self._undecodable_done = 0
        # Complete JSON values read (an empty {"lines": []} is still the JSON shape).
        self.json_values = 0

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return "".join(self.text_parts)

    @property
    def undecodable_items(self) -> int:
        """JSON items that were complete but not valid JSON."""
        current = self._json.undecodable if self._json is not None else 0
        return self._undecodable_done + current

    def feed(self, chunk: str) -> list[ParsedItem]:
        """Items completed by ``chunk``, in the order they were written."""
        if not chunk:
            return []
        self.text_parts.append(chunk)
        return self._consume(chunk)

    def finish(self) -> list[ParsedItem]:
        """Items still held back (a last line without a newline)."""
        items: list[ParsedItem] = []
        if self._json is None and self._pending:
            rest, self._pending = self._pending, ""
            items.extend(self._line(rest, final=True))
        return items

    def _consume(self, chunk: str) -> list[ParsedItem]:
        items: list[ParsedItem] = []
        if self._json is not None:
            found, rest = self._json.feed(chunk)
            items.extend(found)
            if not self._json.finished:
                return items
            # The JSON value ended; whatever follows is read as lines again.
            self._undecodable_done += self._json.undecodable
            self.json_values += 1
            self._json = None
            chunk = rest
        self._pending += chunk
        while self._json is None and "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            items.extend(self._line(line, final=False))
        if self._json is None and not self._pending.lstrip().startswith(("{", "[")):
            return items
        if self._json is None:
            # A JSON answer with no newline before it: start scanning without waiting.
            start = _JSON_START_RE.search(self._pending)
            if start is not None and _LINE_RE.match(self._pending) is None:
                pending, self._pending = self._pending, ""
                items.extend(self._start_json(pending[start.start() :]))
        return items

    def _line(self, line: str, *, final: bool) -> list[ParsedItem]:
        match = _LINE_RE.match(line)
        if match is not None:
            return [ParsedItem(int(match.group(1)), match.group(2), match.group(3))]
        if not line.strip() or _FENCE_RE.match(line):
            return []
        start = _JSON_START_RE.search(line)
        if start is not None:
            # JSON, maybe after prose on the same line; the rest of the stream is its tail.
            rest, self._pending = self._pending, ""
            tail = "" if final else "\n" + rest
            return self._start_json(line[start.start() :] + tail)
        self.ignored_lines += 1
        return []

    def _start_json(self, text: str) -> list[ParsedItem]:
        self._json = _JsonScanner()
        return self._consume(text)


def parse_answer(text: str) -> list[ParsedItem]:
    """Every item of a complete answer (see :class:`AnswerParser`)."""
    parser = AnswerParser()
    return [*parser.feed(text), *parser.finish()]
