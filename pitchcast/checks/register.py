"""The ending of a line: which register a persona speaks in, line by line.

Korean marks register and tone at the end of the sentence. A broadcast caster mixes the
formal ``~니다`` with ``~죠``, ``~네요`` and short noun-only calls ("골키퍼 정면!"); an analyst
speaks in ``~죠`` / ``~요``; a friend in 반말 (``~다``, ``~어/아``, ``~네``, ``~지``, ``~야``).
:func:`ending_of` reads the last sentence of a line (its final word, punctuation and
closing quotes stripped) and names its ending class; ``pitchcast eval`` reports the mix
per persona.
"""

from __future__ import annotations

import re

__all__ = ["ENDINGS", "ending_of"]

# Longest first: the first that the final word ends with wins.
_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("~니다", ("니다", "니까")),
    ("~죠", ("죠", "지요")),
    ("~네요", ("네요",)),
    ("~요", ("요",)),
    ("~네", ("네",)),
    ("~지", ("지",)),
    ("~다", ("다",)),
    ("~어/아", ("어", "아", "해", "와", "워", "줘", "봐", "냐", "니", "래", "대", "자", "라")),
    ("~야", ("야", "이야")),
)
ENDINGS: tuple[str, ...] = (*(name for name, _ in _CLASSES), "noun / call")
_TRAILING = re.compile(r"[\s.!?…~,'\"”’)\]]+$")


def ending_of(text: str) -> str:
    """The ending class of ``text``'s last sentence; ``noun / call`` when it ends on a word
    that is not a predicate ending (a name, a noun: "골키퍼 정면!")."""
    body = _TRAILING.sub("", text.strip())
    if not body:
        return "noun / call"
    word = body.split()[-1]
    for name, endings in _CLASSES:
        if word.endswith(endings) and len(word) > 1:
            return name
    return "noun / call"
