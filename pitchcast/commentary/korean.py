"""Korean particles (josa) that follow the final sound of the word before them.

Many Korean particles have two forms: one after a final consonant (받침) and one after
a vowel: 손흥민**이** / 김민재**가**, 서울**은** / 대구**는**. The ``(으)로`` family has
a third rule: after ㄹ it takes the vowel form (서울**로**, 칠**로**). The copula 이다 and
its endings keep their 이 after any final consonant, ㄹ included, and drop it after a
vowel (손흥민**이지만** / 김민재**지만**, 서울**이든** / 대구**든**, 손흥민**이었다** /
김민재**였다**, 손흥민**이에요** / 김민재**예요**).

:func:`attach_particle` (alias :func:`attach`) decides by how a Korean speaker reads the
end of the word aloud:

* **Hangul**: the 받침 of the last syllable; a bare jamo by its name (ㄱ 기역 ends in a
  consonant, ㄹ 리을 in ㄹ, vowels in a vowel).
* **Digits**, read as Sino-Korean numbers: 1 일(ㄹ) 2 이 3 삼 4 사 5 오 6 육 7 칠(ㄹ)
  8 팔(ㄹ) 9 구 0 영; a number ending in zeros by its unit: 10 십, 100 백, 1,000 천,
  10,000 만, 10^8 억, 10^12 조. Decimals are read digit by digit after the point.
* **A unit right after a number** is read as the unit, and the unit chooses: ``m``, ``cm``,
  ``mm``, ``km`` 미터 and ``%`` 퍼센트 end in a vowel (36m 삼십육 미터**를**, 50%**가**),
  ``kg`` 킬로그램 and ``g`` 그램 in a consonant. Only lower-case units count: ``3M`` is a name.
* **Latin letters**: an acronym (one letter, or an upper-case run of at most three
  letters or without vowels: ``FC``, ``HD``, ``K``) is read letter by letter, and only
  L 엘 / R 알 (ㄹ) and M 엠 / N 엔 end in a consonant. A word is read the way Korean
  transliterates English: ``-m``/``-n``/``-ng`` (Kim 킴, Son 손, Hwang 황) end in a
  consonant, ``-l`` and ``-le`` in ㄹ (Paul 폴, Apple 애플), ``-me``/``-ne`` in a
  consonant (Home 홈, Kane 케인); ``-k``/``-ck``/``-p``/``-t``/``-b``/``-c`` right after a
  vowel end in a consonant (Nick 닉, Cup 컵, Matt 맷, Eric 에릭) but not after another
  consonant, where Korean adds 으 (Park 파크, Camp 캠프, Robert 로버트). Everything else
  (vowels, ``-e``, ``-y``, ``-r``, ``-s``, ``-d``...) ends in a vowel (Player 플레이어,
  Lee 리, Rooney 루니). Accents are ignored (José reads as Jose).
* **Kana**: ん/ン ends in ㄴ, other kana in a vowel.
* Trailing spaces, punctuation and symbols are skipped, and so is a trailing bracketed
  group, as Korean orthography attaches the particle to the word before the brackets
  (``손흥민(7)`` + 이/가 → ``손흥민(7)이``). A word that is only a bracketed group is read
  inside it.

When the end cannot be read (Chinese characters, emoji only, an empty string), the
caller's text stands: a single form is kept as written, a pair becomes the both-forms
notation used in Korean writing (``이(가)``, ``(으)로``).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from functools import lru_cache

__all__ = [
    "FinalSound",
    "attach",
    "attach_particle",
    "count_word",
    "final_sound",
    "leading_particle",
    "ordinal_word",
    "particle_for",
    "with_and",
    "with_direction",
    "with_object",
    "with_subject",
    "with_topic",
]


class FinalSound(enum.Enum):
    """How a word ends when read aloud, as far as particles care."""

    VOWEL = "vowel"  # no 받침: 가, 는, 를, 와, 로
    RIEUL = "rieul"  # ㄹ 받침: 이, 은, 을, 과, but 로
    CONSONANT = "consonant"  # any other 받침: 이, 은, 을, 과, 으로
    UNKNOWN = "unknown"  # cannot be told


_V, _R, _C = FinalSound.VOWEL, FinalSound.RIEUL, FinalSound.CONSONANT

# --- Particle pairs: (form after a consonant, form after a vowel) -------------------------

# Pairs whose two forms share nothing.
_FIXED_PAIRS: tuple[tuple[str, str], ...] = (
    ("이", "가"),
    ("은", "는"),
    ("을", "를"),
    ("과", "와"),
    ("아", "야"),
)
# Pairs whose consonant form is 이 + the vowel form: particles (이랑, 이나, 이며...) and the
# copula 이다, whose 이 drops after a vowel: 손흥민이지만 / 김민재지만, 손흥민이든 / 김민재든.
_I_SUFFIXES: tuple[str, ...] = (
    "랑", "나", "며", "여", "라고", "라는", "라면", "라서", "라도", "든지", "나마",
    "야말로", "야", "다", "네", "지", "고", "라",
    # more copula endings
    "지만", "든", "든가", "면", "니까", "므로", "죠", "지요", "네요", "라니", "란", "래",
    "래요", "라서요", "라고요", "고요", "던", "던데",
)  # fmt: skip
# Pairs whose consonant form is 으 + the vowel form: the ㄹ-final rule applies.
_EU_SUFFIXES: tuple[str, ...] = (
    "로", "로서", "로써", "로부터", "로는", "로도", "로의", "로만", "로선",
)  # fmt: skip
# Irregular copula pairs: 이어 contracts to 여 after a vowel (손흥민이었다 / 김민재였다).
_IRREGULAR_PAIRS: tuple[tuple[str, str], ...] = (
    ("이에요", "예요"),
    ("이었다", "였다"),
    ("이었어", "였어"),
    ("이었습니다", "였습니다"),
    ("이었고", "였고"),
    ("이었는데", "였는데"),
    ("이었지만", "였지만"),
    ("이었죠", "였죠"),
    ("이었네", "였네"),
    ("이었던", "였던"),
    ("이었어요", "였어요"),
    ("이었으면", "였으면"),
    ("이었다는", "였다는"),
    ("이었다고", "였다고"),
    ("이어서", "여서"),
    ("이어야", "여야"),
)

_ALL_PAIRS: tuple[tuple[str, str], ...] = (
    _FIXED_PAIRS
    + tuple(("이" + s, s) for s in _I_SUFFIXES)
    + tuple(("으" + s, s) for s in _EU_SUFFIXES)
    + _IRREGULAR_PAIRS
)
_PAIR_SET = frozenset(_ALL_PAIRS)

# A single form names its pair. 야 is both the vocative (아/야: 손흥민아, 김민재야) and the
# copula (이야/야: 손흥민이야, 김민재야): alone it is the vocative here; write "이야/야" for
# the copula. The slot filler decides by where the name stands (pitchcast.commentary.slots).
_PAIR_OF_FORM: dict[str, tuple[str, str]] = {}
for _pair in reversed(_ALL_PAIRS):  # reversed: the earlier (fixed) pairs win
    for _form in _pair:
        _PAIR_OF_FORM[_form] = _pair


# Forms longest first, so "이라니" is read as itself, not as 이 then 라니.
_FORMS_LONGEST_FIRST: tuple[str, ...] = tuple(sorted(_PAIR_OF_FORM, key=len, reverse=True))


def leading_particle(text: str) -> tuple[str, str] | None:
    """(the form, its two-form spelling such as ``"이죠/죠"``) of the alternating particle
    or copula ending ``text`` starts with, or None: what a template must write as a pair
    after a slot."""
    for form in _FORMS_LONGEST_FIRST:
        if text.startswith(form):
            return form, "/".join(_PAIR_OF_FORM[form])
    return None


@lru_cache(maxsize=512)
def _parse_particle(particle: str) -> tuple[tuple[str, str] | None, bool]:
    """(pair or None for a non-alternating particle, whether ``particle`` named both forms).

    Accepts ``"이/가"`` (either order), ``"(으)로"``, ``"이(가)"`` and a single form
    (``"가"``, ``"으로"``). Raises ValueError for a two-form spelling it does not know.
    """
    text = particle.strip()
    forms: tuple[str, str] | None = None
    if "/" in text:
        first, _, second = text.partition("/")
        forms = (first.strip(), second.strip())
    elif text.startswith("(") and ")" in text:
        inner, _, rest = text[1:].partition(")")
        forms = (inner + rest, rest)
    elif text.endswith(")") and "(" in text:
        outer, _, inner = text[:-1].partition("(")
        forms = (outer, inner)
    if forms is None:
        return _PAIR_OF_FORM.get(text), False
    if forms in _PAIR_SET:
        return forms, True
    if (forms[1], forms[0]) in _PAIR_SET:
        return (forms[1], forms[0]), True
    raise ValueError(f"unknown particle pair {particle!r}")


def _both_forms(pair: tuple[str, str]) -> str:
    """The notation Korean writing uses when the word's sound is unknown: 이(가), (으)로."""
    consonant_form, vowel_form = pair
    if consonant_form[1:] == vowel_form:  # 이랑/랑, 으로/로
        return f"({consonant_form[0]}){vowel_form}"
    return f"{consonant_form}({vowel_form})"


