"""The seams of the engine split: busy covers :HybridAsk as well as chats, the backend registry
agrees with the config's types, and an injected transport carries every backend request."""

import json

import httpx

from engine_harness import engine_for
from hybrid_core.backends import BACKEND_CLASSES
from hybrid_core.config import BACKEND_TYPES


def ollama_config(url, model="fake-model"):
    return f"backend:\n  local: {{type: ollama, base_url: '{url}', default_model: {model}}}\n"


def busy_states(sink):
    return [e["state"]["busy"] for e in sink.of("state")]


def test_busy_is_true_while_an_ask_streams_and_false_after(tmp_path, ollama):
    ollama.mode = "hang"
    eng, sink, _ = engine_for(tmp_path, ollama_config(ollama.url))
    try:
        eng.ask("7", {"instruction": "rename x", "text": "x = 1", "mode": "line", "filetype": "python"})
        sink.wait(lambda s: s.of("delta"))
        assert busy_states(sink)[-1] is True
        eng.cancel("ask:7")
        end = sink.wait(lambda s: s.of("ask_end"))[0]
        assert end["status"] == "cancelled"
        sink.wait(lambda s: busy_states(s)[-1] is False)
    finally:
        eng.shutdown()


def test_busy_is_said_as_a_chat_is_sent(tmp_path, ollama):
    ollama.mode = "hang"
    eng, sink, _ = engine_for(tmp_path, ollama_config(ollama.url))
    try:
        eng.chat_send("1", "hi")
        sink.wait(lambda s: True in busy_states(s))
        eng.cancel("1")
        sink.wait(lambda s: s.of("turn_end"))
        sink.wait(lambda s: busy_states(s)[-1] is False)
    finally:
        eng.shutdown()


def test_every_config_type_has_a_backend_class():
    assert set(BACKEND_CLASSES) == set(BACKEND_TYPES)


def test_an_injected_transport_carries_the_requests(tmp_path):
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/api/show":
            body = json.dumps({"error": "not found"}).encode()
            return httpx.Response(404, headers={"content-type": "application/json"}, stream=httpx.ByteStream(body))
        lines = [{"message": {"role": "assistant", "content": "hello"}, "done": False},
                 {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                  "prompt_eval_count": 3, "eval_count": 1}]
        body = "".join(json.dumps(x) + "\n" for x in lines).encode()
        # (a stream, not content=: the backend reads the body a piece at a time)
        return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, stream=httpx.ByteStream(body))

    eng, sink, _ = engine_for(tmp_path, ollama_config("http://127.0.0.1:9"), transport=httpx.MockTransport(answer))
    try:
        eng.chat_send("1", "hi")
        end = sink.wait(lambda s: s.of("turn_end"))[0]
        assert end["status"] == "complete"
        assert "".join(e["text"] for e in sink.of("delta")) == "hello"
        assert "/api/chat" in seen
    finally:
        eng.shutdown()
