"""Attachments count toward the prompt's size and are never cut: a message that cannot fit the
chosen model's window goes to the other side in auto mode (privacy permitting), or is refused
naming the biggest attachment and the limit, before anything is sent."""

import pytest

from hybrid_core.attachments import Attachment
from hybrid_core.config import parse_config
from hybrid_core.routing import Router, RouteRequest

CONFIG = ("defaults: {backend: auto}\n"
          "backend:\n"
          "  ollama: {type: ollama, base_url: 'http://127.0.0.1:11434', default_model: m, context_window: 4096}\n"
          "  groq: {type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: big, "
          "context_window: 32768}\n")


def router(config=CONFIG):
    return Router(parse_config(config, "/tmp/setup.yaml"))


def request(*attachments, text="summarize these"):
    chars = len(text) + sum(len(a.block()) + 2 for a in attachments) + 200
    return RouteRequest(text=text, attachments=attachments, prompt_chars=chars, message_chars=chars)


def log(name, lines, path=None):
    return Attachment(f"#file:{name}", "file", path=path or f"/p/{name}", display=name,
                      text="a line of the log file\n" * lines)


def test_a_message_too_big_for_the_local_window_goes_to_the_cloud_and_one_too_big_for_both_is_refused():
    r = router()
    assert r.decide(request(log("small.log", 50))).backend == "ollama"
    big = r.decide(request(log("a.log", 900), log("b.log", 10)))
    assert (big.backend, big.step, big.attached) == ("groq", "size", "#file:a.log")
    huge = r.decide(request(log("a.log", 9000), log("b.log", 10)))
    assert huge.backend is None and huge.refused == (
        "not sent: #file:a.log (~59k tokens) does not fit groq's 32,768-token context window "
        "(attach less, e.g. a #selection)")


def test_a_sensitive_attachment_too_big_for_the_local_window_is_refused_not_sent_to_the_cloud():
    r = router()
    d = r.decide(request(log(".env", 900, path="/p/.env")))
    assert d.backend is None and d.step == "size"
    assert d.refused == ("not sent: #file:.env (~5.9k tokens) does not fit ollama's 4,096-token context window "
                         "(it is local-only, so only a local model may read it)")


def test_a_fixed_backend_is_not_left_for_another():
    r = router()
    d = r.decide(request(log("a.log", 900)), active="ollama")
    assert d.backend is None and "does not fit ollama's 4,096-token" in d.refused and ":HybridBackend auto" in d.refused
    # A window a server reported counts as a configured one does.
    r = router(CONFIG.replace(", context_window: 4096", ""))
    assert r.decide(request(log("a.log", 900)), active="ollama").backend == "ollama"
    assert r.decide(request(log("a.log", 900)), active="ollama", windows={"ollama": 2048}).refused


@pytest.mark.in_memory
def test_a_window_learned_only_as_it_is_sent_still_stops_it_and_blames_no_backend(ollama, start_engine, monkeypatch):
    # A remote Ollama (cloud): its window is not asked before routing; the prompt's gate finds it.
    monkeypatch.setenv("FAR_API_KEY", "k")
    ollama.context_length = 2048
    eng, sink, _ = start_engine(f"backend:\n  far: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model, "
                                "local: false}\n")
    big = {"kind": "buffer", "name": "#buffer", "path": "/p/a.py", "text": "x = 1\n" * 2000}
    eng.chat_send("c", "explain #buffer", {"attachments": [big]})
    end = sink.wait(lambda s: s.of("turn_end"))[0]
    assert end["status"] == "error" and end["message"].startswith(
        "not sent: the message with #buffer is ~3,")
    assert "more than far's fake-model can read (2,048-token context window)" in end["message"]
    assert ollama.chat_requests() == []
    eng.chat_send("c", "and a short question")
    sink.wait(lambda s: len(s.of("turn_end")) == 2)
    assert sink.of("turn_end")[1]["status"] == "complete"  # no cooldown: the server did nothing wrong


@pytest.mark.in_memory
def test_a_typed_message_too_big_for_the_only_backend_is_refused_before_sending(ollama, start_engine):
    # 24,000 words into a 4,096-token model went out, and came back as a cut stream.
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model, "
                                "context_window: 4096}\n")
    text = "summarize this: " + "word " * 24_000
    refusal = "not sent: the message (~34k tokens) does not fit o's 4,096-token context window"
    assert eng.route(text)["refused"] == refusal  # :HybridRoute says what a send does
    eng.chat_send("c", text)
    end = sink.wait(lambda s: s.of("turn_end"))[0]
    assert (end["status"], end["message"]) == ("error", refusal)
    assert ollama.chat_requests() == []
