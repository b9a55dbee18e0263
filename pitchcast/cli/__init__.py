"""The ``pitchcast`` command line: one click group, a module per family of commands.

Every command reads its settings from ``PITCHCAST_*`` environment variables (see
``pitchcast config``); options override the few values a person changes by hand, and
every option shows its variable and default one way (:mod:`pitchcast.cli.options`).
"""

from __future__ import annotations

import click

from pitchcast.cli.chaos import chaos
from pitchcast.cli.dlq import dlq
from pitchcast.cli.eval import eval_command
from pitchcast.cli.monitor import monitor
from pitchcast.cli.pipeline_commands import config, demo, replay, tail, topics, worker
from pitchcast.cli.serve_llm import serve_llm
from pitchcast.cli.stack import stack

__all__ = ["main"]


class _InOrder(click.Group):
    """Lists its commands in the order they were added (a reader's order), not A-Z."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(
    cls=_InOrder,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.version_option(package_name="pitchcast")
def main() -> None:
    """pitchcast: live K League match events in, Korean AI commentary out, on Kafka.

    \b
    Quick start (no Docker):
      pitchcast demo           stack up, worker, replay a sample match, print commentary
    Pieces, by hand:
      pitchcast stack up && pitchcast worker &
      pitchcast replay data/events_metrica_1.csv --speed 20
      pitchcast tail
    Every command: pitchcast COMMAND --help.
    """


for _command in (demo, stack, topics, worker, replay, tail, monitor, dlq, config, eval_command,
                 chaos, serve_llm):  # fmt: skip
    main.add_command(_command)
