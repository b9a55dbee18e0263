"""What ``pitchcast eval`` runs: play a match, write its lines, check them, report.

The command itself (its options) is :mod:`pitchcast.cli.eval`.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import Persona, Settings

__all__ = ["EvalOutcome", "build_service", "run_eval", "summary_lines"]


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
        primary = TemplateBackend(settings.density, settings.friend_supports)
    return CommentaryService.from_settings(
        settings,
        primary,
        TemplateBackend(settings.density, settings.friend_supports),
        RedisStore(enabled=False),
    )


def _match_info(path: Path, info_file: Path | None, only_game: int | None = None) -> Any:
    from pitchcast.streams.match_csv import first_game_id, match_info_for

    game = only_game if only_game is not None else first_game_id(path)
    return match_info_for(path, [game] if game is not None else [], given=info_file)


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
            density=settings.density,
            forks=settings.llm_live_forks,  # live: a burst as the lanes send it
            supports=settings.friend_supports if "FRIEND" in personas else "",
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
    only_game: int | None = None,
    plots: bool = True,
    max_shape_share: float | None = None,
    min_shape_gap: int | None = None,
    echo: Callable[[str], None] = print,
) -> EvalOutcome:
    """Evaluate one match CSV; see ``pitchcast eval --help``."""
    from pitchcast.quality.report import evaluate, failures, write_report
    from pitchcast.quality.run import play_match
    from pitchcast.streams.match_csv import MalformedCsv

    if plots and importlib.util.find_spec("matplotlib") is None:
        raise ConfigurationError(
            "the plots need matplotlib: pip install -e '.[eval]', or pass --no-plots"
        )
    try:
        info = _match_info(path, match_info, only_game)
    except MalformedCsv as exc:
        if exc.path != match_info:
            raise
        # The match file's own error first (several games: --only-game), as before.
        play_match(path, None, batch_size=settings.batch_size, only_game=only_game)
        raise
    played = play_match(
        path, info, batch_size=settings.batch_size, max_actions=max_actions, only_game=only_game
    )
    echo(
        f"playing {path.name}: {len(played.actions)} actions, {len(played.batches)} batches,"
        f" {settings.llm_backend} backend, {settings.llm_mode} mode, {', '.join(personas)}"
    )
    if "FRIEND" in personas and settings.friend_supports:
        echo(_backing_said(settings.friend_supports, info))
    run = asyncio.run(_write(settings, played, personas))
    figures = evaluate(run, supports=settings.friend_supports if "FRIEND" in personas else "")
    # The density setting (s14/density); a worker without it shows every line.
    density = getattr(settings, "density", None) or getattr(settings, "commentary_density", None)
    figures["density"] = str(density or "every")
    # The team FRIEND backs ("" = neutral; a match without that team: neutral too).
    figures["friend_supports"] = getattr(settings, "friend_supports", "")
    title = f"{path.name}, {settings.llm_backend} backend, {settings.llm_mode} mode"
    files = write_report(figures, out, title=title, plots=plots)
    problems = failures(figures, max_shape_share=max_shape_share, min_shape_gap=min_shape_gap)
    return EvalOutcome(figures, files, problems)


def _backing_said(supports: str, info: Any) -> str:
    """Whom FRIEND backs in this match: a setting that names neither team leaves it
    neutral (README, "A FRIEND who backs a team"), which eval says rather than hides."""
    from pitchcast.commentary.template.backing import backed_side

    side = backed_side(supports, info)
    if side is not None:
        name = getattr(info, f"{side}_team_name_ko") or getattr(info, f"{side}_team_name")
        return f"FRIEND backs {name} ({side})"
    if info is None:
        return f"FRIEND is neutral: no match info to find {supports!r} in"
    teams = [
        f"{info.home_team_name_ko or info.home_team_name} ({info.home_team_id})",
        f"{info.away_team_name_ko or info.away_team_name} ({info.away_team_id})",
    ]
    return f"FRIEND is neutral: {supports!r} names not one team of {teams[0]} v {teams[1]}"


def summary_lines(figures: dict[str, Any]) -> list[str]:
    """One line per persona for the terminal."""
    out = []
    for persona, fig in figures["personas"].items():
        rep = fig["repetition"]
        out.append(
            f"{persona:8} lines {fig['lines']:5}  grounding errors {fig['grounding']['errors']}"
            f"  particle errors {fig['particles']['errors']}  shapes {rep['distinct_shapes']}"
            f"  top shape {rep['top_share']:.2%}"
            f"  shortest gap {_gap_text(rep['shortest_gap_lines'])}"
            f"  misfits {fig['fit']['misfits']}/{fig['fit']['judged']}"
            + _telling_summary(fig)
            + _server_summary(fig)
        )
    return out


def _gap_text(lines: int | None) -> str:
    """The shortest gap between two uses of a shape; none when no shape came back."""
    return "none" if lines is None else f"{lines} lines"


def _server_summary(fig: dict[str, Any]) -> str:
    """With a server: how many lines it wrote, and why the template wrote the others (a
    wrong URL or model name shows here, not only in the report)."""
    server = fig.get("server")
    if not server:
        return ""
    reasons = ", ".join(f"{k} {v}" for k, v in server["fallback_reasons"].items())
    return f"  from the LLM {server['llm_lines']}/{fig['lines']}" + (
        f" (template fallbacks: {reasons})" if reasons else ""
    )


def _telling_summary(fig: dict[str, Any]) -> str:
    """Shown lines a minute, key events told, moments told twice, unsupported claims."""
    pace, key, twice = fig.get("pace"), fig.get("key_events"), fig.get("told_twice")
    if not (pace and key and twice):
        return ""
    per_minute = pace["lines_per_minute"] or 0.0
    return (
        f"  shown/min {per_minute:.1f} (max {pace['worst_minute']})"
        f"  key told {key['told']}/{key['events']}  told twice {twice['count']}"
        f"  unsupported {fig['wording']['unsupported']}"
    )
