"""`pitchcast serve-llm`'s flags: the same in docker-compose.yml, and known to `vllm serve`.

The compose check always runs. The `vllm serve --help` check runs where vLLM is
installed (GPU hosts: `pip install -e ".[gpu]"`); it is how the upper bound on vllm in
pyproject.toml is raised: install the new release, run this file, then move the bound.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
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
    argv = build_vllm_command(48.0, MODEL, MODEL, 4096, host="0.0.0.0", port=8000)
    assert argv[:3] == ["vllm", "serve", MODEL]
    assert _compose_vllm_command() == argv[2:]


def _flags(argv: list[str]) -> list[str]:
    return [arg for arg in argv if arg.startswith("--")]


@pytest.mark.skipif(shutil.which("vllm") is None, reason="vllm is installed on GPU hosts only")
def test_vllm_serve_knows_every_flag() -> None:
    """Every flag serve-llm emits appears in `vllm serve --help=all`; the structured
    outputs config is accepted; the installed vllm is inside pyproject's bound."""
    result = subprocess.run(
        ["vllm", "serve", "--help=all"], capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:  # a release without grouped help
        result = subprocess.run(
            ["vllm", "serve", "--help"], capture_output=True, text=True, timeout=300, check=False
        )
    known = set(re.findall(r"--[a-z0-9-]+", result.stdout + result.stderr))
    argv = build_vllm_command(48.0, MODEL, MODEL, 4096)
    missing = [flag for flag in _flags(argv) if flag not in known]
    assert not missing, f"vllm {importlib.metadata.version('vllm')} lacks {missing}"

    from vllm.config import StructuredOutputsConfig

    StructuredOutputsConfig(**STRUCTURED_OUTPUTS_CONFIG)  # raises when refused

    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    bound = re.search(r'"vllm>=([0-9.]+),<([0-9.]+)"', pyproject)
    assert bound is not None
    installed = tuple(int(x) for x in importlib.metadata.version("vllm").split(".")[:2])
    low = tuple(int(x) for x in bound.group(1).split("."))
    high = tuple(int(x) for x in bound.group(2).split("."))
    assert low <= installed < high, f"vllm {installed} outside >={low},<{high}"
