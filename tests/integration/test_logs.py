"""The real worker's log output: JSON lines with context, and no secret anywhere.

The worker runs with ``PITCHCAST_LOG_FORMAT=json``, a Redis password (the shared test
Redis at an address where nothing listens, with a password in its URL: the outage gets
logged), an LLM API key that the fake LLM server echoes back in error bodies, a bad
input message, and LLM faults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest

from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.pipeline import WorkerProcess, free_port, read_topic
from tests.support.sample_matches import replay_opening_then, wait_for_records_and_a_dead_letter

pytestmark = pytest.mark.integration

MODEL = "pitchcast-test-model"
API_KEY = "sk-sentinel-llm-key-5c1d9e"
REDIS_PASSWORD = "redis-sentinel-password-8b2f"
REDIS_URL_PASSWORD = "redis-url-sentinel-3e7a"
SECRETS = (API_KEY, REDIS_PASSWORD, REDIS_URL_PASSWORD)
ACTIONS = 100


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer(model=MODEL).start()
    yield server
    server.stop()


async def test_json_logs_carry_context_and_never_a_secret(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    llm_server: FakeLLMServer,
) -> None:
    """Every output line is a JSON object; context fields are there; the sentinels are not."""
    # A 4xx and then 5xx answers that echo the Authorization header back, as a careless
    # proxy would; later requests are answered normally.
    llm_server.script(
        Fault("status", status=400, echo_headers=True),
        *[Fault("status", status=500, echo_headers=True)] * 4,
    )
    env = {
        **pipeline_env,
        "PITCHCAST_LOG_FORMAT": "json",
        "PITCHCAST_LLM_BACKEND": "openai",
        "PITCHCAST_LLM_BASE_URL": llm_server.base_url,
        "PITCHCAST_LLM_MODEL": MODEL,
        "PITCHCAST_LLM_API_KEY": API_KEY,
        "PITCHCAST_REDIS_PASSWORD": REDIS_PASSWORD,
        "PITCHCAST_REDIS_URL": f"redis://pc:{REDIS_URL_PASSWORD}@127.0.0.1:{free_port()}/0",
    }
    worker = start_worker(env)
    await replay_opening_then(env, ACTIONS, b'{"game_id": 1, "x":')
    stats = wait_for_records_and_a_dead_letter(worker, ACTIONS // 10, timeout_s=180)
    assert stats.get("fallbacks", 0) >= 1, stats  # the scripted faults were met
    pages = [
        httpx.get(f"http://127.0.0.1:{worker.web_port}{path}", timeout=10).text
        for path in ("/metrics", "/ready", "/pitchcast/stats/")
    ]
    assert worker.stop() == 0

    # Everything the worker wrote, its pages, and every topic it wrote to.
    output = worker.log_path.read_text(encoding="utf-8")
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    written = []
    for topic in ("TOPIC_DLQ", "TOPIC_COMMENTARY", "TOPIC_LINES", "TOPIC_BATCHES"):
        records = await read_topic(bootstrap, env[f"PITCHCAST_{topic}"], until=lambda rs: True)
        written.extend(orjson.dumps(r.value).decode() for r in records)
    everything = "\n".join([output, *pages, *written])
    for secret in SECRETS:
        assert secret not in everything, f"a secret leaked: {secret[:6]}..."

    records = [orjson.loads(line) for line in output.splitlines() if line.strip()]
    assert all(
        isinstance(r, dict) and {"time", "level", "logger", "message"} <= set(r) for r in records
    )
    dead = [r for r in records if r["message"].startswith("pitchcast.dead_letter")]
    assert dead and dead[0]["error_kind"] == "UndecodableMessage"
    fallbacks = [r for r in records if r["message"] == "pitchcast.commentary.fallback"]
    assert fallbacks
    assert {"game_id", "batch_index", "persona", "reason"} <= set(fallbacks[0])
    assert fallbacks[0]["game_id"] == 1 and fallbacks[0]["persona"] == "CASTER"
    redis = [r for r in records if r["message"] == "pitchcast.redis_unavailable"]
    assert redis and redis[0]["error_kind"] == "ConnectionError"
