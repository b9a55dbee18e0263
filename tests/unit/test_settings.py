"""Settings: combinations that cannot work are refused, clearly; secrets never show."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pitchcast.cli import main
from pitchcast.settings import Settings, load_settings, unknown_variables

SECRETS = {
    "llm_api_key": "sk-LLM-SECRET-1",
    "kafka_sasl_password": "KAFKA-SECRET-2",
    "redis_password": "REDIS-SECRET-3",
}


def refused(**values: Any) -> str:
    with pytest.raises(ValueError) as caught:
        load_settings(**values)
    return str(caught.value)


def openai(**values: Any) -> dict[str, Any]:
    return {"llm_backend": "openai", **values}


def config_refuses(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    """What `pitchcast config` prints when it refuses the settings ``env`` sets (exit 1)."""
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1
    return result.output


# --- LLM timing -------------------------------------------------------------------------


def test_the_defaults_work_with_either_backend() -> None:
    """Out of the box both backends are valid, and the read timeout is below the deadline."""
    settings = load_settings(llm_backend="openai")
    assert settings.llm_read_timeout_s < settings.llm_batch_deadline_s
    assert settings.llm_connect_timeout_s < settings.llm_batch_deadline_s
    assert load_settings().llm_backend == "template"


def test_a_read_timeout_at_or_above_the_deadline_is_refused() -> None:
    """Issue 7 item 6: 30 s read timeout under a 25 s deadline can never retry a hang."""
    message = refused(**openai(llm_read_timeout_s=30, llm_batch_deadline_s=25))
    assert "PITCHCAST_LLM_READ_TIMEOUT_S=30 must be shorter than" in message
    assert "PITCHCAST_LLM_BATCH_DEADLINE_S=25" in message
    assert "input_value" not in message
    refused(**openai(llm_read_timeout_s=25, llm_batch_deadline_s=25))


def test_a_connect_timeout_at_or_above_the_deadline_is_refused() -> None:
    """A connect timeout as long as the deadline leaves nothing for an answer."""
    message = refused(
        **openai(llm_connect_timeout_s=5, llm_batch_deadline_s=4, llm_read_timeout_s=1)
    )
    assert "PITCHCAST_LLM_CONNECT_TIMEOUT_S=5 must be shorter than" in message


def test_retry_attempts_that_cannot_fit_are_refused_with_what_fits() -> None:
    """20 attempts of 0.5 s plus backoff need far more than 25 s: refused, and the message
    says how many fit."""
    message = refused(**openai(llm_retry_attempts=20))
    assert "PITCHCAST_LLM_RETRY_ATTEMPTS=20 cannot fit" in message
    assert "at most 9 fit" in message
    assert load_settings(**openai(llm_retry_attempts=9)).llm_retry_attempts == 9


def test_backoff_initial_above_its_cap_is_refused() -> None:
    """The first backoff cannot be longer than the longest."""
    assert "PITCHCAST_LLM_BACKOFF_INITIAL_S=5 is above" in refused(
        **openai(llm_backoff_initial_s=5, llm_backoff_max_s=4)
    )


def test_a_minimum_attempt_no_live_request_can_have_is_refused() -> None:
    """For a slow endpoint the README advises PITCHCAST_LLM_MIN_ATTEMPT_S near one line's
    cost; at or above the live deadline (or the live max wait) no live burst is ever
    sent and every line is the template's (``overdue``), which used to start silently."""
    message = refused(**openai(llm_min_attempt_s=8, llm_retry_attempts=2))
    assert "PITCHCAST_LLM_MIN_ATTEMPT_S=8 must be shorter than" in message
    assert "PITCHCAST_LLM_LIVE_DEADLINE_S=8" in message
    message = refused(**openai(llm_min_attempt_s=4, llm_live_max_wait_s=4))
    assert "PITCHCAST_LLM_LIVE_MAX_WAIT_S=4" in message
    assert load_settings(**openai(llm_min_attempt_s=4.2, llm_live_max_wait_s=8))
    # Batch mode sends no live request.
    assert load_settings(**openai(llm_min_attempt_s=8, llm_retry_attempts=2, llm_mode="batch"))


def test_every_problem_is_listed_at_once() -> None:
    """A short deadline with the default timeouts names every setting that does not fit."""
    message = refused(**openai(llm_batch_deadline_s=2))
    for name in ("CONNECT_TIMEOUT_S=3", "READ_TIMEOUT_S=10", "RETRY_ATTEMPTS=4"):
        assert f"PITCHCAST_LLM_{name}" in message


