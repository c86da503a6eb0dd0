"""Retries before the first token, against loopback servers that count what they get."""

import pytest

from hybrid_core.errors import ConnectError, RateLimitError, ServerError
from hybrid_core.retry import RetryPolicy


def fixed_cloud(url, extra=""):
    return (f"backend:\n  groq: {{type: openai, base_url: '{url}/v1', default_model: fake-model, local: false}}\n" + extra)



@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "test-key-retry")


def run_chat(start_engine, config, text="hi"):
    eng, sink, _ = start_engine(config)
    eng.chat_send("1", text)
    end = sink.wait(lambda s: s.of("turn_end"), timeout=30)[0]
    return end, sink


@pytest.mark.in_memory
@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_failures_before_the_first_token_are_retried(openai, key, status, start_engine):
    openai.mode, openai.status, openai.fail_first = "status", status, 2
    openai.reply = "third time lucky"
    end, sink = run_chat(start_engine, fixed_cloud(openai.url))
    assert end["status"] == "complete"
    assert len(openai.chat_requests()) == 3
    assert "".join(e["text"] for e in sink.of("delta")) == "third time lucky"  # once, not three times
    # Said in the chat's status line, not as messages (each one a possible hit-enter prompt).
    retries = [e["message"] for e in sink.of("progress") if "trying again" in e["message"]]
    assert len(retries) == 2 and retries[1].endswith("(3 of 3)")
    assert {e["chat"] for e in sink.of("progress")} == {"1"}
    assert not [e for e in sink.of("notify") if "trying again" in e["message"]]


@pytest.mark.in_memory
def test_gives_up_after_the_attempts_and_says_why(openai, key, start_engine):
    openai.mode, openai.status = "status", 503
    end, _ = run_chat(start_engine, fixed_cloud(openai.url, "retry: {attempts: 2}\n"))
    assert end["status"] == "error" and end["message"].startswith("groq: server error 503: no details — :HybridRetry")
    assert len(openai.chat_requests()) == 2


@pytest.mark.in_memory
def test_retry_after_is_honoured(openai, key, start_engine):
    openai.mode, openai.status, openai.fail_first = "status", 429, 1
    openai.headers = {"Retry-After": "1"}
    end, _ = run_chat(start_engine, fixed_cloud(openai.url))
    assert end["status"] == "complete"
    first, second = openai.chat_requests()
    assert second["at"] - first["at"] >= 1.0


@pytest.mark.in_memory
def test_retry_after_longer_than_max_wait_is_not_waited_for(openai, key, start_engine):
    openai.mode, openai.status, openai.headers = "status", 429, {"Retry-After": "60"}
    end, _ = run_chat(start_engine, fixed_cloud(openai.url, "retry: {max_wait: 5}\n"))
    assert end["status"] == "error" and "rate limited" in end["message"] and "retry in 60 s" in end["message"]
    assert len(openai.chat_requests()) == 1


@pytest.mark.in_memory
@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(openai, key, status, start_engine):
    openai.mode, openai.status = "status", status
    end, _ = run_chat(start_engine, fixed_cloud(openai.url))
    assert end["status"] == "error"
    assert len(openai.chat_requests()) == 1


def test_nothing_is_retried_after_the_first_token(openai, key, start_engine):
    openai.mode, openai.reply = "cut", "partial words"
    end, sink = run_chat(start_engine, fixed_cloud(openai.url))
    assert end["status"] == "incomplete" and ":HybridRetry" in end["message"]
    assert len(openai.chat_requests()) == 1
    assert "".join(e["text"] for e in sink.of("delta")) == "partial words"


def test_connect_errors_are_retried(key, start_engine):
    from fakeservers import free_port
    end, sink = run_chat(start_engine, fixed_cloud(f"http://127.0.0.1:{free_port()}"))
    assert end["status"] == "error" and "nothing answers at" in end["message"]
    assert len([e for e in sink.of("progress") if "trying again" in e["message"]]) == 2


@pytest.mark.in_memory
def test_a_fixed_backend_that_failed_moments_ago_is_still_retried(openai, key, start_engine):
    # The cooldown after a failure is for auto mode's fallback: with no other side, a 429 is
    # retried as usual even though the same backend failed a moment ago.
    openai.mode, openai.status = "status", 503
    eng, sink, _ = start_engine(fixed_cloud(openai.url, "retry: {attempts: 2}\n"))
    eng.chat_send("1", "first")
    first = sink.wait(lambda s: s.of("turn_end"), timeout=30)[0]
    assert first["status"] == "error" and len(openai.chat_requests()) == 2
    openai.status, openai.headers, openai.fail_first = 429, {"Retry-After": "1"}, 3
    openai.reply = "answered after the wait"
    eng.chat_send("1", "second")
    second = sink.wait(lambda s: s.of("turn_end")[1:], timeout=30)[0]
    assert second["status"] == "complete", second["message"]
    assert len(openai.chat_requests()) == 4
    assert [e["message"] for e in sink.of("progress")][-1].startswith("groq: rate limited")


def test_backoff_grows_and_respects_the_caps():
    policy = RetryPolicy(attempts=4, max_wait=20)
    err = ServerError("x", "server error 503", 503)
    waits = [policy.wait_before(n, err) for n in (1, 2, 3)]
    assert 0.125 <= waits[0] <= 0.375 and 0.25 <= waits[1] <= 0.75 and 0.5 <= waits[2] <= 1.5
    assert policy.wait_before(4, err) is None  # the attempts are used up
    assert policy.wait_before(1, RateLimitError("x", "429", retry_after=3)) == 3
    assert policy.wait_before(1, RateLimitError("x", "429", retry_after=3), patience=2) is None
    assert policy.wait_before(1, ConnectError("x", "down")) is not None
    assert policy.wait_before(1, ServerError("x", "400", 400)) is None
