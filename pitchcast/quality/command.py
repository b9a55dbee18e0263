"""``pitchcast eval``: play a match, write its lines, check them, report (registered by cli.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pitchcast.exceptions import ConfigurationError, PitchcastError
from pitchcast.settings import Persona, Settings, load_settings

__all__ = ["EvalOutcome", "build_service", "eval_command", "run_eval", "summary_lines"]


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    figures: dict[str, Any]
    files: list[Path]
    problems: list[str]


def build_service(settings: Settings) -> Any:
    """The commentary service of ``settings`` (its backend), without Redis."""
    from pitchcast.cache import RedisStore
    from pitchcast.commentary.backends.template import TemplateBackend
    from pitchcast.commentary.service import CommentaryService

    primary: Any
    if settings.llm_backend == "openai":
        from pitchcast.commentary.backends.openai import OpenAIBackend

        primary = OpenAIBackend.from_settings(settings)
    else:
        primary = TemplateBackend()
    return CommentaryService.from_settings(
        settings, primary, TemplateBackend(), RedisStore(enabled=False)
    )


def _match_info(path: Path, info_file: Path | None) -> Any:
    from pitchcast.streams.match_csv import read_actions, read_match_info

    if info_file is None:
        beside = path.parent / "match_info.csv"
        if not beside.exists():
            return None
        info_file = beside
    game_id = next(iter(read_actions(path)))["game_id"]
    return read_match_info(info_file).get(game_id)


async def _write(settings: Settings, played: Any, personas: Sequence[Persona]) -> Any:
    from pitchcast.quality.run import write_match

    service = build_service(settings)
    try:
        return await write_match(
            played,
            service,
            personas,
            mode=settings.llm_mode,
            structured=settings.llm_structured_output,
            live_deadline_s=settings.llm_live_deadline_s,
        )
    finally:
        await service.aclose()


def run_eval(
    settings: Settings,
    path: Path,
    *,
    match_info: Path | None,
    personas: Sequence[Persona],
    out: Path,
    max_actions: int | None = None,
    plots: bool = True,
    max_shape_share: float | None = None,
    min_shape_gap: int | None = None,
    echo: Callable[[str], None] = print,
) -> EvalOutcome:
    """Evaluate one match CSV; see ``pitchcast eval --help``."""
    from pitchcast.quality.report import evaluate, failures, write_report
    from pitchcast.quality.run import play_match

    if plots and importlib.util.find_spec("matplotlib") is None:
        raise ConfigurationError(
            "the plots need matplotlib: pip install -e '.[eval]', or pass --no-plots"
        )
    info = _match_info(path, match_info)
    played = play_match(path, info, batch_size=settings.batch_size, max_actions=max_actions)
    echo(
        f"playing {path.name}: {len(played.actions)} actions, {len(played.batches)} batches,"
        f" {settings.llm_backend} backend, {settings.llm_mode} mode, {', '.join(personas)}"
    )
    run = asyncio.run(_write(settings, played, personas))
    figures = evaluate(run)
    title = f"{path.name}, {settings.llm_backend} backend, {settings.llm_mode} mode"
    files = write_report(figures, out, title=title, plots=plots)
    problems = failures(figures, max_shape_share=max_shape_share, min_shape_gap=min_shape_gap)
    return EvalOutcome(figures, files, problems)


def summary_lines(figures: dict[str, Any]) -> list[str]:
    """One line per persona for the terminal."""
    out = []
    for persona, fig in figures["personas"].items():
        rep = fig["repetition"]
        out.append(
            f"{persona:8} lines {fig['lines']:5}  grounding errors {fig['grounding']['errors']}"
            f"  particle errors {fig['particles']['errors']}  shapes {rep['distinct_shapes']}"
            f"  top shape {rep['top_share']:.2%}  shortest gap {rep['shortest_gap_lines']} lines"
            f"  misfits {fig['fit']['misfits']}/{fig['fit']['judged']}"
        )
    return out


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"invalid settings: {exc}") from exc


@click.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--match-info",
    type=click.Path(exists=True, dir_okay=False),
    help="match_info.csv [the one beside FILE, if any].",
)
@click.option(
    "--backend",
    type=click.Choice(["template", "openai"]),
    help="Commentary backend [PITCHCAST_LLM_BACKEND].",
)
@click.option("--personas", default="CASTER,ANALYST,FRIEND", show_default=True)
@click.option("--mode", type=click.Choice(["live", "batch"]), help="[PITCHCAST_LLM_MODE]")
@click.option("--base-url", help="OpenAI-compatible endpoint, up to /v1 [PITCHCAST_LLM_BASE_URL].")
@click.option("--model", help="Served model name [PITCHCAST_LLM_MODEL].")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Report folder [.pitchcast/eval/FILE-stem]."
)
@click.option("--max-actions", type=int, help="Only the first N actions (a short slice).")
@click.option("--no-plots", is_flag=True, help="No PNG plots (figures.json and report.md only).")
@click.option("--max-shape-share", type=float, help="Fail above this top shape share (0.015).")
@click.option("--min-shape-gap", type=int, help="Fail when a shape comes back sooner (30).")
def eval_command(
    file: str,
    match_info: str | None,
    backend: str | None,
    personas: str,
    mode: str | None,
    base_url: str | None,
    model: str | None,
    out: str | None,
    max_actions: int | None,
    no_plots: bool,
    max_shape_share: float | None,
    min_shape_gap: int | None,
) -> None:
    """Run a whole match through the batcher and commentary stage (no Kafka) and report
    on the quality of its lines, per persona.

    \b
    Grounding (names outside the batch, wrong scores, minutes, counts), Korean particles
    after names and numbers, repetition (sentence shapes, gaps, distinct n-grams), tone
    against the event and line length; with a server, latency and tokens per line.
    Writes report.md, figures.json and PNG plots. Exits 1 on any grounding or particle
    error, or when a --max-shape-share / --min-shape-gap threshold is missed.

    \b
    Examples:
      pitchcast eval data/events_metrica_1.csv
      pitchcast eval data/events_metrica_3.csv --backend openai --base-url http://127.0.0.1:8000/v1
    """
    settings = _settings(
        llm_backend=backend, llm_mode=mode, llm_base_url=base_url, llm_model=model,
        personas=personas,
    )  # fmt: skip
    path = Path(file)
    folder = Path(out) if out else Path(".pitchcast") / "eval" / path.stem
    try:
        outcome = run_eval(
            settings, path,
            match_info=Path(match_info) if match_info else None,
            personas=settings.personas, out=folder, max_actions=max_actions,
            plots=not no_plots, max_shape_share=max_shape_share, min_shape_gap=min_shape_gap,
            echo=click.echo,
        )  # fmt: skip
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in summary_lines(outcome.figures):
        click.echo(line)
    click.echo(f"report: {folder / 'report.md'}")
    if outcome.problems:
        for problem in outcome.problems:
            click.echo(f"FAIL {problem}", err=True)
        sys.exit(1)
