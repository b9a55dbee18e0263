"""requirements/lock.txt, the tested versions, and pyproject.toml's bounds agree.

The lock pins every package that `pip install -e ".[test,tokens]"` brings, at the
versions the suite runs with (scripts/bootstrap and CI install it). The lower bound of
each direct dependency is its locked version: the only one tested.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCKED_EXTRAS = ("test", "tokens")
REFRESH = "scripts/lock (README, Development)"


def _direct() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    names = [*project["dependencies"], *(r for extra in LOCKED_EXTRAS for r in extras[extra])]
    return [Requirement(name) for name in names]


def _locked() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "requirements" / "lock.txt").read_text(encoding="utf-8").splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if pin:
            pins[canonicalize_name(pin.group(1))] = Version(pin.group(2))
    return pins


def test_the_lock_pins_every_direct_dependency_inside_its_bounds() -> None:
    locked = _locked()
    problems = []
    for requirement in _direct():
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name} {version} is outside {requirement.specifier}")
    assert not problems, f"refresh the lock with {REFRESH}: {problems}"


def test_each_lower_bound_is_the_locked_version() -> None:
    """A bound below the lock would claim versions no test ran against."""
    locked = _locked()
    problems = []
    for requirement in _direct():
        version = locked.get(canonicalize_name(requirement.name))
        floors = [s.version for s in requirement.specifier if s.operator in (">=", "==")]
        if version is None or not floors:
            problems.append(f"{requirement.name}: no lower bound")
        elif Version(floors[0]) != version:
            problems.append(f"{requirement.name}: bound {floors[0]}, locked {version}")
    assert not problems, f"raise the bounds in pyproject.toml to the lock: {problems}"


def test_the_lock_is_made_by_scripts_lock_without_local_paths() -> None:
    text = (REPO / "requirements" / "lock.txt").read_text(encoding="utf-8")
    assert text.splitlines()[1].strip("# ") == "scripts/lock"
    assert "/tmp/" not in text and "/work/" not in text and "file:" not in text
    script = (REPO / "scripts" / "lock").read_text(encoding="utf-8")
    assert "--extra " + " --extra ".join(LOCKED_EXTRAS) in script
    assert "--python-version 3.11" in script
