"""Qwen2.5 tokens for the test-double LLM server: counts, pieces, ids, the chat template.

The vocabulary is the ``qwen.tiktoken`` file shipped in the ``dashscope`` wheel (the
151,643 BPE ranks Qwen, Qwen2 and Qwen2.5 share), loaded offline by tiktoken with
Qwen's pre-tokenizer pattern. Without those two packages a crude stand-in is used:
about 1.1 characters per token, cut at fixed character positions (so a prefix of a
text still gives a prefix of its ids, which the prefix cache needs).

The chat template is Qwen2.5's, without tools::

    <|im_start|>system\\n{content}<|im_end|>\\n        (Qwen's default system text if none)
    <|im_start|>{role}\\n{content}<|im_end|>\\n        (every message)
    <|im_start|>assistant\\n                         (the generation prompt)

Like a Hugging Face tokenizer, the text between special tokens is encoded piece by
piece, so ``<|im_start|>`` and ``<|im_end|>`` are single ids (151644, 151645).
"""

from __future__ import annotations

import base64
import codecs
import functools
import importlib.util
import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "IM_END",
    "IM_START",
    "QWEN_DEFAULT_SYSTEM",
    "chat_token_ids",
    "count_tokens",
    "encode",
    "qwen_encoding",
    "split_tokens",
    "tokenizer_name",
]

# Special ids of Qwen2.5 (tokenizer_config.json: added_tokens_decoder).
IM_START = 151644
IM_END = 151645
# What Qwen2.5's template puts first when the messages carry no system message.
QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

# Pre-tokenizer split of Qwen2.5 (as in its tokenizer config): contractions, letter runs
# with one leading non-letter, single digits, punctuation runs, newlines, spaces.
_QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)


@functools.cache
def qwen_encoding() -> Any | None:
    """The Qwen2.5 BPE as a ``tiktoken.Encoding``, loaded offline; None if unavailable."""
    try:
        import tiktoken
    except ImportError:
        return None
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        return None
    vocab = Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"
    if not vocab.is_file():
        return None
    ranks: dict[bytes, int] = {}
    for line in vocab.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        "qwen2.5", pat_str=_QWEN_SPLIT, mergeable_ranks=ranks, special_tokens={}
    )


def tokenizer_name() -> str:
    """What counts tokens here, for banners and reports."""
    return "Qwen2.5 (qwen.tiktoken)" if qwen_encoding() is not None else "chars/1.1 estimate"


# --- the stand-in without the vocabulary: 10 tokens per 11 characters ---------------------


def _estimated_bounds(length: int) -> list[int]:
    # Every 11th character joins the token before it; fixed positions from the start,
    # so the bounds of a prefix are a prefix of the bounds.
    bounds = [0]
    position = 0
    while position < length:
        position += 2 if len(bounds) % 10 == 0 else 1
        bounds.append(min(position, length))
    return bounds


def _estimated_count(text: str) -> int:
    return math.ceil(len(text) / 1.1) if text else 0


def _estimated_ids(text: str) -> list[int]:
    bounds = _estimated_bounds(len(text))
    # Stable ids (no hash randomisation), above the real vocabulary.
    return [
        200_000 + int.from_bytes(text[a:b].encode()[:3].ljust(3, b"\0"), "big") % 1_000_000
        for a, b in itertools.pairwise(bounds)
    ]


# --- public helpers -------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Qwen2.5 tokens in ``text`` (an estimate of chars / 1.1 without the vocabulary)."""
    encoding = qwen_encoding()
    if encoding is None:
        return _estimated_count(text)
    return len(encoding.encode(text, disallowed_special=()))


def encode(text: str) -> list[int]:
    """The Qwen2.5 ids of ``text`` (no special tokens)."""
    encoding = qwen_encoding()
    if encoding is None:
        return _estimated_ids(text)
    return encoding.encode(text, disallowed_special=())


def split_tokens(text: str) -> list[str]:
    """``text`` cut where its tokens end; a token that ends inside a character adds an
    empty piece, so ``len(result)`` is the token count and ``"".join(result) == text``."""
    encoding = qwen_encoding()
    if encoding is None:
        count = _estimated_count(text)
        bounds = [round(i * len(text) / count) for i in range(count + 1)] if count else [0]
        return [text[a:b] for a, b in itertools.pairwise(bounds)]
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces = []
    for token in encoding.encode(text, disallowed_special=()):
        pieces.append(decoder.decode(encoding.decode_single_token_bytes(token)))
    tail = decoder.decode(b"", final=True)
    if tail:
        pieces.append(tail)
    return pieces


def tokens_and_pieces(text: str) -> tuple[list[int], list[str]]:
    """The ids of ``text`` and its pieces (one per id, joined they give ``text``).

    Without the vocabulary the ids follow the stand-in of :func:`encode` and the pieces
    those of :func:`split_tokens`; their counts may differ by one, so both are cut to
    the shorter and the last piece keeps the rest of the text.
    """
    ids = encode(text)
    pieces = split_tokens(text)
    if len(pieces) != len(ids):
        keep = min(len(ids), len(pieces))
        if keep == 0:
            return [], []
        pieces = [*pieces[: keep - 1], "".join(pieces[keep - 1 :])]
        ids = ids[:keep]
    return ids, pieces


@functools.lru_cache(maxsize=8192)
def _message_ids(role: str, content: str) -> tuple[int, ...]:
    # The text of one turn between its special tokens, then the newline after <|im_end|>.
    return (IM_START, *encode(f"{role}\n{content}"), IM_END, *encode("\n"))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def chat_token_ids(messages: Sequence[Any], *, continue_final: bool = False) -> list[int]:
    """The prompt ids of ``messages`` rendered with Qwen2.5's chat template.

    ``continue_final`` (vLLM's ``continue_final_message``): the last message is left
    open, without its ``<|im_end|>`` and without a generation prompt after it."""
    turns = [
        (str(m.get("role") or "user"), _content_text(m.get("content")))
        for m in messages
        if isinstance(m, dict)
    ]
    if not turns or turns[0][0] != "system":
        turns.insert(0, ("system", QWEN_DEFAULT_SYSTEM))
    open_turn = turns.pop() if continue_final and len(turns) > 1 else None
    ids: list[int] = []
    for role, content in turns:
        ids.extend(_message_ids(role, content))
    if open_turn is not None:
        role, content = open_turn
        ids.extend((IM_START, *encode(f"{role}\n{content}")))
        return ids
    ids.extend((IM_START, *encode("assistant\n")))
    return ids