def test_timing_is_only_checked_for_the_openai_backend() -> None:
    """The template backend has no HTTP timeouts: a tiny deadline is fine there."""
    assert load_settings(llm_batch_deadline_s=0.5).llm_batch_deadline_s == 0.5


# --- LLM endpoints and keys -----------------------------------------------------------


def test_several_endpoints_with_one_key_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """From the environment: two URLs, a RunPod key for the first, none for the second."""
    monkeypatch.setenv(
        "PITCHCAST_LLM_BASE_URL",
        "https://api.runpod.ai/v2/abc/openai/v1, http://gpu-a:8000/v1/",
    )
    monkeypatch.setenv("PITCHCAST_LLM_API_KEYS", "rpa_KEY_ONE,")
    settings = Settings()
    assert settings.llm_endpoint_urls() == (
        "https://api.runpod.ai/v2/abc/openai/v1",
        "http://gpu-a:8000/v1",
    )
    keys = [key.get_secret_value() for key in settings.llm_endpoint_keys()]
    assert keys == ["rpa_KEY_ONE", ""]
    assert "rpa_KEY_ONE" not in repr(settings) and "rpa_KEY_ONE" not in str(settings)


def test_one_key_serves_every_endpoint() -> None:
    """PITCHCAST_LLM_API_KEY alone goes to every endpoint."""
    settings = load_settings(llm_base_url="http://a/v1,http://b/v1", llm_api_key="k")
    assert [k.get_secret_value() for k in settings.llm_endpoint_keys()] == ["k", "k"]


def test_keys_that_do_not_pair_are_refused_without_quoting_them() -> None:
    """Three keys for two URLs, or both key settings: refused; no key in the message."""
    message = refused(llm_base_url="http://a/v1,http://b/v1", llm_api_keys="sk-X1,sk-X2,sk-X3")
    assert "3 entries for 2 endpoint(s)" in message and "sk-X" not in message
    message = refused(llm_base_url="http://a/v1", llm_api_key="sk-ONE", llm_api_keys="sk-TWO")
    assert "not both" in message and "sk-ONE" not in message and "sk-TWO" not in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:sk-IN-URL@gpu:8000/v1", "carries credentials"),
        ("ftp://gpu/v1", "not an http(s)"),
        ("gpu:8000/v1", "not an http(s)"),
        ("http://a/v1,http://a/v1/", "twice"),
        (" , ", "no endpoint"),
        # The whole route pasted: every request would go to .../chat/completions/chat/...
        ("http://gpu:8000/v1/chat/completions", "ends in /chat/completions"),
        ("https://api.runpod.ai/v2/abc123/openai/v1/chat/completions/", "up to /v1"),
        # RunPod's own routes (run, runsync) do not speak the OpenAI protocol.
        ("https://api.runpod.ai/v2/abc123/runsync", "https://api.runpod.ai/v2/abc123/openai/v1"),
        ("https://api.runpod.ai/v2/abc123", "not its OpenAI-compatible route"),
    ],
)
def test_unusable_endpoint_urls_are_refused(url: str, problem: str) -> None:
    """Credentials in a URL, other schemes, repeats, an empty list, the full chat route
    and a RunPod route other than its OpenAI one are refused, each saying what to give."""
    message = refused(llm_base_url=url)
    assert problem in message
    assert "sk-IN-URL" not in message


# --- Kafka and Redis security -----------------------------------------------------------


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_needs_a_user_and_a_password(protocol: str) -> None:
    """SASL without credentials cannot authenticate: refused before any connection."""
    message = refused(kafka_security_protocol=protocol, kafka_sasl_username="svc")
    assert f"PROTOCOL={protocol} needs" in message
    settings = load_settings(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password="pw",
    )
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"


def test_a_client_key_without_its_certificate_is_refused(tmp_path: Path) -> None:
    """Kafka and Redis: a key file alone is a mistake, refused by name."""
    key = tmp_path / "client.key"
    assert "PITCHCAST_KAFKA_SSL_KEYFILE is set without" in refused(
        kafka_security_protocol="SSL", kafka_ssl_keyfile=key
    )
    assert "PITCHCAST_REDIS_SSL_KEYFILE is set without" in refused(
        redis_url="rediss://cache:6380/0", redis_ssl_keyfile=key
    )


