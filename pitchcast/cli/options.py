"""The one style of every ``pitchcast`` option, and the helpers every command shares.

Every option is made by :func:`option`. Its help ends with one bracket in click's own
form, ``[env var: PITCHCAST_X; default: V]``, either part left out when it does not
apply:

* ``setting="web_port"``: the option overrides a setting; when it is not given, its
  ``PITCHCAST_*`` variable is read (by click, so a bad value names the variable), and
  the default shown is the setting's own (as ``pitchcast config`` writes it);
* ``default=``: a fixed default, shown as it is;
* ``default_text=``: a default that is not a value ("the one beside FILE").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from pitchcast.exceptions import PitchcastError
from pitchcast.logs import configure_command_logging
from pitchcast.settings import (
    Settings,
    describe_invalid,
    env_text,
    load_settings,
    unknown_variables,
)

__all__ = ["PitchcastOption", "clear_errors", "option", "run_async", "settings_with"]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


class PitchcastOption(click.Option):
    """A click option whose help shows its variable and default in one way."""

    def __init__(
        self,
        param_decls: list[str] | None = None,
        *,
        setting: str | None = None,
        default_text: str | None = None,
        **attrs: Any,
    ) -> None:
        if setting is not None:
            if setting not in Settings.model_fields:
                raise ValueError(f"no setting {setting!r}")
            attrs.setdefault("envvar", f"PITCHCAST_{setting.upper()}")
            attrs["show_envvar"] = True
        super().__init__(param_decls, **attrs)
        self.setting = setting
        self.default_text = default_text

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        if self.default_text is not None:
            extra["default"] = self.default_text
        elif self.setting is not None and "default" not in extra:
            shown = env_text(Settings.model_fields[self.setting].default)
            if shown:
                extra["default"] = shown
        return extra


def option(*param_decls: str, **attrs: Any) -> Callable[[_F], _F]:
    """``click.option`` with :class:`PitchcastOption` (see the module docstring)."""
    return click.option(*param_decls, cls=PitchcastOption, **attrs)


def settings_with(**overrides: object) -> Settings:
    """The settings from the environment, with the options given on top; the command's
    log lines from here on go to stderr as these settings say (``pitchcast worker``
    configures its own when it starts)."""
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        message = describe_invalid(exc)
        for variable, flag in _typed_options().items():
            message = message.replace(f"{variable}:", f"{flag} ({variable}):")
        raise click.ClickException(f"invalid settings: {message}") from exc
    except ValueError as exc:
        raise click.ClickException(f"invalid settings: {exc}") from exc
    configure_command_logging(settings)
    for warning in unknown_variables():
        click.echo(f"warning: {warning}", err=True)
    return settings


def _typed_options() -> dict[str, str]:
    """{PITCHCAST_X: --x} of the options given on this command line (not read from the
    environment): an error about a value the user typed names what they typed."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return {}
    typed = {}
    for param in ctx.command.params:
        if (
            isinstance(param, PitchcastOption)
            and param.setting is not None
            and param.name is not None
            and ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE
        ):
            typed[f"PITCHCAST_{param.setting.upper()}"] = max(param.opts, key=len)
    return typed


@contextlib.contextmanager
def clear_errors() -> Iterator[None]:
    """A pitchcast error ends the command with its message and exit code 1, no trace."""
    try:
        yield
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc


def run_async(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to its end, with :func:`clear_errors`."""
    with clear_errors():
        return asyncio.run(coroutine)
