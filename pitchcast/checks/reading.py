"""How the end of a word sounds when read aloud in Korean: what a particle depends on.

Written from the rules, not from :mod:`pitchcast.commentary.korean` (the code under
test): each kind of ending is first spelled out in Hangul as a speaker reads it, and the
answer is the final consonant (받침) of the last syllable of that reading.

* **Hangul**: the last syllable as written. No 받침 -> :data:`VOWEL`; ㄹ -> :data:`RIEUL`;
  any other -> :data:`CONSONANT`. A bare jamo is read by its name (ㄱ 기역, ㄹ 리을, ㅏ 아).
* **Digits** are read as Sino-Korean numbers: 0 영, 1 일, 2 이, 3 삼, 4 사, 5 오, 6 육,
  7 칠, 8 팔, 9 구, with the units 십, 백, 천 and the groups 만, 억, 조, 경
  (19 십구, 10 십, 2024 이천이십사, 10000 만). Commas between digit groups are skipped;
  after a decimal point the digits are read one by one (1.5 일 점 오).
* **A unit right after digits** is read as the unit: ``m`` 미터, ``km`` 킬로미터,
  ``cm`` 센티미터, ``kg`` 킬로그램, ``%`` 퍼센트 (23m 이십삼 미터: a vowel).
* **Latin letters**: one letter, or an upper-case run of at most three letters, or a run
  without vowels is read letter by letter (A 에이, B 비, ... L 엘, M 엠, N 엔, R 알, ...),
  so only L, R (ㄹ) and M, N (ㅁ, ㄴ) end in a consonant. A Latin word is read only
  where the reading is plain: ``-m``/``-me`` (Home 홈) ㅁ; ``-n``/``-ne``/``-ng`` ㄴ/ㅇ;
  ``-l``/``-le`` (Paul 폴) ㄹ; ``-a``, ``-i``, ``-o``, ``-u``, ``-y``, ``-ee``, ``-er``,
  ``-or``, ``-ar``, ``-ay``, ``-ey`` (Away 어웨이, Player 플레이어), ``-s`` (Lucas 루카스,
  or 뤼카 where it is silent) a vowel, and so do a final ``-d``, ``-g``, ``-x``, ``-z``,
  ``-f``, ``-v``, ``-r``, ``-w``, ``-h``, which Korean writes with a vowel after them
  (Lingard 린가드, Max 맥스, Vladimir 블라디미르, Josh 조시). Any other
  ending is :data:`UNKNOWN`: not guessed. The name suffixes ``Jr`` 주니어 and ``Sr``
  시니어 are read as words (a vowel), not letter by letter.
* Trailing spaces and punctuation are skipped, and so is a trailing bracketed group when
  something is read before it (``손흥민(7)`` reads as 손흥민).

Decomposed Hangul (NFD, conjoining jamo) is read as its composed form.
Anything else (Chinese characters, emoji, an empty string) is :data:`UNKNOWN`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

__all__ = [
    "CONSONANT",
    "RIEUL",
    "UNKNOWN",
    "VOWEL",
    "Sound",
    "letter_names",
    "reading_of",
    "sino_korean",
    "sound_of",
    "syllable_sound",
]

Sound = Literal["vowel", "rieul", "consonant", "unknown"]
VOWEL: Final = "vowel"
RIEUL: Final = "rieul"
CONSONANT: Final = "consonant"
UNKNOWN: Final = "unknown"

_DIGITS = "영일이삼사오육칠팔구"
_SMALL_UNITS = ((1000, "천"), (100, "백"), (10, "십"))
_GROUPS = ("", "만", "억", "조", "경")
_LETTERS = {
    "A": "에이", "B": "비", "C": "씨", "D": "디", "E": "이", "F": "에프", "G": "지",
    "H": "에이치", "I": "아이", "J": "제이", "K": "케이", "L": "엘", "M": "엠", "N": "엔",
    "O": "오", "P": "피", "Q": "큐", "R": "알", "S": "에스", "T": "티", "U": "유",
    "V": "브이", "W": "더블유", "X": "엑스", "Y": "와이", "Z": "제트",
}  # fmt: skip
_UNITS = {"m": "미터", "km": "킬로미터", "cm": "센티미터", "kg": "킬로그램", "%": "퍼센트"}
# Latin word endings whose Korean reading is plain; longest first.
_WORD_ENDINGS: tuple[tuple[str, str], ...] = (
    ("ng", "응"), ("me", "음"), ("ne", "은"), ("le", "을"), ("ll", "을"), ("ee", "이"),
    ("er", "어"), ("or", "어"), ("ar", "아"), ("ay", "에이"), ("ey", "이"),
    ("m", "음"), ("n", "은"), ("l", "을"),
    ("a", "아"), ("i", "이"), ("o", "오"), ("u", "우"), ("y", "이"),
    # -s is 스 where it is sounded (Lucas 루카스, James 제임스) and leaves the vowel
    # before it where it is not (French Lucas 뤼카): a vowel either way.
    ("s", "스"),
    # A final voiced stop or a fricative is written with 으 after it (외래어 표기법):
    # Lingard 린가드, Doug 더그, Max 맥스, Lopez 로페스, Stanislav 스타니슬라프, Josef
    # 요제프; a final r is silent (Arthur 아서) or 르 (Vladimir 블라디미르, Timur
    # 티무르); w and h close on a vowel (Andrew 앤드루, Josh 조시, Noah 노아): a vowel
    # every way. Not -b, -c, -k, -p, -t: Jacob 제이콥, Nick 닉, Park 파크, Matt 맷.
    ("d", "드"), ("g", "그"), ("x", "스"), ("z", "스"), ("f", "프"), ("v", "프"),
    ("r", "르"), ("w", "우"), ("h", "흐"),
)  # fmt: skip
# Name suffixes read as words, though they have no vowel letter: Jr. 주니어, Sr. 시니어.
_NAME_SUFFIXES: Final = {"Jr": "주니어", "Sr": "시니어"}
_CLOSERS = {")": "(", "]": "[", "}": "{", "」": "「", "』": "『", "》": "《", "〉": "〈"}
_NUMBER_AT_END = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")


def syllable_sound(char: str) -> Sound:
    """The final sound of one Hangul syllable or jamo (by its name), else unknown."""
    code = ord(char) if len(char) == 1 else -1
    if 0xAC00 <= code <= 0xD7A3:
        final = (code - 0xAC00) % 28
        if final == 0:
            return VOWEL
        return RIEUL if final == 8 else CONSONANT
    if 0x3131 <= code <= 0x314E:  # ㄱ..ㅎ: 기역, 니은, 디귿, 리을 ...
        return RIEUL if char == "ㄹ" else CONSONANT
    if 0x314F <= code <= 0x3163:  # ㅏ..ㅣ
        return VOWEL
    return UNKNOWN


def sino_korean(number: int) -> str:
    """``number`` (>= 0) read as a Sino-Korean numeral: 19 -> 십구, 2024 -> 이천이십사."""
    if number < 0:
        raise ValueError("only non-negative numbers")
    if number == 0:
        return "영"
    parts: list[str] = []
    group = 0
    while number:
        chunk = number % 10000
        if chunk:
            # 10000 is 만, not 일만 (but 일억, 일조).
            digits = "" if chunk == 1 and group == 1 else _four_digits(chunk)
            parts.append(digits + _GROUPS[min(group, len(_GROUPS) - 1)])
        number //= 10000
        group += 1
    return "".join(reversed(parts))


def _four_digits(chunk: int) -> str:
    out = []
    for value, unit in _SMALL_UNITS:
        digit = chunk // value % 10
        if digit:
            out.append(("" if digit == 1 else _DIGITS[digit]) + unit)
    if chunk % 10:
        out.append(_DIGITS[chunk % 10])
    return "".join(out)


def letter_names(letters: str) -> str:
    """ASCII letters read one by one: ``FC`` -> 에프씨."""
    return "".join(_LETTERS[c.upper()] for c in letters)


def _strip_end(text: str) -> str:
    """``text`` without trailing spaces, punctuation and a trailing bracketed group."""
    text = text.rstrip()
    while text:
        last = text[-1]
        if last.isalnum() or last == "%":
            return text
        opener = _CLOSERS.get(last)
        if opener is not None:
            start = text.rfind(opener)
            if start > 0 and any(c.isalnum() for c in text[:start]):
                text = text[:start].rstrip()
                continue
            if start >= 0:  # only a bracketed group: read what is inside
                text = text[start + 1 : -1].rstrip()
                continue
        text = text[:-1].rstrip()
    return text


def _latin_reading(run: str) -> str | None:
    if run in _NAME_SUFFIXES:
        return _NAME_SUFFIXES[run]
    vowels = set("aeiouAEIOU")
    if len(run) == 1 or (run.isupper() and len(run) <= 3) or not (set(run) & vowels):
        return letter_names(run)
    word = run.lower()
    for ending, sound in _WORD_ENDINGS:
        if word.endswith(ending):
            return sound
    return None


def reading_of(word: str) -> str | None:
    """How the END of ``word`` is read aloud, spelled in Hangul (enough to take its last
    syllable), or None when it cannot be told."""
    text = _strip_end(unicodedata.normalize("NFC", word))  # conjoining jamo: one syllable
    if not text:
        return None
    last = text[-1]
    if syllable_sound(last) != UNKNOWN:
        return last
    unit = re.search(r"(?<=\d)\s?(km|cm|kg|m|%)$", text)
    if unit:
        return _UNITS[unit.group(1)]
    if last.isascii() and last.isdigit():
        match = _NUMBER_AT_END.search(text)
        assert match is not None
        whole, fraction = match.groups()
        if fraction:
            return "점" + "".join(_DIGITS[int(d)] for d in fraction)
        return sino_korean(int(whole.replace(",", "")))
    if last.isascii() and last.isalpha():
        run = re.search(r"[A-Za-z]+$", text)
        assert run is not None
        return _latin_reading(run.group(0))
    return None


def sound_of(word: str) -> Sound:
    """How ``word`` ends when read aloud: vowel, rieul (ㄹ), consonant or unknown."""
    reading = reading_of(word)
    if not reading:
        return UNKNOWN
    return syllable_sound(reading[-1])
