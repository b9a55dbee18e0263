"""The command line: help that helps, in one style; secrets masked; clear errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pitchcast.cli import main
from pitchcast.cli.chaos import SCENARIO_NAMES
from pitchcast.cli.options import PitchcastOption

REPO = Path(__file__).resolve().parents[2]
# Every default and variable is shown the one way click shows them, in one bracket at the
# end of the option's help: [env var: PITCHCAST_X; default: V], either part optional.
ONE_WAY = re.compile(r"\[(env var: PITCHCAST_[A-Z0-9_]+)?(; )?(default: [^\[\]]+)?\]$")
# The other ways the command line once used: [PITCHCAST_X], [a new one per run], (0.015).
OTHER_WAYS = re.compile(r"\[PITCHCAST_|\[default|\(default|\(\d[\d.]*\)|\[[a-z][^\]]*\]")


def _walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name))


EVERY_COMMAND = list(_walk(main))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _help(path: tuple[str, ...]) -> str:
    # Wide enough that no option's help wraps: each bracket stays on its option's line.
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=400, max_content_width=400)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_tree_is_the_documented_one() -> None:
    """Every command and subcommand, as the README's command table lists them."""
    names = {" ".join(path) for path in EVERY_COMMAND if path}
    assert names == {
        "demo", "stack", "stack up", "stack down", "stack status", "topics", "worker",
        "replay", "tail", "monitor", "dlq", "dlq list", "dlq show", "dlq replay", "config", "eval",
        "chaos", "serve-llm",
    }  # fmt: skip
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## The command line") : readme.index("## Configuration")]
    for path in EVERY_COMMAND[1:]:
        assert f"pitchcast {path[0]}" in table, f"README's command table lacks {path[0]}"


DOCS = ("README.md", "DESIGN.md", "RELIABILITY.md", "BENCHMARKS.md", "docs/operations.md")
# `pitchcast CMD [SUB]` and what follows it on the line, up to the end of the example.
_INVOCATION = re.compile(r"pitchcast ([a-z-]+(?: [a-z-]+)?)([^`|;\n]*)")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def test_every_flag_the_docs_give_a_command_is_one_of_its_options() -> None:
    """`pitchcast eval ... --max-actions 200` in a doc: eval has --max-actions. A renamed
    or dropped option leaves no example behind that would fail when copied."""
    options = {
        " ".join(path): {opt for param in _command(path).params for opt in param.opts}
        for path in EVERY_COMMAND[1:]
    }
    longest_first = sorted(options, key=len, reverse=True)
    wrong, checked = [], 0
    for doc in DOCS:
        for number, line in enumerate((REPO / doc).read_text(encoding="utf-8").splitlines(), 1):
            for invocation in _INVOCATION.finditer(line):
                words = invocation.group(1).split()
                name = next(
                    (n for n in longest_first if words[: len(n.split())] == n.split()), None
                )
                if name is None:
                    continue
                rest = " ".join(words[len(name.split()) :]) + invocation.group(2)
                for flag in _FLAG.findall(rest):
                    checked += 1
                    if flag not in options[name] | {"--help"}:
                        wrong.append(f"{doc}:{number}: pitchcast {name} has no {flag}")
    assert checked > 40, "the docs' invocations were not found"
    assert wrong == []


GROUPS = [path for path in EVERY_COMMAND if isinstance(_command(path), click.Group)]


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "pitchcast")
def test_group_help_lists_every_command(path: tuple[str, ...]) -> None:
    """`pitchcast --help`, `pitchcast stack --help`, `pitchcast dlq --help` name every
    command of the group, each with a whole one-line summary, not cut short by click in
    an 80-column terminal."""
    group = _command(path)
    assert isinstance(group, click.Group)
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    output = result.output
    listed = output[output.index("Commands:") :].splitlines()[1:]
    shown = {line.split()[0]: line.split(None, 1)[1] for line in listed if line.strip()}
    assert set(shown) == set(group.commands)
    assert [s for s in shown.values() if s.endswith("...")] == []


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda p: " ".join(p) or "pitchcast")
def test_help_renders_every_option_one_way(path: tuple[str, ...]) -> None:
    """Each command's --help renders and lists each of its options with help text, and
    shows defaults and PITCHCAST_* variables only in click's one bracket form."""
    output = _help(path)
    command = _command(path)
    assert output.startswith("Usage: ")
    assert len(output.splitlines()) > 3
    lines = output.splitlines()
    ctx = click.Context(command, info_name="pitchcast", show_default=True)
    for param in command.params:
        if not isinstance(param, click.Option) or not param.expose_value:
            continue  # --help and --version: click's own
        assert isinstance(param, PitchcastOption), f"{param.opts} is not made by options.option"
        assert param.help, f"{param.opts[0]} has no help"
        line = next((li for li in lines if li.lstrip().startswith(param.opts[0])), None)
        assert line is not None, f"{param.opts[0]} missing from the help of {path}"
        record = param.get_help_record(ctx)
        assert record is not None
        text, bracket = record[1], ""
        if text.endswith("]"):
            text, _, bracket = record[1].rpartition("  [")
            bracket = "[" + bracket
            assert ONE_WAY.fullmatch(bracket), f"{param.opts[0]}: {bracket}"
        assert not OTHER_WAYS.search(text), f"{param.opts[0]}: {text}"
        if param.setting is not None:
            assert f"env var: PITCHCAST_{param.setting.upper()}" in bracket
        if not param.is_flag:
            assert "default: " in bracket, f"{param.opts[0]} does not say its default"