def test_redis_tls_files_need_a_rediss_url(tmp_path: Path) -> None:
    """TLS files with redis:// would be ignored (or crash redis-py later): refused."""
    message = refused(redis_url="redis://cache:6379/0", redis_ssl_cafile=tmp_path / "ca.pem")
    assert "need a rediss:// PITCHCAST_REDIS_URL" in message
    settings = load_settings(
        redis_url="rediss://cache:6380/0", redis_ssl_cafile=tmp_path / "ca.pem"
    )
    assert settings.redis_ssl_cafile == tmp_path / "ca.pem"


@pytest.mark.parametrize(
    "servers",
    ["localhost:abc", "kafka:99999", "kafka://broker:9092", "a:9092,,b:9092", " ", "host:"],
)
def test_bootstrap_servers_kafka_cannot_parse_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, servers: str
) -> None:
    # localhost:abc passed the settings, and every command that talks to Kafka ended in
    # aiokafka's ValueError traceback (invalid literal for int()).
    output = config_refuses(monkeypatch, {"PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": servers})
    assert "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS" in output and "host:port" in output
    assert "Traceback" not in output
    for fine in ("127.0.0.1:9092", "a:9092, b:9094", "broker", "[::1]:9092"):
        assert load_settings(kafka_bootstrap_servers=fine).kafka_bootstrap_servers == fine


