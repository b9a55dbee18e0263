"""Particle errors after the names and numbers of a commentary line.

Korean particles that alternate take one form after a final consonant (받침) and
another after a vowel; the end of the word is read as :mod:`.reading` says (digits in
Sino-Korean, Latin letters by name). The rules checked, as (after a consonant, after a
vowel):

* 이/가, 은/는, 을/를, 과/와, 아/야 (vocative), 이랑/랑, 이나/나;
* 으로/로 and its family (으로서, 으로선, 으로써, 으로부터, 으로는, 으로도, 으로의, 으로만):
  after ㄹ the vowel form (서울로, 이승렬로; 1 일 -> 1로), after any other 받침 으로;
* the copula: 이다/다, 이야/야, 이지만/지만, 이든/든, 이고/고, 이라서/라서, 이라고/라고,
  이라는/라는, 이라면/라면, 이며/며, 이에요/예요, 이었다/였다, and the endings a line
  closes on: 이죠/죠, 이지요/지요, 이네요/네요, 이라니/라니, 이면/면, 이었죠/였죠,
  이었어요/였어요 ..., and the rarer ones a model may write (이라도/라도, 이던/던,
  이었던/였던, 이어서/여서, 이니까/니까 ...; not 이네/네: 이강인네 is "his side"). After a
  consonant only the
  이-form is right (손흥민이다, never 손흥민다). After a vowel the copula's 이 may be kept
  or dropped (세징야이다 and 세징야다 are both standard), except in 이에요 (세징야예요)
  and 이야 (세징야야), and 이랑 (세징야랑): those 이-forms are errors after a vowel.
  ``이예요`` is always an error (이에요 after a consonant, 예요 after a vowel).

Where a particle is looked for: a name is found in the line (longest names first, not
inside a longer word, not followed by a Latin letter or digit), or a number (digits,
with a unit such as ``m`` or ``%``); the Hangul run written right after it (no space)
is the candidate. Only a run that is exactly one of the forms above (with, for some, a
plain particle after it: 과의, 으로는, 와도) is judged; any other run (의, 에게, 에서,
선수, 골, 번째 ...) does not alternate and is not judged. A word whose end cannot be read
(see :mod:`.reading`) is listed as unchecked, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pitchcast.checks.reading import RIEUL, UNKNOWN, VOWEL, Sound, sound_of

__all__ = [
    "ParticleCheck",
    "ParticleError",
    "Unchecked",
    "check_particles",
    "find_names",
    "parse_particle_run",
]

# (form after a consonant, form after a vowel, plain particles that may follow).
_PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("이", "가", ()),
    ("은", "는", ()),
    ("을", "를", ()),
    ("과", "와", ("의", "도", "는", "만")),
    ("아", "야", ()),
    ("이랑", "랑", ("은", "도", "만", "의")),
    ("이나", "나", ()),
    ("이야", "야", ()),
    ("이다", "다", ()),
    ("이지만", "지만", ()),
    ("이든", "든", ()),
    ("이고", "고", ("요",)),
    ("이라서", "라서", ("요",)),
    ("이라고", "라고", ("요",)),
    ("이라는", "라는", ()),
    ("이라면", "라면", ()),
    ("이며", "며", ()),
    ("이에요", "예요", ()),
    ("이었다", "였다", ()),
    ("이었어", "였어", ("요",)),
    ("이었습니다", "였습니다", ()),
    # The endings a commentary line closes on: 이죠 (손흥민이죠 / 세징야죠), 이네요 ...
    ("이죠", "죠", ()),
    ("이지요", "지요", ()),
    ("이네요", "네요", ()),
    ("이라니", "라니", ()),
    ("이면", "면", ()),
    ("이었죠", "였죠", ()),
    ("이었고", "였고", ()),
    ("이었는데", "였는데", ()),
    ("이었지만", "였지만", ()),
    ("이었네", "였네", ("요",)),
    # Less common, but a model writes them: 이라도, 이란, 이었던 ... (not 이네/네: a
    # name's 네 is also "and the others with him", right after a consonant).
    ("이라도", "라도", ()),
    ("이든지", "든지", ()),
    ("이든가", "든가", ()),
    ("이나마", "나마", ()),
    ("이야말로", "야말로", ()),
    ("이여", "여", ()),
    ("이지", "지", ()),
    ("이라", "라", ()),
    ("이란", "란", ()),
    ("이래", "래", ("요",)),
    ("이니까", "니까", ("요",)),
    ("이므로", "므로", ()),
    ("이던", "던", ("데",)),
    ("이었던", "였던", ()),
    ("이었으면", "였으면", ()),
    ("이었다는", "였다는", ()),
    ("이었다고", "였다고", ("요",)),
    ("이어서", "여서", ("요",)),
    ("이어야", "여야", ()),
)
_RO_TAILS = ("", "서", "선", "써", "부터", "는", "도", "의", "만")
# 이-forms that are an error after a vowel (the others may keep the copula's 이).
_WRONG_AFTER_VOWEL = frozenset({"이", "은", "을", "과", "아", "이랑", "이야", "이에요"})
_ALWAYS_WRONG = {"이예요": ("이에요", "예요")}

_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s?(?:km|cm|kg|m|%)?")


@dataclass(frozen=True, slots=True)
class ParticleError:
    """A particle that does not fit the word before it."""

    word: str
    sound: Sound
    written: str  # the particle as written (with any plain particle after it)
    expected: str
    context: str

    def describe(self) -> str:
        return f"{self.word}+{self.written} (want {self.word}{self.expected}): {self.context}"


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A particle after a word whose end cannot be read: listed, not judged."""

    word: str
    written: str
    context: str


