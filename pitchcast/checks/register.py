"""The ending of a line: which register a persona speaks in, line by line.

Korean marks register and tone at the end of the sentence. A broadcast caster mixes the
formal ``~니다`` with ``~죠``, ``~네요`` and short noun-only calls ("골키퍼 정면!"); an analyst
speaks in ``~죠`` / ``~요``; a friend in 반말 (``~다``, ``~어/아``, ``~네``, ``~지``, ``~야``).
:func:`ending_of` reads the last sentence of a line (its final word, punctuation and
closing quotes stripped) and names its ending class; ``pitchcast eval`` reports the mix
per persona.

:func:`register_slips` is the rule each persona keeps, sentence by sentence: CASTER and
ANALYST never end a sentence in 반말, FRIEND never in 존댓말 (no 해요체 slip). The
validation of LLM lines refuses a line that slips (the template, which keeps the same
rule, writes it instead, so a fallback line does not change voice), and ``pitchcast
eval`` counts slips on every line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "CASUAL",
    "ENDINGS",
    "POLITE",
    "REGISTERS",
    "ending_of",
    "register_slips",
    "sentence_endings",
]

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
POLITE: frozenset[str] = frozenset({"~니다", "~죠", "~네요", "~요"})
CASUAL: frozenset[str] = frozenset({"~네", "~지", "~다", "~어/아", "~야"})
_TRAILING = re.compile(r"[\s.!?…~,'\"”’)\]]+$")
# A sentence ends at . ! ? … (one or more) followed by a space or the end of the line.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


# Nouns that end like a predicate ("…까지!", "상대", "골대", "시야", "골 에어리어"): calls,
# whatever their last syllable.
_NOUN_ENDINGS = (
    "까지", "상대", "골대", "시야", "분야", "바다", "의지", "정지",
    "필요", "중요", "주요", "에어리어",
)  # fmt: skip


def _final_word(text: str) -> str:
    body = _TRAILING.sub("", text.strip())
    return body.split()[-1] if body else ""


def _has_final_b(syllable: str) -> bool:
    """The Hangul syllable ends in ㅂ (합, 갑: the formal 합니까, not the casual 하니까)."""
    code = ord(syllable) - 0xAC00
    return 0 <= code < 11172 and code % 28 == 17


def _class_of(word: str) -> str:
    if len(word) < 2 or word.endswith(_NOUN_ENDINGS):
        return "noun / call"
    if word.endswith("니까") and not (word.endswith("습니까") or _has_final_b(word[-3:-2] or " ")):
        return "~어/아"  # 하니까, 잘하니까: a casual reason, not the formal question
    for name, endings in _CLASSES:
        if word.endswith(endings):
            return name
    return "noun / call"


def _ends_on_a_name(sentence: str, names: Iterable[str]) -> bool:
    """The sentence's last word is a name (세징야!, ... 하창래.): a call, whatever the
    name's last syllable looks like (야, 래, 니, 지 end predicates too)."""
    body = _TRAILING.sub("", sentence.strip())
    for name in names:
        if name and body.endswith(name):
            before = body[: -len(name)]
            if not before or not before[-1].isalnum():
                return True
    return False


def ending_of(text: str, *, names: Iterable[str] = ()) -> str:
    """The ending class of ``text``'s last sentence; ``noun / call`` when it ends on a word
    that is not a predicate ending (a name of ``names``, a noun: "골키퍼 정면!")."""
    if _ends_on_a_name(text, names):
        return "noun / call"
    return _class_of(_final_word(text))


def sentence_endings(text: str, *, names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(final word, ending class) of every sentence of ``text``; a sentence that ends on
    a name of ``names`` is a call."""
    names = tuple(names)
    found = []
    for sentence in _SENTENCE_END.split(text.strip()):
        word = _final_word(sentence)
        if word:
            call = _ends_on_a_name(sentence, names)
            found.append((word, "noun / call" if call else _class_of(word)))
    return found


# Endings of the ~어/아 class that end nouns more often than 반말 at a line's end
# (상대, 수신자, 골라인...): not counted as a slip.
_CASUAL_ALLOWED_ENDS = ("대", "라", "자", "니", "래")


def _is_predicate(word: str) -> bool:
    """A word that can carry a register: two syllables or more after any reference."""
    core = word.rsplit("}", 1)[-1]  # "{P1}이야": only what follows a reference
    return len(core) >= 2 and not core.endswith(_NOUN_ENDINGS)


# Persona -> the ending classes it must not use.
REGISTERS: Mapping[str, frozenset[str]] = {
    "CASTER": CASUAL,
    "ANALYST": CASUAL,
    "FRIEND": POLITE,
}


def register_slips(text: str, persona: str, *, names: Iterable[str] = ()) -> list[str]:
    """The sentence endings of ``text`` outside ``persona``'s register ("넣었어" in a
    CASTER line, "좋아요" in a FRIEND line), as ``"word (~class)"``; empty when it keeps
    it (and for a persona without a rule). ``names`` are the names written into ``text``
    (an LLM line checked before its ``{P1}`` references are filled in needs none)."""
    banned = REGISTERS.get(persona.upper(), frozenset())
    slips = []
    for word, ending in sentence_endings(text, names=names):
        if ending not in banned or not _is_predicate(word):
            continue
        if ending == "~어/아" and word.endswith(_CASUAL_ALLOWED_ENDS):
            continue
        slips.append(f"{word} ({ending})")
    return slips
