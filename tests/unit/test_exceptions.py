"""The exception tree: complete, drawn, and every pitchcast error under PitchcastError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pitchcast
from pitchcast import exceptions
from pitchcast.exceptions import PitchcastError


def _drawing() -> list[tuple[str, int]]:
    """The class names of the docstring's drawing, in order, with their depth (the
    root 0, its children 1, ...)."""
    doc = exceptions.__doc__ or ""
    drawn: list[tuple[str, int]] = []
    for line in doc.split("::", 1)[1].splitlines():
        found = re.match(r"^    ((?:[│ ]   )*)(?:[├└]── )?([A-Z]\w+)", line)
        if found is None:
            continue
        branch = "── " in line
        if not branch and drawn:
            continue  # a wrapped description, not a class
        depth = len(found.group(1)) // 4 + (1 if branch else 0)
        drawn.append((found.group(2), depth))
    return drawn


def _drawn() -> set[str]:
    return {name for name, _ in _drawing()}


def _defined_in_pitchcast() -> dict[str, type[BaseException]]:
    """Every public exception class defined anywhere in the package."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(pitchcast.__path__, "pitchcast."):
        if module_info.name.endswith("__main__"):
            continue  # running it is what importing it does
        module = importlib.import_module(module_info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[name] = obj
    return found


def test_every_class_of_the_module_is_a_pitchcast_error_in_all_and_drawn() -> None:
    classes = {
        name: obj
        for name, obj in vars(exceptions).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    }
    assert set(classes) == set(exceptions.__all__)
    assert all(issubclass(obj, PitchcastError) for obj in classes.values())
    assert set(classes) <= _drawn()


def test_every_exception_the_package_defines_is_a_pitchcast_error_and_drawn() -> None:
    defined = _defined_in_pitchcast()
    assert "PhrasebookError" in defined and "RefillIncomplete" in defined  # the walk works
    outside = sorted(name for name, obj in defined.items() if not issubclass(obj, PitchcastError))
    assert outside == []
    assert sorted(set(defined) - _drawn()) == []


def test_the_drawing_nests_as_the_classes_do() -> None:
    """A class drawn under another derives from it (the drawing cannot drift)."""
    defined = _defined_in_pitchcast()
    drawing = _drawing()
    assert sorted(_drawn()) == sorted(defined)  # nothing drawn that does not exist
    assert drawing[0] == ("PitchcastError", 0)
    parents: list[str] = []
    for name, depth in drawing:
        del parents[depth:]
        if parents:
            assert defined[parents[-1]] in defined[name].__bases__, (name, parents[-1])
        parents.append(name)


def test_errors_callers_catch_as_value_errors_still_are() -> None:
    for name in ("InvalidMessage", "PhrasebookError", "MetricError"):
        assert issubclass(getattr(exceptions, name), ValueError)