@dataclass(slots=True)
class ParticleCheck:
    """What one line (or many) gave: judged particles, errors, unchecked ones."""

    checked: int = 0
    errors: list[ParticleError] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    def merge(self, other: ParticleCheck) -> None:
        self.checked += other.checked
        self.errors.extend(other.errors)
        self.unchecked.extend(other.unchecked)


def parse_particle_run(run: str) -> tuple[str, str, str, str] | None:
    """(form as written, consonant form, vowel form, bare consonant form) when ``run``
    is an alternating particle (plus an allowed plain one after it), else None."""
    if run in _ALWAYS_WRONG:
        consonant, vowel = _ALWAYS_WRONG[run]
        return run, consonant, vowel, run
    for head in ("으로", "로"):
        tail = run[len(head) :]
        if run.startswith(head) and tail in _RO_TAILS:
            return run, "으로" + tail, "로" + tail, "으로"
    for consonant, vowel, tails in _PAIRS:
        for tail in ("", *tails):
            if run in (consonant + tail, vowel + tail):
                return run, consonant + tail, vowel + tail, consonant
    return None


def _expected(sound: Sound, written: str, consonant: str, vowel: str, bare: str) -> str | None:
    """The right form when ``written`` is wrong after ``sound``, else None."""
    if written in _ALWAYS_WRONG:
        return vowel if sound == VOWEL else consonant
    is_ro = bare == "으로"
    if sound == VOWEL or (sound == RIEUL and is_ro):
        if written == vowel:
            return None
        # The consonant form after a vowel (or 으로 after ㄹ): wrong, except the
        # copula's 이 that may be kept after a vowel (세징야이다).
        return vowel if is_ro or bare in _WRONG_AFTER_VOWEL else None
    # Any other final consonant (ㄹ outside the (으)로 family counts as one).
    return None if written == consonant else consonant


def find_names(text: str, names: Iterable[str]) -> list[tuple[int, int, str]]:
    """Where each name stands as a word, longest names first, without overlaps: not
    right after a letter or digit, not right before a Latin letter or a digit (Hangul
    may follow: it is a particle)."""
    taken: list[tuple[int, int, str]] = []
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        start = 0
        while (index := text.find(name, start)) != -1:
            end = index + len(name)
            start = index + 1
            before_ok = index == 0 or not text[index - 1].isalnum()
            after_ok = end == len(text) or not (text[end].isascii() and text[end].isalnum())
            if not (before_ok and after_ok):
                continue
            if any(a < end and index < b for a, b, _ in taken):
                continue
            taken.append((index, end, name))
    return sorted(taken)


def _context(text: str, start: int, end: int) -> str:
    return text[max(0, start - 12) : end + 12]


def check_particles(text: str, names: Sequence[str]) -> ParticleCheck:
    """Every alternating particle right after a name of ``names`` or a number in ``text``."""
    result = ParticleCheck()
    spans = find_names(text, names)
    words = [(a, b, text[a:b]) for a, b, _ in spans]
    masked = list(text)
    for a, b, _ in spans:
        masked[a:b] = [" "] * (b - a)  # numbers inside names are not numbers of the line
    for match in _NUMBER.finditer("".join(masked)):
        words.append((match.start(), match.end(), match.group(0)))
    for start, end, word in sorted(words):
        run = _HANGUL_RUN.match(text, end)
        if run is None:
            continue
        parsed = parse_particle_run(run.group(0))
        if parsed is None:
            continue
        written, consonant, vowel, bare = parsed
        sound = sound_of(word)
        if sound == UNKNOWN:
            result.unchecked.append(Unchecked(word, written, _context(text, start, run.end())))
            continue
        result.checked += 1
        expected = _expected(sound, written, consonant, vowel, bare)
        if expected is not None:
            error = ParticleError(word, sound, written, expected, _context(text, start, run.end()))
            result.errors.append(error)
    return result
