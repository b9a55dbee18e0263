"""The prefix cache of the simulated vLLM engine (:mod:`.engine`): which prompt tokens
cost nothing.

The prompt's tokens are cut into 16-token blocks, each hashed together with the hash of
the block before it (:func:`block_hashes`: block *i* stands for tokens 0..16i+15, so
only a byte-identical prefix hits). A real model's sampled tokens are not always the
canonical tokenization of their own text, which the client sends back in the next turn:
:func:`answer_divergence` says from where an answer's blocks are taken to differ (the
profile's ``answer_miss_blocks`` last full blocks), so the next turn prefills them again.
The engine takes the leading cached blocks at admission, registers blocks as they are
computed (answer tokens included) and releases a finished sequence's blocks tail first;
unused blocks are evicted least recently used first (:class:`PrefixCache`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from pitchcast.testing.profiles import BLOCK_SIZE

__all__ = ["PrefixCache", "answer_divergence", "block_hashes"]


def block_hashes(
    tokens: Sequence[int],
    block_size: int = BLOCK_SIZE,
    *,
    diverge_at: int | None = None,
    salt: object = None,
) -> list[int]:
    """One hash per full block, each chained to the one before (vLLM's scheme).

    With ``diverge_at``, the tokens from that position on stand for tokens a model
    sampled that differ from what the same text tokenizes to: every block holding one
    of them is hashed with ``salt`` too, so no later prompt (rendered and tokenized from
    text) hits it, nor, through the chain, any block after it.
    """
    hashes: list[int] = []
    previous = 0
    for start in range(0, len(tokens) - block_size + 1, block_size):
        key: object = tuple(tokens[start : start + block_size])
        if diverge_at is not None and start + block_size > diverge_at:
            key = (salt, key)
        previous = hash((previous, key))
        hashes.append(previous)
    return hashes


def answer_divergence(
    prompt_tokens: int, answer_tokens: int, miss_blocks: int, size: int
) -> int | None:
    """Where a sampled answer is taken to differ from its canonical re-tokenization: the
    start of the last ``miss_blocks`` full blocks that hold answer tokens (None when the
    answer fills no block, or ``miss_blocks`` is 0: nothing cached would differ)."""
    if miss_blocks <= 0 or answer_tokens <= 0:
        return None
    full = (prompt_tokens + answer_tokens) // size
    first = max(full - miss_blocks, prompt_tokens // size)
    return first * size if first < full else None


class PrefixCache:
    """KV blocks: cached ones by hash (with the number of running sequences using each),
    plus blocks running sequences hold that are not (or not yet) cached."""

    def __init__(self, capacity_blocks: int) -> None:
        self.capacity_blocks = capacity_blocks
        self.refs: dict[int, int] = {}  # hash -> running sequences using it
        self.free: OrderedDict[int, None] = OrderedDict()  # unused cached blocks, LRU first
        self.private = 0  # held blocks that are no cache entry
        self.evictions = 0

    @property
    def used_blocks(self) -> int:
        return len(self.refs) + self.private

    def hits(self, hashes: Sequence[int], limit: int) -> int:
        """How many leading blocks of ``hashes`` (at most ``limit``) are cached."""
        count = 0
        for block in hashes[:limit]:
            if block not in self.refs:
                break
            count += 1
        return count

    def fits(self, hit_hashes: Sequence[int], new_blocks: int) -> bool:
        """Whether a sequence reusing ``hit_hashes`` and needing ``new_blocks`` more fits
        once unused blocks are evicted."""
        reusable_free = sum(1 for h in hit_hashes if self.refs[h] == 0)
        evictable = len(self.free) - reusable_free
        return self.used_blocks - evictable + new_blocks <= self.capacity_blocks

    def acquire(self, hit_hashes: Sequence[int], new_blocks: int) -> None:
        """Take the hit blocks and ``new_blocks`` fresh ones (evicting as needed)."""
        for block in hit_hashes:
            if self.refs[block] == 0:
                del self.free[block]
            self.refs[block] += 1
        while self.used_blocks + new_blocks > self.capacity_blocks and self.free:
            block, _ = self.free.popitem(last=False)
            del self.refs[block]
            self.evictions += 1
        self.private += new_blocks

    def register(self, block: int) -> bool:
        """A held private block was just computed: make it a cache entry. False when the
        hash is already cached (the block stays a private duplicate)."""
        if block in self.refs:
            return False
        self.refs[block] = 1
        self.private -= 1
        return True

    def release(self, held: Sequence[int], private: int) -> None:
        """A sequence ended: its cache entries become evictable, tail first."""
        self.private -= private
        for block in reversed(held):
            self.refs[block] -= 1
            if self.refs[block] == 0:
                self.free[block] = None
