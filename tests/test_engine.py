"""The engine without an editor: events a UI would get, cancel, config reload."""

import time

import pytest


def ollama_config(url, model="fake-model"):
    return f"backend:\n  local: {{type: ollama, base_url: '{url}', default_model: {model}}}\n"


def test_turn_events_are_batched_and_complete(ollama, start_engine):
    ollama.reply = "x" * 400
    ollama.chunk_size = 1
    eng, sink, _ = start_engine(ollama_config(ollama.url))
    eng.chat_send("1", "hi")
    end = sink.wait(lambda s: s.of("turn_end"))[0]
    assert end["status"] == "complete"
    assert "".join(e["text"] for e in sink.of("delta")) == ollama.reply
    assert sink.pushes < 100  # 400 tokens, far fewer pushes
    assert end["last"]["tokens_out"] == 7 and end["last"]["ttft_ms"] >= 0


def test_incomplete_stream_is_not_complete(ollama, start_engine):
    ollama.mode = "cut"
    eng, sink, _ = start_engine(ollama_config(ollama.url))
    eng.chat_send("1", "hi")
    end = sink.wait(lambda s: s.of("turn_end"))[0]
    assert end["status"] == "incomplete" and "incomplete" in end["message"]


def test_cancel_closes_the_connection(ollama, start_engine):
    ollama.mode = "hang"
    eng, sink, _ = start_engine(ollama_config(ollama.url))
    eng.chat_send("1", "hi")
    sink.wait(lambda s: s.of("delta"))
    ollama.stream_started.wait(5)
    t0 = time.monotonic()
    eng.cancel()
    end = sink.wait(lambda s: s.of("turn_end"))[0]
    assert end["status"] == "cancelled"
    sink.wait(lambda s: ollama.disconnects, timeout=2)
    assert ollama.disconnects[0] - t0 < 0.1


@pytest.mark.in_memory
def test_history_is_resent_each_turn(ollama, start_engine):
    eng, sink, _ = start_engine(ollama_config(ollama.url))
    eng.chat_send("1", "first")
    sink.wait(lambda s: len(s.of("turn_end")) == 1)
    eng.chat_send("1", "second")
    sink.wait(lambda s: len(s.of("turn_end")) == 2)
    msgs = ollama.chat_requests()[1]["json"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[1]["content"] == "first" and msgs[2]["content"] == ollama.reply and msgs[3]["content"] == "second"


@pytest.mark.in_memory
def test_config_reloads_and_broken_edit_keeps_last_good(ollama, start_engine):
    eng, sink, path = start_engine(ollama_config(ollama.url), poll_seconds=0.05)
    path.write_text(ollama_config(ollama.url, model="other-model"))
    sink.wait(lambda s: s.of("state")[-1]["state"]["model"] == "other-model")
    path.write_text("backend:\n  local: {type: 42}\n")
    err = sink.wait(lambda s: [e for e in s.of("notify") if e["level"] == "error"])
    expected = "setup.yaml: backend.local.type: must be 'ollama' or 'openai', got 42 (keeping the last good config)"
    assert expected in err[0]["message"]
    eng.chat_send("1", "hi")
    sink.wait(lambda s: s.of("turn_end"))
    assert ollama.chat_requests()[-1]["json"]["model"] == "other-model"
    time.sleep(0.2)
    assert len([e for e in sink.of("notify") if e["level"] == "error"]) == 1  # said once
