"""``pitchcast eval``: a whole match through the commentary stage, and its quality report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pitchcast.cli.options import clear_errors, option, settings_with

__all__ = ["eval_command"]

# Eval judges every persona unless told otherwise (the worker's default is CASTER alone).
_ALL_PERSONAS = "CASTER,ANALYST,FRIEND"
_DENSITIES = click.Choice(["every", "story", "key"], case_sensitive=False)
_BACKENDS = click.Choice(["template", "openai"], case_sensitive=False)
_MODES = click.Choice(["live", "batch"], case_sensitive=False)


@click.command("eval", short_help="Quality report of a match's commentary (no Kafka).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@option(
    "--match-info",
    type=click.Path(exists=True, dir_okay=False),
    default_text="match_info.csv beside FILE, if any",
    help="match_info.csv with the 17 K League columns.",
)
@option("--backend", type=_BACKENDS, setting="llm_backend",
        help="Commentary backend.")  # fmt: skip
@option("--personas", setting="personas", default=_ALL_PERSONAS,
        help="Comma-separated personas to write and judge.")  # fmt: skip
@option("--density", type=_DENSITIES, setting="density",
        help="What is told: every action, story moments or key events.")  # fmt: skip
@option("--friend-supports", setting="friend_supports", metavar="TEAM",
        default_text="none: a neutral FRIEND",
        help="The team FRIEND backs: a team id or name as in match_info.")  # fmt: skip
@option("--mode", type=_MODES, setting="llm_mode",
        help="Live (a few lines per request) or batch (a window per request).")  # fmt: skip
@option("--base-url", setting="llm_base_url", help="OpenAI-compatible endpoint, up to /v1.")
@option("--model", setting="llm_model", help="Served model name.")
@option("--out", type=click.Path(file_okay=False), default_text=".pitchcast/eval/FILE-stem",
        help="Report folder.")  # fmt: skip
@option("--only-game", type=int, default_text="the file's only game",
        help="Only this game of a file that holds several.")  # fmt: skip
@option("--max-actions", type=click.IntRange(min=1), default_text="all",
        help="Only the first N actions (a short slice).")  # fmt: skip
@option("--no-plots", is_flag=True, help="No PNG plots (figures.json and report.md only).")
@option("--max-shape-share", type=click.FloatRange(0, 1), default_text="no threshold",
        help="Fail above this top sentence-shape share, e.g. 0.015.")  # fmt: skip
@option("--min-shape-gap", type=click.IntRange(min=1), default_text="no threshold",
        help="Fail when a sentence shape comes back within N lines, e.g. 30.")  # fmt: skip
def eval_command(
    file: str,
    match_info: str | None,
    backend: str | None,
    personas: str,
    density: str | None,
    friend_supports: str | None,
    mode: str | None,
    base_url: str | None,
    model: str | None,
    out: str | None,
    only_game: int | None,
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
    Writes report.md, figures.json and PNG plots. Exits 1 on any grounding, particle or
    wording error (an unsupported claim, a known mistake), a line out of its persona's
    register, a key event not told, a moment told twice (below every density), a
    backing FRIEND's line that regrets or praises the other side (--friend-supports), or
    when a --max-shape-share / --min-shape-gap threshold is missed.
    FILE: a match file in any form `pitchcast replay` reads (CSV, CP949, gzip, JSON lines).

    \b
    Examples:
      pitchcast eval data/events_metrica_1.csv
      pitchcast eval data/events_metrica_3.csv --backend openai --base-url http://127.0.0.1:8000/v1
    """
    from pitchcast.quality.command import run_eval, summary_lines

    settings = settings_with(
        llm_backend=backend, llm_mode=mode, llm_base_url=base_url, llm_model=model,
        personas=personas, density=density, friend_supports=friend_supports,
    )  # fmt: skip
    path = Path(file)
    # m.csv.gz: m, as m.csv
    folder = (
        Path(out) if out else Path(".pitchcast") / "eval" / Path(path.name.removesuffix(".gz")).stem
    )
    with clear_errors():
        outcome = run_eval(
            settings, path,
            match_info=Path(match_info) if match_info else None,
            personas=settings.personas, out=folder, max_actions=max_actions, only_game=only_game,
            plots=not no_plots, max_shape_share=max_shape_share, min_shape_gap=min_shape_gap,
            echo=click.echo,
        )  # fmt: skip
    for line in summary_lines(outcome.figures):
        click.echo(line)
    click.echo(f"report: {folder / 'report.md'}")
    if outcome.problems:
        for problem in outcome.problems:
            click.echo(f"FAIL {problem}", err=True)
        sys.exit(1)
