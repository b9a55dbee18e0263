"""`pitchcast serve-llm`'s flags: the same in docker-compose.yml, and known to `vllm serve`.

The compose check always runs. The `vllm serve --help` check needs vLLM, either in this
interpreter (GPU hosts: `pip install -e ".[gpu]"`) or in a venv of its own named by
PITCHCAST_TEST_VLLM_PYTHON (its python: vLLM 0.33 pins numpy, fastapi and click to other
versions than pitchcast's lock, so it does not share .venv). CI does not install it:
vLLM 0.33 is 151 wheels, 4.6 GB to download and 9.7 GB installed (torch with the CUDA
libraries even on a CPU-only machine), and took 17 minutes to install on the 2-core CI
machine, more than the 11 minutes left of CI's 25-minute budget (README, Development).
This check is how the bound on vllm in pyproject.toml moves: install the new release,
run this file, then move the bound.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pitchcast.cli.serving import STRUCTURED_OUTPUTS_CONFIG, build_vllm_command

REPO = Path(__file__).resolve().parents[3]
MODEL = "skt/A.X-4.0-Light"


def _compose_vllm_command() -> list[str]:
    """The vllm service's `command:` list, with ${VAR:-default} read as its default."""
    lines = (REPO / "docker-compose.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("  vllm:")
    items: list[str] = []
    in_command = False
    for line in lines[start + 1 :]:
        if re.match(r"^  \S", line) or re.match(r"^\S", line):
            break  # the next service or top-level key
        if line.strip() == "command:":
            in_command = True
            continue
        if in_command:
            if line.strip().startswith("#"):
                continue
            item = re.match(r"^\s+- (.*)$", line)
            if item is None:
                break
            value = item.group(1).strip()
            if value[:1] in "'\"" and value[-1:] == value[:1]:
                value = value[1:-1]
            items.append(re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value))
    return items


def test_compose_runs_vllm_with_the_serve_llm_flags() -> None:
    """Model positional, then exactly the flags and values serve-llm emits for a 48 GB A40."""
    argv = build_vllm_command(48.0, MODEL, MODEL, host="0.0.0.0", port=8000)  # its defaults
    assert argv[:3] == ["vllm", "serve", MODEL]
    assert _compose_vllm_command() == argv[2:]


def _flags(argv: list[str]) -> list[str]:
    return [arg for arg in argv if arg.startswith("--")]


def _vllm_python() -> Path | None:
    """The interpreter that has vLLM: PITCHCAST_TEST_VLLM_PYTHON, else this one if it has it."""
    named = os.environ.get("PITCHCAST_TEST_VLLM_PYTHON")
    if named:
        return Path(named)
    return Path(sys.executable) if importlib.util.find_spec("vllm") is not None else None


# What vLLM itself says: its version, and whether it accepts the structured outputs config.
_PROBE = """
import importlib.metadata, json, sys
from vllm.config import StructuredOutputsConfig
StructuredOutputsConfig(**json.loads(sys.argv[1]))
print(importlib.metadata.version("vllm"))
"""


def _vllm_bound() -> tuple[tuple[int, ...], tuple[int, ...]]:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    bound = re.search(r'"vllm>=([0-9.]+),<([0-9.]+)"', pyproject)
    assert bound is not None
    return tuple(map(int, bound.group(1).split("."))), tuple(map(int, bound.group(2).split(".")))


def test_vllm_serve_knows_every_flag() -> None:
    """Every flag serve-llm emits appears in `vllm serve --help=all`; the structured
    outputs config is accepted; the vllm is inside pyproject's bound."""
    python = _vllm_python()
    if python is None:
        # Not tests.support.utils.unavailable: CI leaves vLLM out on purpose (see the docstring).
        pytest.skip(
            "vllm is not installed (GPU hosts, or PITCHCAST_TEST_VLLM_PYTHON); CI leaves it"
            " out: 4.6 GB of wheels, 17 min to install on 2 cores, over CI's 25-min budget"
        )
    vllm = [str(python.parent / "vllm"), "serve"]  # its console script, beside its python
    # Without a GPU, vLLM (0.33) infers no device and cannot even build its argument
    # parser ("Failed to infer device type"); VLLM_TARGET_DEVICE=cpu (vllm/envs.py) picks
    # its CPU platform. The serve flags are the same for every device.
    env = {**os.environ, "VLLM_TARGET_DEVICE": "cpu"}
    run = {"capture_output": True, "text": True, "timeout": 600, "check": False, "env": env}
    result = subprocess.run([*vllm, "--help=all"], **run)  # type: ignore[call-overload]
    if result.returncode != 0:  # a release without grouped help
        result = subprocess.run([*vllm, "--help"], **run)  # type: ignore[call-overload]
    known = set(re.findall(r"--[a-z0-9-]+", result.stdout + result.stderr))
    probe = subprocess.run(
        [str(python), "-c", _PROBE, json.dumps(STRUCTURED_OUTPUTS_CONFIG)], **run
    )  # type: ignore[call-overload]
    assert probe.returncode == 0, f"vLLM refused the structured outputs config:\n{probe.stderr}"
    version = probe.stdout.strip().splitlines()[-1]

    argv = build_vllm_command(48.0, MODEL, MODEL, 4096)
    missing = [flag for flag in _flags(argv) if flag not in known]
    assert not missing, f"vllm {version} lacks {missing}"

    low, high = _vllm_bound()
    installed = tuple(int(x) for x in version.split(".")[:2])
    assert low <= installed < high, f"vllm {version} outside >={low},<{high}"
