"""The fake LLM server (a TEST DOUBLE) for the benchmarks, accounting per match AND persona.

``pitchcast.testing.fake_llm`` attributes GPU-seconds and tokens to the request's
``user`` field, which pitchcast sets to ``game:<id>``. This wrapper appends the persona,
recognised by the system prompt (static per persona: the same bytes every request), so
``/stats`` has one row per ``game:<id>/<PERSONA>``. Timing and answers are unchanged.

    python bench/_fake_server.py --port 8000 --profile a40 --time-scale 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from pitchcast.commentary.prompt import system_prompt
from pitchcast.settings import PERSONAS
from pitchcast.testing.fake_llm import FakeLLMServer, qwen_encoding
from pitchcast.testing.profiles import profile_named

_PERSONA_OF = {
    system_prompt(p, structured=s, live=live): p
    for p in PERSONAS
    for s in (False, True)
    for live in (False, True)
}


class PersonaServer(FakeLLMServer):
    """Tags each request's ``user`` with the persona its system prompt belongs to."""

    def _prepare(self, payload: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        messages = payload.get("messages") or []
        system = (
            messages[0].get("content") if messages and messages[0].get("role") == "system" else None
        )
        persona = _PERSONA_OF.get(system) if isinstance(system, str) else None
        if persona is not None:
            payload = {**payload, "user": f"{payload.get('user') or 'unknown'}/{persona}"}
        return super()._prepare(payload, *args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--profile", default="a40")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--max-num-seqs", type=int, default=None)
    parser.add_argument("--itl-min", type=float, default=None, help="seconds a token, alone")
    parser.add_argument(
        "--answer-miss-blocks", type=int, default=None, help="0: samples always canonical"
    )
    # A slow endpoint: fixed pacing (profile instant), some answers queued for longer.
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds to the first token")
    parser.add_argument("--tpot", type=float, default=0.0, help="seconds a token")
    parser.add_argument("--slow-rate", type=float, default=0.0, help="share of slow answers")
    parser.add_argument("--slow-ttft", type=float, default=None, help="their first token")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-model-len", type=int, default=None, help="vLLM's context limit")
    args = parser.parse_args()
    profile = profile_named(
        args.profile,
        max_num_seqs=args.max_num_seqs,
        itl_min_s=args.itl_min,
        answer_miss_blocks=args.answer_miss_blocks,
    )
    server = PersonaServer(
        port=args.port,
        profile=profile,
        time_scale=args.time_scale,
        ttft_s=args.ttft,
        tpot_s=args.tpot,
        fault_rate=args.slow_rate,
        random_faults=("slow",),
        slow_ttft_s=args.slow_ttft,
        seed=args.seed,
        max_model_len=args.max_model_len,
    )

    async def run() -> None:
        await asyncio.to_thread(qwen_encoding)  # the vocabulary, before the first request
        task = asyncio.create_task(server.serve_forever())
        await asyncio.to_thread(server._ready.wait)
        print(
            f"fake LLM server (a test double) on {server.base_url}: profile {profile.name}, "
            f"itl_min {profile.itl_min_s * 1e3:g} ms, answer miss blocks "
            f"{profile.answer_miss_blocks}, fixed pacing ttft {args.ttft:g} s tpot "
            f"{args.tpot:g} s, slow answers {args.slow_rate:g} (ttft {args.slow_ttft} s), "
            f"time scale {args.time_scale:g}",
            flush=True,
        )
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