# --- Reading the end of a word ---------------------------------------------------------------

# Closing bracket -> its opener (NFKC has already folded full-width brackets to ASCII).
_CLOSING = dict(zip(")]}>》〉」』】", "([{<《〈「『【", strict=True))

# Sino-Korean digits: 영 일 이 삼 사 오 육 칠 팔 구.
_DIGIT_SOUND = (_C, _R, _V, _C, _V, _V, _C, _R, _R, _V)
# Letter names: 에이 비 씨 디 이 에프 지 에이치 아이 제이 케이 엘 엠 엔 오 피 큐 알 에스 티
# 유 브이 더블유 엑스 와이 제트.
_LETTER_SOUND = {chr(ord("A") + i): _V for i in range(26)} | {"L": _R, "R": _R, "M": _C, "N": _C}
_VOWEL_LETTERS = frozenset("aeiou")
# Units read after a number: 미터 (m, cm, mm, km), 퍼센트 (%) end in a vowel, 그램 in ㅁ.
_UNIT_SOUND = {"m": _V, "cm": _V, "mm": _V, "km": _V, "%": _V, "kg": _C, "g": _C}
_UNIT_AT_END = re.compile(r"\d\s?(km|cm|mm|kg|m|g|%)$")
_SENTENCE_MARKS = " .,!?…~"