@pytest.mark.parametrize("url", ["htp://cache:6379/0", "127.0.0.1:6379", "redis//cache"])
def test_a_redis_url_of_another_scheme_is_refused_by_config_too(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # `pitchcast config` printed it as fine; the worker refused it only after creating
    # the topics.
    output = config_refuses(monkeypatch, {"PITCHCAST_REDIS_URL": url})
    assert "PITCHCAST_REDIS_URL" in output and "redis://" in output


# --- secrets ----------------------------------------------------------------------------


def test_validation_errors_never_echo_secret_input() -> None:
    """pydantic would quote the input of a failing validator; here it must not."""
    with pytest.raises(ValueError) as caught:
        load_settings(**openai(llm_batch_deadline_s=1), **SECRETS, llm_api_keys="sk-MORE")
    text = str(caught.value) + repr(caught.value)
    for secret in (*SECRETS.values(), "sk-MORE"):
        assert secret not in text
    with pytest.raises(ValueError) as caught:
        load_settings(kafka_sasl_password=["KAFKA-SECRET-2"])
    assert "KAFKA-SECRET-2" not in str(caught.value)


def test_describe_repr_and_pitchcast_config_mask_every_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Passwords, API keys (single and per endpoint), and a password in a rediss:// URL
    never print: not in describe(), repr(), str() or `pitchcast config`."""
    values = {
        **SECRETS,
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": "svc",
        "redis_url": "rediss://app:URL-SECRET-4@cache:6380/0",
    }
    settings = load_settings(**values)
    described = settings.describe()
    assert described["llm_api_key"] == "**********"
    assert described["redis_url"] == "rediss://app:****@cache:6380/0"
    for secret in (*SECRETS.values(), "URL-SECRET-4"):
        assert secret not in str(described)
        assert secret not in repr(settings) and secret not in str(settings)
    keyed = load_settings(llm_base_url="http://a/v1,http://b/v1", llm_api_keys="sk-A,sk-B")
    assert keyed.describe()["llm_api_keys"] == "**********"

    monkeypatch.setenv("PITCHCAST_LLM_BASE_URL", "http://a/v1,http://b/v1")
    monkeypatch.setenv("PITCHCAST_LLM_API_KEYS", "sk-ENV-A,sk-ENV-B")
    monkeypatch.setenv("PITCHCAST_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("PITCHCAST_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("PITCHCAST_KAFKA_SASL_PASSWORD", "KAFKA-ENV-SECRET")
    monkeypatch.setenv("PITCHCAST_REDIS_URL", "rediss://:URL-ENV-SECRET@cache:6380/0")
    monkeypatch.setenv("PITCHCAST_REDIS_PASSWORD", "REDIS-ENV-SECRET")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    for secret in (
        "sk-ENV-A",
        "sk-ENV-B",
        "KAFKA-ENV-SECRET",
        "URL-ENV-SECRET",
        "REDIS-ENV-SECRET",
    ):
        assert secret not in result.output
    assert "PITCHCAST_LLM_API_KEYS=**********" in result.output


def test_pitchcast_config_refuses_impossible_settings_without_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pitchcast config` exits 1 with the problem, never with the key."""
    output = config_refuses(
        monkeypatch,
        {
            "PITCHCAST_LLM_BACKEND": "openai",
            "PITCHCAST_LLM_READ_TIMEOUT_S": "30",
            "PITCHCAST_LLM_API_KEY": "sk-CLI-SECRET",
        },
    )
    assert "PITCHCAST_LLM_READ_TIMEOUT_S=30 must be shorter" in output
    assert "sk-CLI-SECRET" not in output


def test_processing_guarantee_defaults_to_at_least_once_and_reaches_faust() -> None:
    """exactly_once is an option (RELIABILITY.md); the app hands the setting to faust."""
    from faust.types.enums import ProcessingGuarantee

    from pitchcast.app import create_app

    assert load_settings().processing_guarantee == "at_least_once"
    with pytest.raises(ValueError):
        load_settings(processing_guarantee="at_most_once")
    app = create_app(load_settings(processing_guarantee="exactly_once")).app
    assert app.conf.processing_guarantee == ProcessingGuarantee.EXACTLY_ONCE


# --- FRIEND backing a team ---------------------------------------------------------------


def test_friend_supports_is_neutral_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().friend_supports == ""
    monkeypatch.setenv("PITCHCAST_FRIEND_SUPPORTS", "  울산  HD FC ")
    assert load_settings().friend_supports == "울산 HD FC"  # spaces tidied, case kept
    assert load_settings().as_env()["PITCHCAST_FRIEND_SUPPORTS"] == "울산 HD FC"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("FC서울,울산 HD FC", "names one team"),
        ("x" * 41, "at most 40 printable characters"),
        ("FC서울\x00", "at most 40 printable characters"),
    ],
)
def test_friend_supports_refuses_what_cannot_be_one_team(value: str, problem: str) -> None:
    message = refused(friend_supports=value)
    assert "PITCHCAST_FRIEND_SUPPORTS" in message and problem in message
    if "\x00" in value:
        return  # no environment variable can hold a NUL byte
    # As a command prints it: the variable named once, as for every other setting.
    printed = CliRunner().invoke(main, ["config"], env={"PITCHCAST_FRIEND_SUPPORTS": value})
    assert printed.exit_code != 0 and problem in printed.output
    assert printed.output.count("PITCHCAST_FRIEND_SUPPORTS") == 1, printed.output


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PITCHCAST_PERSONAS", "CASTER,COACH", "Input should be 'CASTER'"),
        ("PITCHCAST_BATCH_SIZE", "ten", "Input should be a valid integer"),
        ("PITCHCAST_LLM_STREAM", "maybe", "Input should be a valid boolean"),
        # Before, PITCHCAST_WEB_PORT=99999 passed the settings and `pitchcast worker` died
        # in faust with a traceback (ImproperlyConfigured: out of range for Port), as the
        # monitor's port never did.
        ("PITCHCAST_WEB_PORT", "99999", "Input should be"),
        ("PITCHCAST_WEB_PORT", "0", "Input should be"),
        ("PITCHCAST_STACK_KAFKA_PORT", "70000", "Input should be"),
        ("PITCHCAST_STACK_KAFKA_CONTROLLER_PORT", "0", "Input should be"),
        ("PITCHCAST_STACK_REDIS_PORT", "-1", "Input should be"),
        # Outside the broker's default bounds (6 s to 30 min) the worker started, and its
        # group join failed in faust's consumer thread with tracebacks, again and again.
        ("PITCHCAST_KAFKA_SESSION_TIMEOUT_S", "5", "Input should be"),
        ("PITCHCAST_KAFKA_SESSION_TIMEOUT_S", "1801", "Input should be"),
    ],
)
def test_a_bad_value_is_named_by_its_variable_and_quoted(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    # What the user set, as they set it: the variable and the value, not pydantic's field
    # path (personas.1) and a link to its docs.
    output = config_refuses(monkeypatch, {variable: value})
    assert f"{variable}: {expected}" in output
    assert f"(given '{value.split(',')[-1]}')" in output
    assert "errors.pydantic.dev" not in output


def test_a_bad_secret_or_url_is_never_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    output = config_refuses(
        monkeypatch,
        {
            "PITCHCAST_REDIS_URL": "ftp://user:hunter2@redis:6379/0",
            "PITCHCAST_LLM_API_KEYS": "sk-first-secret,sk-second-secret",
        },
    )
    assert "PITCHCAST_LLM_API_KEYS" in output
    for secret in ("hunter2", "sk-first-secret", "sk-second-secret"):
        assert secret not in output


def _attributes_read(package: Path) -> set[str]:
    """Every ``x.name`` attribute read in the package's modules other than settings.py."""
    read = set()
    for path in package.rglob("*.py"):
        if path.name == "settings.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                read.add(node.attr)
    return read


def test_every_setting_is_read_by_the_code() -> None:
    """A setting nothing reads is a knob an operator turns to no effect."""
    read = _attributes_read(Path(__file__).resolve().parents[2] / "pitchcast")
    assert sorted(set(Settings.model_fields) - read) == []


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines of ``os.environ.get(...)``, ``os.environ[...]`` and ``os.getenv(...)`` (handing
    the whole environment on to a child process is no read)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.environ.get", "os.getenv"):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            lines.append(node.lineno)
    return lines


def test_only_settings_py_reads_the_environment() -> None:
    """Every PITCHCAST_* variable goes through Settings (typed, validated, printed by
    `pitchcast config`); a module reading one itself escapes all three."""
    package = Path(__file__).resolve().parents[2] / "pitchcast"
    reads = {
        str(path.relative_to(package)): found
        for path in package.rglob("*.py")
        if path != package / "settings.py"
        and (found := _environment_reads(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert reads == {}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PITCHCAST_APP_ID", "my app"),
        ("PITCHCAST_TOPIC_EVENTS", "match events"),
        ("PITCHCAST_TOPIC_DLQ", "dlq/1"),
        ("PITCHCAST_TOPIC_LINES", ""),
    ],
)
def test_kafka_names_kafka_cannot_take_are_refused_at_once(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # The app id names the consumer group and faust's changelog topic: PITCHCAST_APP_ID
    # with a space passed the settings, and the worker died in faust with an
    # InvalidTopicError traceback. Topic names failed only at creation.
    output = config_refuses(monkeypatch, {variable: value})
    assert f"{variable} must be" in output
    assert "letters, digits" in output


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles() -> None:
    # PITCHCAST_BATCHSIZE=5 was ignored without a word: the worker ran batches of 10.
    environ = {
        "PITCHCAST_BATCHSIZE": "5",
        "PITCHCAST_PERSONA": "FRIEND",
        "pitchcast_density": "key",  # read: pydantic-settings ignores the case
        "PITCHCAST_REDIS_URL": "redis://127.0.0.1:6379/0",
        "PITCHCAST_TEST_KAFKA": "127.0.0.1:9092",  # the test suite's own
        "PITCHCAST_NONSENSE": "1",
        "PATH": "/bin",
    }
    assert unknown_variables(environ) == [
        "PITCHCAST_BATCHSIZE is not a pitchcast setting and is ignored"
        " (did you mean PITCHCAST_BATCH_SIZE?)",
        "PITCHCAST_NONSENSE is not a pitchcast setting and is ignored",
        "PITCHCAST_PERSONA is not a pitchcast setting and is ignored"
        " (did you mean PITCHCAST_PERSONAS?)",
    ]


def test_every_command_warns_of_a_misspelt_variable_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PITCHCAST_BATCHSIZE", "5")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    assert "warning: PITCHCAST_BATCHSIZE is not a pitchcast setting" in result.stderr
    assert "PITCHCAST_BATCHSIZE" not in result.stdout


def test_a_choice_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    # PITCHCAST_PERSONAS=caster was read, PITCHCAST_DENSITY=Story and --backend OpenAI
    # refused.
    for variable, value in {
        "PITCHCAST_DENSITY": "Story",
        "PITCHCAST_LLM_BACKEND": "OpenAI",
        "PITCHCAST_LLM_MODE": "LIVE",
        "PITCHCAST_LOG_LEVEL": "debug",
        "PITCHCAST_LOG_FORMAT": "JSON",
        "PITCHCAST_PROCESSING_GUARANTEE": "AT_LEAST_ONCE",
        "PITCHCAST_KAFKA_SECURITY_PROTOCOL": "plaintext",
        "PITCHCAST_KAFKA_SASL_MECHANISM": "scram-sha-512",
    }.items():
        monkeypatch.setenv(variable, value)
    settings = load_settings()
    assert (settings.density, settings.llm_backend, settings.llm_mode) == (
        "story",
        "openai",
        "live",
    )
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    assert settings.processing_guarantee == "at_least_once"
    assert (settings.kafka_security_protocol, settings.kafka_sasl_mechanism) == (
        "PLAINTEXT",
        "SCRAM-SHA-512",
    )
    result = CliRunner().invoke(main, ["eval", "--density", "KEY", "--backend", "Template", "x"])
    assert "Invalid value for '--density'" not in result.output
    assert "Invalid value for '--backend'" not in result.output
