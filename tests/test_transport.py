"""The host's HTTP transport: httpx's own for the first answer, aiohttp's (httpx-aiohttp) once the
host is idle, so the first answer never waits for aiohttp's import."""

import pytest

from hybrid_core.backends import transport


def config(url):
    return f"backend:\n  o: {{type: openai, base_url: '{url}/v1', default_model: fake-model, local: true}}\n"


def answer(eng, sink, chat_id):
    eng.chat_send(chat_id, "go")
    end = sink.wait(lambda s: [e for e in s.of("turn_end") if e["chat"] == chat_id], timeout=20)[0]
    assert end["status"] == "complete"
    return "".join(e["text"] for e in sink.of("delta") if e["chat"] == chat_id)


def test_the_first_answer_goes_on_httpxs_own_and_later_ones_on_aiohttp(openai, start_engine, monkeypatch):
    if not transport.load():
        pytest.skip("httpx-aiohttp is not installed (make install adds it)")
    monkeypatch.setattr(transport, "_fast", None)  # a host just started: not imported yet
    eng, sink, _ = start_engine(config(openai.url))
    assert transport.in_use().startswith("httpx's own")
    assert answer(eng, sink, "c1") == openai.reply
    backend = eng.pool.clients["o"][1]
    assert backend.client._transport._aiohttp is None  # the first answer did not wait for the import
    sink.wait(lambda s: transport.in_use().startswith("aiohttp"), timeout=10)  # loaded once the host was idle
    assert answer(eng, sink, "c2") == openai.reply
    assert backend.client._transport._aiohttp is not None
    assert [r["json"]["messages"][-1]["content"] for r in openai.chat_requests()] == ["go", "go"]


def failing_import(monkeypatch, error):
    import builtins

    real_import = builtins.__import__

    def importer(name, *args, **kw):
        if name == "httpx_aiohttp":
            raise error
        return real_import(name, *args, **kw)

    monkeypatch.setattr(transport, "_fast", None)
    monkeypatch.setattr(transport, "_why_not", transport._why_not)  # (put back after the test)
    monkeypatch.setattr(builtins, "__import__", importer)


def test_a_broken_httpx_aiohttp_leaves_httpxs_own_in_use(monkeypatch):
    failing_import(monkeypatch, AttributeError("module 'aiohttp' has no attribute 'ClientTimeout'"))
    assert transport.load() is False
    assert transport.in_use() == ("httpx's own (httpx-aiohttp could not be loaded: AttributeError: module 'aiohttp' "
                                  "has no attribute 'ClientTimeout')")


def test_without_httpx_aiohttp_answers_stream_on_httpxs_own(openai, start_engine, monkeypatch):
    failing_import(monkeypatch, ImportError("No module named 'httpx_aiohttp'"))
    assert transport.load() is False
    assert transport.in_use() == "httpx's own (httpx-aiohttp is not installed)"
    eng, sink, _ = start_engine(config(openai.url))
    assert answer(eng, sink, "c1") == openai.reply
    assert eng.pool.clients["o"][1].client._transport._aiohttp is None
