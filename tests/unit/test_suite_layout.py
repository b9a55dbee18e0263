"""The test suite itself: it collects as one session, and its tree mirrors the package.

The test of ``pitchcast/a/b.py`` is ``tests/unit/a/test_b.py`` (pure, no services) or
``tests/integration/a/test_b.py`` (a real broker and Redis); ``test_b_<aspect>.py`` when
the tests of ``b`` are split by aspect. ``tests/faults/`` is the fault suite's root;
shared test support lives in ``tests/support/``. A test of several modules at once is
listed below with its reason.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = TESTS.parent / "pitchcast"
MIRRORS = ("unit", "integration")  # each mirrors pitchcast/
SUPPORT = TESTS / "support"

# Tests that cover more than one module (or none), each with its reason.
CROSS_MODULE = {
    "unit/test_suite_layout.py": "checks the test tree itself",
    "unit/test_unavailable_services.py": "checks tests/support/utils.py, the test support",
    "unit/test_asyncapi_document.py": "docs/asyncapi.yaml against settings, schemas, headers",
    "unit/test_lock.py": "requirements/lock.txt against pyproject.toml (not a module)",
    "unit/test_docs.py": "the Markdown docs' links and paths (not a module)",
    "integration/test_pipeline.py": "the whole pipeline end to end, worker subprocess",
    "integration/test_unseen_match.py": "a Korean match with feed glitches, worker subprocess",
    "integration/test_feed_glitches.py": "three matches' feed glitches on one partition, worker",
    "integration/test_llm_pipeline.py": "the LLM stage end to end with the fake LLM server",
    "integration/test_asyncapi.py": "a real worker's records on every topic vs the AsyncAPI doc",
    "integration/test_spring_consumer.py": "the Spring Boot example on a real worker's output",
    "integration/test_roundtrip.py": "the broker's and Redis's own settings, no pitchcast code",
    "unit/deploy/test_prometheus_rules.py": "deploy/prometheus/*.yml with promtool (not Python)",
    "unit/deploy/test_grafana_dashboard.py": "deploy/grafana/ JSON against exported metrics",
}


def _python_files() -> list[Path]:
    return [p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts]


def _mirrors_a_module(test: Path) -> bool:
    """``tests/<root>/a/test_b.py`` with a module or package ``pitchcast/a/b``, or
    ``test_b_<aspect>.py`` with a module ``pitchcast/a/b.py`` (a package's own modules
    have test files of their own, in its mirror folder)."""
    relative = test.relative_to(TESTS)
    folder = PACKAGE.joinpath(*relative.parts[1:-1])
    name = test.stem.removeprefix("test_")
    if (folder / name / "__init__.py").is_file():
        return True
    words = name.split("_")
    return any((folder / f"{'_'.join(words[:n])}.py").is_file() for n in range(len(words), 0, -1))


def test_every_test_folder_is_a_package() -> None:
    """Test modules import by their dotted path (``tests.unit.x.test_y``), so the unit and
    the integration tree may both hold a ``test_cache.py`` in one session."""
    folders = {p.parent for p in _python_files()}
    missing = sorted(
        str(f.relative_to(TESTS)) for f in folders if not (f / "__init__.py").is_file()
    )
    assert missing == []


def test_each_test_file_mirrors_a_module() -> None:
    """A test file sits at the mirror path of the module it tests (or is listed above)."""
    stray = []
    for test in sorted(TESTS.rglob("test_*.py")):
        relative = test.relative_to(TESTS)
        key = relative.as_posix()
        if relative.parts[0] == "faults" or key in CROSS_MODULE:
            continue
        if relative.parts[0] not in MIRRORS:
            stray.append(f"{key}: outside tests/unit and tests/integration")
        elif not _mirrors_a_module(test):
            stray.append(f"{key}: no pitchcast module at its mirror path")
    assert stray == []


def test_the_cross_module_list_names_real_test_files() -> None:
    """An entry whose file moved or went away is removed, not kept as a blanket pass."""
    assert [key for key in CROSS_MODULE if not (TESTS / key).is_file()] == []


def test_shared_test_support_lives_in_tests_support() -> None:
    """Helpers that tests import sit in one place; elsewhere only tests and conftests."""
    scattered = sorted(
        str(p.relative_to(TESTS))
        for p in _python_files()
        if not p.name.startswith("test_")
        and p.name not in ("conftest.py", "__init__.py")
        and p.parent != SUPPORT
    )
    assert scattered == []