@pytest.mark.parametrize("path", EVERY_COMMAND[1:], ids=lambda p: " ".join(p))
def test_docstring_examples_show_in_help(path: tuple[str, ...]) -> None:
    """Examples written in a command's docstring reach its --help, unwrapped."""
    command = _command(path)
    examples = [
        line.strip() for line in (command.help or "").splitlines()
        if line.strip().startswith("pitchcast ")
    ]  # fmt: skip
    output = _help(path)
    for example in examples:
        assert example in output


@pytest.mark.parametrize("path", EVERY_COMMAND[1:], ids=lambda p: " ".join(p))
def test_every_command_help_shows_an_example(path: tuple[str, ...]) -> None:
    # topics, config and stack up/down/status showed none: a new user had to find one
    # in the README.
    assert re.search(r"^\s+(\S+=\S+ )*pitchcast ", _help(path), re.M), " ".join(path)


def test_chaos_help_names_every_scenario() -> None:
    """`pitchcast chaos --help` (click, like every command) lists the suite's scenarios."""
    from pitchcast.chaos.scenarios import SCENARIOS

    assert tuple(SCENARIOS) == SCENARIO_NAMES
    output = _help(("chaos",))
    assert "pitchcast chaos sigkill --full" in output
    for name in SCENARIOS:
        assert name in output


def test_chaos_refuses_an_unknown_scenario_by_name() -> None:
    result = CliRunner().invoke(main, ["chaos", "sigkil"])
    assert result.exit_code == 2
    assert "sigkil" in result.output and "sigkill" in result.output


def test_eval_honours_pitchcast_personas(tmp_path: Path) -> None:
    """Without --personas, eval writes and judges the personas of PITCHCAST_PERSONAS."""
    result = CliRunner().invoke(
        main,
        ["eval", "data/events_metrica_1.csv", "--max-actions", "20", "--no-plots",
         "--out", str(tmp_path)],
        env={"PITCHCAST_PERSONAS": "FRIEND"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "template backend, live mode, FRIEND\n" in result.output
    summaries = [line.split()[0] for line in result.output.splitlines() if " lines " in line]
    assert summaries == ["FRIEND"]


def test_eval_judges_every_persona_by_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["eval", "data/events_metrica_1.csv", "--max-actions", "10", "--no-plots",
         "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CASTER, ANALYST, FRIEND" in result.output


def test_a_bad_variable_behind_an_option_is_named() -> None:
    """A PITCHCAST_* value that an option reads is refused with the variable's name."""
    result = CliRunner().invoke(main, ["worker"], env={"PITCHCAST_WEB_PORT": "sixty"})
    assert result.exit_code == 2
    assert "PITCHCAST_WEB_PORT" in result.output


def test_config_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords and API keys never print; the redis URL password is masked too."""
    monkeypatch.setenv("PITCHCAST_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("PITCHCAST_KAFKA_SASL_PASSWORD", "kafka-secret")
    monkeypatch.setenv("PITCHCAST_REDIS_URL", "redis://user:redis-secret@host:6379/0")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    for secret in ("sk-very-secret", "kafka-secret", "redis-secret"):
        assert secret not in result.output
    assert "PITCHCAST_LLM_API_KEY=**********" in result.output


def test_invalid_settings_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad persona is refused by name, with exit code 1."""
    monkeypatch.setenv("PITCHCAST_PERSONAS", "CASTER,COACH")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1
    assert "invalid settings: PITCHCAST_PERSONAS" in result.output and "COACH" in result.output


def test_serve_llm_dry_run_prints_a_sized_command() -> None:
    """With the GPU memory given, serve-llm prints the vllm command and its sizing."""
    result = CliRunner().invoke(main, ["serve-llm", "--gpu-memory-gib", "48", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "vllm serve skt/A.X-4.0-Light" in result.output
    assert "--enable-prefix-caching" in result.output and "--max-num-seqs 48" in result.output


def test_serve_llm_without_gpu_says_what_is_missing() -> None:
    """No torch/vllm/GPU here: a one-line error naming what is missing."""
    result = CliRunner().invoke(main, ["serve-llm"])
    assert result.exit_code == 1
    assert "Error:" in result.output and ("torch" in result.output or "GPU" in result.output)


def test_replay_rejects_a_bad_speed() -> None:
    """--speed must be positive."""
    result = CliRunner().invoke(main, ["replay", "data/events_metrica_1.csv", "--speed", "0"])
    assert result.exit_code == 2 and "--speed" in result.output


def test_config_prints_values_as_the_environment_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Personas as a comma list, booleans as true/false, unset values empty."""
    monkeypatch.setenv("PITCHCAST_PERSONAS", "CASTER, friend")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    lines = set(result.output.splitlines())
    assert "PITCHCAST_PERSONAS=CASTER,FRIEND" in lines
    assert "PITCHCAST_LLM_STREAM=true" in lines and "PITCHCAST_KAFKA_SASL_USERNAME=" in lines
    assert "PITCHCAST_LLM_API_KEY=" in lines  # unset secret: empty, not "None"
