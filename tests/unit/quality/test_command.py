"""`pitchcast eval` on both sample matches, every persona, template backend: the CI gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from pitchcast.checks.register import CASUAL, POLITE
from pitchcast.cli import main
from tests.support.commentary_batches import DATA

MATCHES = {"events_metrica_1.csv": 2462, "events_metrica_3.csv": 4118}
PERSONAS = ("CASTER", "ANALYST", "FRIEND")
# Four whole-match evaluations (~30 s each on 2 cores): the full run has them, not --quick.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """Each sample match in each mode, evaluated once for every test of this module."""
    results = {}
    for name in MATCHES:
        for mode in ("batch", "live"):
            out = tmp_path_factory.mktemp(f"{Path(name).stem}-{mode}")
            args = ["eval", str(DATA / name), "--backend", "template", "--mode", mode]
            args += ["--density", "every"]  # one line per action (story: test_run_density)
            args += ["--personas", ",".join(PERSONAS), "--out", str(out)]
            if (name, mode) != ("events_metrica_1.csv", "batch"):
                args.append("--no-plots")  # one run draws the plots: enough to test them
            result = CliRunner().invoke(main, args, catch_exceptions=False)
            figures = orjson.loads((out / "figures.json").read_bytes())
            results[(name, mode)] = (result, figures, out)
    return results


def _modes() -> list[Any]:
    return [
        pytest.param("batch"),
        "live",
    ]


@pytest.mark.parametrize("mode", _modes())
@pytest.mark.parametrize("name", list(MATCHES))
def test_no_grounding_or_particle_error(
    evaluations: dict[tuple[str, str], Any], name: str, mode: str
) -> None:
    """Every persona's lines name no one outside their batch, state no wrong number and
    use the right particles; `pitchcast eval` exits 0."""
    result, figures, _ = evaluations[(name, mode)]
    for persona in PERSONAS:
        fig = figures["personas"][persona]
        assert fig["grounding"]["errors"] == 0, fig["grounding"]
        assert fig["particles"]["errors"] == 0, fig["particles"]
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", list(MATCHES))
def test_the_report_covers_every_persona_and_action(
    evaluations: dict[tuple[str, str], Any], name: str
) -> None:
    """One line per action per persona, and a report with every section."""
    for mode in ("batch", "live"):
        _, figures, out = evaluations[(name, mode)]
        assert set(figures["personas"]) == set(PERSONAS)
        for fig in figures["personas"].values():
            assert fig["lines"] == MATCHES[name]
            assert fig["particles"]["checked"] > 500  # names with particles were judged
            assert fig["repetition"]["distinct_shapes"] > 100
            assert fig["fit"]["judged"] > 20
        report = (out / "report.md").read_text()
        for heading in ("## CASTER", "## ANALYST", "## FRIEND", "**Grounding.**", "**Tone.**"):
            assert heading in report
    _, _, out = evaluations[(name, "batch")]
    if name == "events_metrica_1.csv":
        for plot in ("lengths.png", "shapes.png", "gaps.png"):
            assert (out / plot).stat().st_size > 1000


@pytest.mark.parametrize("mode", ["batch", "live"])
@pytest.mark.parametrize("name", list(MATCHES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_repetition_targets(
    evaluations: dict[tuple[str, str], Any], name: str, persona: str, mode: str
) -> None:
    """No sentence shape in more than 1.5% of a persona's lines, none back within 30 lines."""
    _, figures, _ = evaluations[(name, mode)]
    rep = figures["personas"][persona]["repetition"]
    assert rep["top_share"] <= 0.015, rep["top"][:3]
    assert rep["shortest_gap_lines"] >= 30, rep["shortest_gap_lines_shape"]


@pytest.mark.parametrize("mode", ["batch", "live"])
@pytest.mark.parametrize("name", list(MATCHES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_voice_targets(
    evaluations: dict[tuple[str, str], Any], name: str, persona: str, mode: str
) -> None:
    """Issue 16: three voices. No ending class in more than 70% of a persona's lines and at
    least three at 10% or more (FRIEND: three 반말 classes; CASTER and ANALYST: 존댓말
    classes or short calls); no line out of the persona's register; no unsupported claim
    and no known wording mistake."""
    _, figures, _ = evaluations[(name, mode)]
    fig = figures["personas"][persona]
    endings = fig["endings"]
    assert max(endings.values()) <= 0.70, endings
    counted = CASUAL if persona == "FRIEND" else POLITE | {"noun / call"}
    assert sum(share >= 0.10 for e, share in endings.items() if e in counted) >= 3, endings
    assert fig["register"]["slips"] == 0, fig["register"]["examples"]
    assert fig["wording"]["unsupported"] == 0, fig["wording"]["examples"]
    assert fig["wording"]["mistakes"] == 0, fig["wording"]["examples"]
