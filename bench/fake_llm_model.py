"""The test LLM server's timing model, measured through HTTP, per profile.

For each profile (a test double: a simulated vLLM engine, see
``pitchcast/testing/engine.py``) a fresh server runs in-process and is asked:

* time to first token of pitchcast's real batch prompt (~1.2k Qwen2.5 tokens: the
  CASTER system prompt and one full batch), cold (empty prefix cache), warm (the same
  prompt again) and as a live second turn (that prompt, the answer, a new user message);
* inter-token latency with N streams decoding at once (N different batches, same
  system prompt, answers cut at ``--tokens``): the model's figure and the wall clock's
  (client side, x time scale), the engine's peak of running sequences and the queue.

Model figures come from the server's own records (``GET /stats?requests=1``); wall
figures are what an httpx client sees, multiplied by the time scale (a busy machine
delivers tokens late, never early). The ITL is given two ways: the median gap (the
steady decode step) and the mean (with the stalls of the prefills of streams arriving
together: vLLM's mixed steps).

    python bench/fake_llm_model.py --profiles a40 h100 --time-scale 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx
from tokens import full_batches

from pitchcast.commentary.prompt import build_messages
from pitchcast.testing.fake_llm import FakeLLMServer
from pitchcast.testing.profiles import profile_named
from pitchcast.testing.qwen_tokens import tokenizer_name


async def _stream(client: httpx.AsyncClient, payload: dict[str, Any]) -> tuple[list[float], str]:
    """Arrival times of the content chunks (from the call) and the answer."""
    started = time.monotonic()
    times: list[float] = []
    text: list[str] = []
    async with client.stream("POST", "/chat/completions", json=payload) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices", []):
                piece = choice.get("delta", {}).get("content")
                if piece:
                    times.append(time.monotonic() - started)
                    text.append(piece)
    return times, "".join(text)


def _payload(messages: list[dict[str, str]], tokens: int, user: str) -> dict[str, Any]:
    return {
        "model": "bench",
        "messages": messages,
        "stream": True,
        "max_tokens": tokens,
        "user": user,
    }


async def ttft(server: FakeLLMServer, batch_messages: list[dict[str, str]], scale: float) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        cold, answer = await _stream(client, _payload(batch_messages, 300, "cold"))
        warm, _ = await _stream(client, _payload(batch_messages, 8, "warm"))
        live = [
            *batch_messages,
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "[액션]\nn,m,team,player\n11,12,T1,P1\n[요청] 11번, 1줄"},
        ]
        turn, _ = await _stream(client, _payload(live, 8, "live"))
    records = {r["user"]: r for r in server.engine_requests}
    print(f"  {'TTFT':<34} {'prompt':>7} {'cached':>7} {'model':>9} {'wall x scale':>13}")
    for label, user, wall in (
        ("cold prompt", "cold", cold),
        ("same prompt again (warm)", "warm", warm),
        ("live 2nd turn (+answer, +row)", "live", turn),
    ):
        record = records[user]
        print(
            f"  {label:<34} {record['prompt_tokens']:>7} {record['cached_tokens']:>7} "
            f"{record['ttft_s'] * 1e3:>7.1f}ms {wall[0] * scale * 1e3:>11.1f}ms"
        )


async def itl(
    server: FakeLLMServer, batches: list, streams: int, tokens: int, scale: float
) -> tuple[float, float, float, int, float]:
    server.reset_stats(cache=True)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=600, limits=httpx.Limits(max_connections=streams + 4)
    ) as client:
        results = await asyncio.gather(
            *(
                _stream(
                    client,
                    _payload(build_messages(batches[i % len(batches)], "CASTER"), tokens, f"s{i}"),
                )
                for i in range(streams)
            )
        )
    stats = server.stats(with_requests=True)
    step = statistics.median(r["median_itl_s"] for r in stats["requests"])
    mean = statistics.median(r["mean_itl_s"] for r in stats["requests"])
    wall = statistics.median((t[-1] - t[0]) / (len(t) - 1) for t, _ in results if len(t) > 1)
    queued = max(r["queue_s"] for r in stats["requests"])
    return step, mean, wall * scale, stats["engine"]["peak_running"], queued


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["a40", "h100"])
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--tokens", type=int, default=80, help="answer tokens per stream")
    parser.add_argument(
        "--max-num-seqs", type=int, default=None, help="override the profile's (48)"
    )
    args = parser.parse_args()
    batches = full_batches([1, 3])[:: max(1, len(full_batches([1, 3])) // 64)]
    print(f"tokens: {tokenizer_name()}; time scale {args.time_scale:g}")
    for name in args.profiles:
        profile = profile_named(name, max_num_seqs=args.max_num_seqs)
        print(
            f"\nprofile {name}: itl_min {profile.itl_min_s * 1e3:g} ms, decode cap "
            f"{profile.max_decode_tokens_per_s:g} tok/s, prefill {profile.prefill_tokens_per_s:g} "
            f"tok/s, max_num_seqs {profile.max_num_seqs}, step budget "
            f"{profile.max_num_batched_tokens}, KV cache {profile.kv_cache_tokens} tokens"
        )
        with FakeLLMServer(profile=profile, time_scale=args.time_scale) as server:
            await ttft(server, build_messages(batches[0], "CASTER"), args.time_scale)
            print(
                f"  {'ITL, N streams':<16} {'model step':>11} {'model mean':>11} "
                f"{'wall mean x scale':>18} {'peak running':>13} {'max queue':>10}"
            )
            for streams in args.streams:
                step, mean, wall, peak, queued = await itl(
                    server, batches, streams, args.tokens, args.time_scale
                )
                print(
                    f"  {streams:<16} {step * 1e3:>9.1f}ms {mean * 1e3:>9.1f}ms "
                    f"{wall * 1e3:>16.1f}ms {peak:>13} {queued:>9.2f}s"
                )


if __name__ == "__main__":
    asyncio.run(main())
