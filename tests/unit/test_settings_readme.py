"""README's settings tables against pitchcast/settings.py: every setting, its default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pitchcast.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
PREFIX = "PITCHCAST_"
_ROW = re.compile(r"^\| (`PITCHCAST_[^|]*) \|([^|]*)\|", re.MULTILINE)
_CODE = re.compile(r"`([^`]*)`")


def _names(cell: str, known: set[str]) -> list[str]:
    """The variables a row names. ``PITCHCAST_A_B`` / ``_C`` is short for PITCHCAST_A_C:
    the shared start of the first name is left out of the later ones."""
    written = _CODE.findall(cell)
    first, names = written[0], [written[0]]
    for short in written[1:]:
        if short.startswith(PREFIX):
            names.append(short)
            continue
        cuts = [i for i, char in enumerate(first) if char == "_"]
        found = [first[:i] + short for i in reversed(cuts) if first[:i] + short in known]
        names.append(found[0] if found else PREFIX.rstrip("_") + short)
    return names


def _documented() -> dict[str, str | None]:
    """Each documented variable and its default as written (None: no default shown)."""
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    documented: dict[str, str | None] = {}
    for variables, default in _ROW.findall(README.read_text(encoding="utf-8")):
        names = _names(variables, known)
        values: list[str | None] = list(_CODE.findall(default))
        values += [None] * (len(names) - len(values))
        for name, value in zip(names, values, strict=True):
            assert documented.get(name, value) == value, f"{name}: two defaults in README"
            documented[name] = value
    return documented


def _as_written(value: Any) -> str | None:
    """A default as the README writes it: ``true``, ``30`` for 30.0, a list comma-joined."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def test_every_setting_is_in_the_readme_and_only_settings_are() -> None:
    """An operator reads the README's tables for what can be set: none is missing, and
    none names a variable pitchcast does not read."""
    expected = {PREFIX + name.upper() for name in Settings.model_fields}
    documented = set(_documented())
    assert sorted(expected - documented) == [], "settings missing from README's tables"
    assert sorted(documented - expected) == [], "README documents variables nobody reads"


def test_the_readme_states_each_default_as_settings_py_has_it() -> None:
    """The default column says what a worker does with the variable unset."""
    documented = _documented()
    wrong = {
        PREFIX + name.upper(): (documented[PREFIX + name.upper()], _as_written(field.default))
        for name, field in Settings.model_fields.items()
        if PREFIX + name.upper() in documented
        and documented[PREFIX + name.upper()] != _as_written(field.default)
    }
    assert wrong == {}, "README default vs settings.py default"
