"""The docs' links and the repository paths they name: each points at something that is there.

A link ``[x](DESIGN.md#5-layout)`` reaches a file of the repository and, with an anchor, one
of that file's headings (as GitHub makes anchors of them); a path written in backticks,
``pitchcast/agents/acks/window.py``, is a file or folder of the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = (
    "README.md",
    "DESIGN.md",
    "RELIABILITY.md",
    "BENCHMARKS.md",
    "docs/operations.md",
    "docs/schema-evolution.md",
    "examples/spring-consumer/README.md",
)
_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PATH = re.compile(
    r"`((?:pitchcast|tests|scripts|deploy|docs|bench|examples|data|requirements)/[^`\s]*)`"
)
# The docs' own placeholder of "the module a/b.py and its test".
_PLACEHOLDER = re.compile(r"(^|/)a/(test_)?b\.py$")


def _anchors(doc: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    text = _FENCED.sub("", doc.read_text(encoding="utf-8"))
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in _HEADING.findall(text)
    }


@pytest.mark.parametrize("doc", DOCS)
def test_every_link_reaches_a_file_and_heading_that_exist(doc: str) -> None:
    source = REPO / doc
    dead = []
    for link in _LINK.findall(source.read_text(encoding="utf-8")):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = link.partition("#")
        target = (source.parent / path).resolve() if path else source
        if not target.exists():
            dead.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            dead.append(f"{link}: no heading #{anchor} in {target.relative_to(REPO)}")
    assert dead == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_in_backticks_exists(doc: str) -> None:
    source = REPO / doc
    missing = []
    for written in _PATH.findall(source.read_text(encoding="utf-8")):
        path = re.sub(r"(::|#).*$", "", written).rstrip("/")
        if "<" in path or "*" in path or _PLACEHOLDER.search(path):
            continue
        if not (REPO / path).exists() and not (source.parent / path).exists():
            missing.append(written)
    assert missing == []