def _reading_end(text: str) -> str:
    """``text`` cut after the last character that is read aloud, or ``""``."""
    i = len(text)
    while i > 0:
        char = text[i - 1]
        if char.isalnum():
            return text[:i]
        opener = _CLOSING.get(char)
        if opener is not None:
            j = _matching_opener(text, i - 1, opener, char)
            # Skip the whole group, unless nothing is read before it: "(7)" reads as 7.
            if j >= 0 and any(c.isalnum() for c in text[:j]):
                i = j
                continue
        i -= 1
    return ""


def _matching_opener(text: str, close_at: int, opener: str, closer: str) -> int:
    depth = 0
    for k in range(close_at, -1, -1):
        if text[k] == closer:
            depth += 1
        elif text[k] == opener:
            depth -= 1
            if depth == 0:
                return k
    return -1


def _fold(text: str) -> str:
    """NFKC, with accents dropped from non-Hangul letters (José → Jose, Ｆ → F)."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", text):
        if "\uac00" <= char <= "\ud7a3":
            out.append(char)
            continue
        for part in unicodedata.normalize("NFKD", char):
            if not unicodedata.combining(part):
                out.append(part)
    return "".join(out)


def _hangul_sound(char: str) -> FinalSound | None:
    code = ord(char)
    if 0xAC00 <= code <= 0xD7A3:
        jong = (code - 0xAC00) % 28
        return _V if jong == 0 else (_R if jong == 8 else _C)
    # Jamo read by name: consonants 기역, 니은, ... 리을 (ㄹ); vowels 아, 야, ...
    if 0x3131 <= code <= 0x314E:  # compatibility consonants
        return _R if code == 0x3139 else _C
    if 0x314F <= code <= 0x3163:  # compatibility vowels
        return _V
    if 0x1100 <= code <= 0x1112:  # leading consonants
        return _R if code == 0x1105 else _C
    if 0x1161 <= code <= 0x1175:  # vowels
        return _V
    if 0x11A8 <= code <= 0x11C2:  # final consonants
        return _R if code == 0x11AF else _C
    return None


def _number_sound(text: str) -> FinalSound:
    """The final sound of the number at the end of ``text`` (which ends in a digit)."""
    end = len(text)
    start = end
    while start > 0 and (
        text[start - 1].isdecimal()
        or (text[start - 1] == "," and start >= 2 and text[start - 2].isdecimal())
    ):
        start -= 1
    run = text[start:end].replace(",", "")
    digits = [unicodedata.decimal(c, 0) for c in run]
    if start >= 2 and text[start - 1] == "." and text[start - 2].isdecimal():
        return _DIGIT_SOUND[digits[-1]]  # after a decimal point: digit by digit
    while digits and digits[0] == 0:
        digits.pop(0)
    if not digits:
        return _C  # 영
    zeros = 0
    while digits[-1 - zeros] == 0:
        zeros += 1
    if zeros == 0:
        return _DIGIT_SOUND[digits[-1]]
    if zeros <= 3:
        return _C  # 십, 백, 천
    if zeros <= 7:
        return _C  # 만
    if zeros <= 11:
        return _C  # 억
    if zeros <= 15:
        return _V  # 조
    if zeros <= 19:
        return _C  # 경
    return FinalSound.UNKNOWN


def _latin_sound(run: str) -> FinalSound:
    """The final sound of a run of ASCII letters (see the module docstring)."""
    upper_vowels = any(c in "AEIOU" for c in run)
    if len(run) == 1 or (run.isupper() and (len(run) <= 3 or not upper_vowels)):
        return _LETTER_SOUND[run[-1].upper()]
    word = run.lower()
    if word.endswith("ck"):
        return _C
    if len(word) >= 2 and word[-1] == word[-2] and word[-1] not in _VOWEL_LETTERS:
        word = word[:-1]  # Matt reads like Mat, Bill like Bil
    last = word[-1]
    before = word[-2] if len(word) >= 2 else ""
    if word.endswith("ng") or last in "mn":
        return _C
    if last == "l":
        return _R
    if last == "e" and len(word) >= 3:
        if before == "l":
            return _R  # Apple 애플, Kyle 카일
        if before in "mn":
            return _C  # Home 홈, Stone 스톤
        return _V
    if last in "kptbc" and before in _VOWEL_LETTERS:
        return _C
    return _V


def _kana_sound(char: str) -> FinalSound | None:
    code = ord(char)
    if char in "んン":
        return _C
    if 0x3041 <= code <= 0x309F or 0x30A0 <= code <= 0x30FF:
        return _V
    return None


@lru_cache(maxsize=4096)
def final_sound(word: str) -> FinalSound:
    """How ``word`` ends when read aloud in Korean (see the module docstring)."""
    folded = _fold(word)
    unit = _UNIT_AT_END.search(folded.rstrip(_SENTENCE_MARKS))
    if unit is not None:
        return _UNIT_SOUND[unit.group(1)]
    text = _reading_end(folded)
    if not text:
        return FinalSound.UNKNOWN
    last = text[-1]
    hangul = _hangul_sound(last)
    if hangul is not None:
        return hangul
    if last.isdecimal():
        return _number_sound(text)
    if last.isascii() and last.isalpha():
        start = len(text)
        while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
            start -= 1
        return _latin_sound(text[start:])
    kana = _kana_sound(last)
    if kana is not None:
        return kana
    return FinalSound.UNKNOWN


def particle_for(word: str, particle: str) -> str:
    """The form of ``particle`` that follows ``word``: ``("서울", "(으)로")`` → ``"로"``.

    ``particle`` is a pair (``"이/가"``, ``"(으)로"``, ``"을(를)"``) or one of its forms
    (``"가"``, ``"으로"``); a particle that does not alternate (``"의"``, ``"에게"``) is
    returned as is. Raises ValueError for an unknown two-form spelling.
    """
    pair, named_both = _parse_particle(particle)
    if pair is None:
        return particle
    sound = final_sound(word)
    consonant_form, vowel_form = pair
    if sound is FinalSound.UNKNOWN:
        return _both_forms(pair) if named_both else particle.strip()
    if sound is FinalSound.VOWEL:
        return vowel_form
    if sound is FinalSound.RIEUL and consonant_form.startswith("으"):
        return vowel_form  # ㄹ takes 로, not 으로: 서울로
    return consonant_form


def attach_particle(word: str, particle: str) -> str:
    """``word`` + the right form of ``particle``: ``("손흥민", "이/가")`` → ``"손흥민이"``."""
    return word + particle_for(word, particle)


# The short name; both are public (the slot filler looks for ``attach_particle``).
attach = attach_particle


def with_subject(word: str) -> str:
    """``word`` + 이/가: 손흥민이, 김민재가."""
    return attach_particle(word, "이/가")


def with_topic(word: str) -> str:
    """``word`` + 은/는: 울산은, 대구FC는."""
    return attach_particle(word, "은/는")


def with_object(word: str) -> str:
    """``word`` + 을/를: 조규성을, 이강인을, 김민재를."""
    return attach_particle(word, "을/를")


def with_and(word: str) -> str:
    """``word`` + 과/와: 황희찬과, 김민재와."""
    return attach_particle(word, "과/와")


def with_direction(word: str) -> str:
    """``word`` + (으)로: 전방으로, 서울로, 왼쪽으로, 뒤로."""
    return attach_particle(word, "(으)로")


# --- Native Korean numbers -----------------------------------------------------------------

# 1..9 as determiners before a counter (한 골, 두 번째) and the tens 10, 20.
_NATIVE_UNITS = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS = ("", "열", "스물")


def _native(n: int) -> str:
    """1..29 in native Korean as a determiner: 한, 두, ... 열, 열한, 스무, 스물한."""
    tens, units = divmod(n, 10)
    if tens == 2 and units == 0:
        return "스무"  # 스물 drops its ㄹ before a counter
    return _NATIVE_TENS[tens] + _NATIVE_UNITS[units]


def ordinal_word(n: int) -> str:
    """The n-th, as commentary says it: 첫 번째, 두 번째, ... 스무 번째, then 21번째."""
    if n == 1:
        return "첫 번째"
    if 2 <= n <= 29:
        return f"{_native(n)} 번째"
    return f"{n}번째"


def count_word(n: int, counter: str) -> str:
    """``n`` of ``counter`` in native Korean: (1, "골") -> 한 골, (3, "번") -> 세 번, 30골."""
    if 1 <= n <= 29:
        return f"{_native(n)} {counter}"
    return f"{n}{counter}"
