"""Block hashes of the simulated prefix cache, and where a sampled answer diverges."""

from __future__ import annotations

from pitchcast.testing.prefix_cache import answer_divergence, block_hashes


def test_the_divergence_is_the_answers_last_full_block() -> None:
    # 200 prompt + 45 answer tokens: blocks 0-14 are full, block 14 (224-239) holds answer.
    assert answer_divergence(200, 45, 1, 16) == 224
    assert answer_divergence(200, 45, 2, 16) == 208
    # No more than the blocks that hold answer tokens: block 12 (192-207) is the first.
    assert answer_divergence(200, 45, 9, 16) == 192
    # An answer that fills no block (200 + 5: block 12 is partial, never cached): nothing.
    assert answer_divergence(200, 5, 1, 16) is None
    assert answer_divergence(200, 45, 0, 16) is None
    assert answer_divergence(200, 0, 1, 16) is None


def test_salted_blocks_differ_from_there_on_and_only_there() -> None:
    tokens = list(range(100))  # 6 full blocks
    plain = block_hashes(tokens)
    salted = block_hashes(tokens, diverge_at=40, salt="a")  # token 40 is in block 2
    assert salted[:2] == plain[:2]
    assert all(s != p for s, p in zip(salted[2:], plain[2:], strict=True))
    # Another request's salt differs too: two samples never share their diverged blocks.
    assert block_hashes(tokens, diverge_at=40, salt="b")[2:] != salted[2:]
    assert block_hashes(tokens, diverge_at=None, salt="a") == plain
