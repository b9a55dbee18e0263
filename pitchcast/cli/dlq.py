"""``pitchcast dlq list|show|replay``: inspect dead letters, and replay them after a fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pitchcast.cli.options import option, run_async, settings_with
from pitchcast.exceptions import PitchcastError

__all__ = ["dlq"]

_F = TypeVar("_F", bound=Callable[..., Any])


@click.group(short_help="Dead letters: list, show, replay after a fix.")
def dlq() -> None:
    """Inspect dead letters and replay them after a fix.

    \b
    A dead letter is named PARTITION:OFFSET in the dead-letter topic, e.g. 2:17.
    Filters: --game-id, --reason (repeatable), --since/--until (ISO time or 30m, 2h, 1d),
    --source-offsets FIRST-LAST (offsets in the original topic).

    \b
    Examples:
      pitchcast dlq list --since 2h
      pitchcast dlq show 2:17
      pitchcast dlq replay 2:17 --dry-run
    """


def _dlq_filters(
    ids: tuple[str, ...],
    game_id: int | None,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    source_offsets: str | None,
) -> Any:
    from pitchcast.streams.dead_letters.tooling import Filters, parse_id, parse_offsets, parse_time

    try:
        return Filters(
            ids=frozenset(parse_id(i) for i in ids),
            game_id=game_id,
            reasons=frozenset(reasons),
            since=parse_time(since) if since else None,
            until=parse_time(until) if until else None,
            source_offsets=parse_offsets(source_offsets) if source_offsets else None,
        )
    except PitchcastError as exc:
        raise click.BadParameter(str(exc)) from exc


_FILTERS = (
    option("--game-id", type=int, default_text="every match", help="Only this match."),
    option(
        "--reason",
        "reasons",
        multiple=True,
        default_text="every reason",
        help="Error kind, e.g. SchemaViolation (any case; repeatable).",
    ),
    option(
        "--since", default_text="the oldest", help="From this time: ISO 8601, or 30m / 2h / 1d ago."
    ),
    option("--until", default_text="now", help="Before this time (same forms as --since)."),
    option(
        "--source-offsets",
        default_text="every offset",
        help="FIRST-LAST offsets in the source topic.",
    ),
)


def _filter_options(command: _F) -> _F:
    """The filters every dlq command takes, in this order in its help."""
    for add in reversed(_FILTERS):
        command = add(command)
    return command


@dlq.command("list", short_help="List dead letters, oldest first.")
@_filter_options
@option("--limit", type=click.IntRange(min=1), default_text="all", help="Only the newest N.")
@option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def dlq_list(
    game_id: int | None,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    source_offsets: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List dead letters, oldest first: id, time, game, reason, source, size, message.

    \b
    Examples:
      pitchcast dlq list --since 2h
      pitchcast dlq list --reason SchemaViolation --json
    """
    import orjson

    from pitchcast.streams.dead_letters.tooling import describe, format_row, read_dead_letters

    settings = settings_with()
    filters = _dlq_filters((), game_id, reasons, since, until, source_offsets)
    entries = run_async(read_dead_letters(settings, filters, limit=limit))
    for entry in entries:
        click.echo(orjson.dumps(describe(entry)).decode() if as_json else format_row(entry))
    if not as_json:
        click.echo(f"{_dead_letters(len(entries))} in {settings.topic_dlq}", err=True)


@dlq.command("show", short_help="Print one dead letter in full.")
@click.argument("dead_letter_id")
def dlq_show(dead_letter_id: str) -> None:
    """Print one dead letter in full (with its value decoded when it is JSON).

    \b
    Example:
      pitchcast dlq show 2:17
    """
    import orjson

    from pitchcast.streams.dead_letters.tooling import describe, read_dead_letters

    settings = settings_with()
    filters = _dlq_filters((dead_letter_id,), None, (), None, None, None)
    entries = run_async(read_dead_letters(settings, filters))
    if not entries:
        raise click.ClickException(f"no dead letter {dead_letter_id} in {settings.topic_dlq}")
    click.echo(orjson.dumps(describe(entries[0]), option=orjson.OPT_INDENT_2).decode())


@dlq.command("replay", short_help="Re-inject dead letters after a fix.")
@click.argument("ids", nargs=-1)
@_filter_options
@option("--all", "everything", is_flag=True, help="Every dead letter (no filter given).")
@option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@option("--skip-refused", is_flag=True, help="Send the others when some cannot be rebuilt.")
@option("--force", is_flag=True, help="Replay letters the audit file says went already.")
@option(
    "--key-by-game",
    is_flag=True,
    help="Send each event under its value's game_id as key (it was mis-keyed).",
)
@option("--audit-file", type=click.Path(dir_okay=False), setting="dlq_audit_file",
        help="JSON lines file of the records replayed.")  # fmt: skip
def dlq_replay(
    ids: tuple[str, ...],
    game_id: int | None,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    source_offsets: str | None,
    everything: bool,
    dry_run: bool,
    skip_refused: bool,
    force: bool,
    key_by_game: bool,
    audit_file: str | None,
) -> None:
    """Re-inject chosen dead letters into their source topic, after a fix.

    Each original value goes back under its original key with headers
    pitchcast-replay-of / -from / -at; every record sent is appended to the audit
    file (JSON lines). Truncated letters cannot be rebuilt and are refused. An event
    refused for its key goes back under its match's key with --key-by-game.

    \b
    Examples:
      pitchcast dlq replay 0:12 0:13 --dry-run
      pitchcast dlq replay --reason SchemaViolation --game-id 126283 --since 2h
      pitchcast dlq replay 0:14 --key-by-game
    """
    from pitchcast.streams.dead_letters.tooling import (
        plan_replay,
        read_dead_letters,
        replayed_ids,
        send_replay,
    )

    settings = settings_with()
    filters = _dlq_filters(ids, game_id, reasons, since, until, source_offsets)
    if filters.empty and not everything:
        raise click.UsageError("choose dead letters (ids or filters), or say --all")
    audit = Path(audit_file) if audit_file else settings.dlq_audit_file
    entries = run_async(read_dead_letters(settings, filters))
    plan = plan_replay(
        entries,
        settings,
        replayed_before=replayed_ids(audit, settings.topic_dlq),
        force=force,
        key_by_game=key_by_game,
    )
    for entry in plan.already:
        click.echo(f"skip {entry.id}: already replayed (see {audit}; --force to send again)")
    for entry, why in plan.refused:
        click.echo(f"refuse {entry.id}: {why}")
    if plan.refused and not skip_refused:
        raise click.ClickException(
            f"{_dead_letters(len(plan.refused))} cannot be replayed; nothing sent"
            " (--skip-refused sends the others)"
        )
    if not plan.items:
        click.echo("nothing to replay")
        return
    if dry_run:
        for item in plan.items:
            click.echo(f"would send {item.entry.id} -> {item.topic} key={_shown_key(item.key)}")
        click.echo(f"dry run: {len(plan.items)} records would be sent; nothing sent")
        return
    sent = run_async(
        send_replay(
            settings,
            plan,
            audit_file=audit,
            on_sent=lambda item, p, o: click.echo(
                f"sent {item.entry.id} -> {item.topic}:{p}:{o} key={_shown_key(item.key)}"
            ),
        )
    )
    click.echo(f"replayed {sent} records; recorded in {audit}")


def _shown_key(key: bytes | None) -> str:
    return "null" if key is None else key.decode("utf-8", "replace")


def _dead_letters(count: int) -> str:
    return f"{count} dead letter" if count == 1 else f"{count} dead letters"
