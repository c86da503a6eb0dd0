"""Both backends over real HTTP on loopback: streams, usage, and every error a user sees, on both
HTTP transports (aiohttp's once the host has loaded it, httpx's own before or without it)."""

import asyncio
import socket
import threading
import time

import pytest

from fakeservers import free_port, go_time
from hybrid_core.backends import ChatRequest, Delta, Finish, Usage, make_backend, transport
from hybrid_core.backends.ollama import seconds_until
from hybrid_core.config import BackendConfig
from hybrid_core.errors import AuthError, ConnectError, ModelNotFoundError, RateLimitError, ServerError, StreamError


@pytest.fixture(autouse=True, params=["aiohttp", "httpx"])
def http_transport(request, monkeypatch):
    """Every test here runs on aiohttp's transport and on httpx's own: a user reads the same."""
    if request.param == "httpx":
        monkeypatch.setattr(transport, "_fast", None)
    elif not transport.load():
        pytest.skip("httpx-aiohttp is not installed (make install adds it)")
    return request.param


def backend(kind, url, *, key=None, local=True, name=None, read_timeout=10.0):
    cfg = BackendConfig(name=name or kind, type=kind, base_url=url, default_model="fake-model",
                        local=local, api_key_env=f"{(name or kind).upper()}_API_KEY", read_timeout=read_timeout)
    return make_backend(cfg, key, f"{(name or kind).upper()}_API_KEY" if key else "")


def collect(b, model="fake-model", messages=None):
    async def run():
        events = []
        try:
            async for ev in b.stream_chat(ChatRequest(model=model, messages=messages or [{"role": "user", "content": "hi"}])):
                events.append(ev)
        finally:
            await b.aclose()
        return events
    return asyncio.run(run())


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, Delta))


def test_ollama_streams_and_reads_usage(ollama):
    ollama.reply = "Héllo, wörld! 🌍 " * 5
    events = collect(backend("ollama", ollama.url))
    assert text_of(events) == ollama.reply
    usage = next(e for e in events if isinstance(e, Usage))
    assert (usage.prompt_tokens, usage.completion_tokens) == (11, 7)
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"
    sent = ollama.chat_requests()[0]
    assert sent["path"] == "/api/chat" and sent["json"]["stream"] is True
    assert sent["json"]["messages"] == [{"role": "user", "content": "hi"}]


def test_ollama_cut_stream_has_no_finish(ollama):
    ollama.mode = "cut"
    events = collect(backend("ollama", ollama.url))
    assert text_of(events) == ollama.reply
    assert not any(isinstance(e, Finish) for e in events)


def test_ollama_inband_error(ollama):
    ollama.mode = "inband_error"
    with pytest.raises(StreamError, match="ollama: error from the server: an error was encountered"):
        collect(backend("ollama", ollama.url))


def test_ollama_missing_model_suggests_pull(ollama):
    with pytest.raises(ModelNotFoundError) as e:
        collect(backend("ollama", ollama.url), model="qwen9:1b")
    assert str(e.value) == "ollama: model 'qwen9:1b' not found — run 'ollama pull qwen9:1b'"


def test_ollama_lists_tags(ollama):
    async def run():
        b = backend("ollama", ollama.url)
        try:
            return await b.list_models()
        finally:
            await b.aclose()
    models = asyncio.run(run())
    assert [m["name"] for m in models] == ["fake-model", "other-model"]
    assert models[0]["parameter_size"] == "7.6B" and models[0]["quantization"] == "Q4_K_M"


def test_nothing_listening_says_what_to_do():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ConnectError) as e:
        collect(backend("ollama", f"http://127.0.0.1:{port}"))
    assert str(e.value) == f"ollama: nothing answers at http://127.0.0.1:{port} — is 'ollama serve' running?"
    assert time.monotonic() - started < 2
    with pytest.raises(ConnectError, match="check base_url and your network"):
        collect(backend("openai", f"http://127.0.0.1:{port}/v1", local=False, key="k", name="groq"))


@pytest.fixture
def hangs_up():
    """A loopback server that reads each request and closes the connection without answering."""
    sock = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed by the test
            with conn:
                conn.recv(65536)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("kind, path", [("ollama", ""), ("openai", "/v1")])
def test_a_server_that_hangs_up_without_answering_is_a_connect_error(hangs_up, kind, path):
    url = hangs_up + path
    with pytest.raises(ConnectError) as e:
        collect(backend(kind, url))
    assert str(e.value) == f"{kind}: {url} closed the connection without answering"
    with pytest.raises(ConnectError, match="closed the connection without answering"):
        asyncio.run(backend(kind, url).list_models())


def test_openai_streams_with_usage_and_key(openai):
    openai.api_key = "sk-test-123"
    openai.reply = "Bonjour à tous 🌍"
    openai.cached_tokens = 4
    events = collect(backend("openai", openai.url + "/v1", key="sk-test-123", local=False, name="groq"))
    assert text_of(events) == openai.reply
    usage = next(e for e in events if isinstance(e, Usage))
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (11, 7, 4)
    assert events[-1] == Finish("stop")
    sent = openai.chat_requests()[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["json"]["stream_options"] == {"include_usage": True}
    assert sent["headers"]["authorization"] == "Bearer sk-test-123"


def test_openai_refused_key_names_the_env_var_not_the_key(openai):
    openai.api_key = "right"
    with pytest.raises(AuthError) as e:
        collect(backend("openai", openai.url + "/v1", key="wrong-secret", local=False, name="groq"))
    assert "401" in str(e.value) and "GROQ_API_KEY" in str(e.value)
    assert "wrong-secret" not in str(e.value)


def test_openai_rate_limit_says_when(openai):
    openai.mode, openai.status = "status", 429
    openai.status_body = b'{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}'
    openai.headers = {"Retry-After": "20"}
    with pytest.raises(RateLimitError) as e:
        collect(backend("openai", openai.url + "/v1", key="k", local=False, name="groq"))
    assert e.value.retry_after == 20
    assert "rate limited (429: Rate limit reached for requests) — retry in 20 s" in str(e.value)


def test_openai_server_error(openai):
    openai.mode, openai.status = "status", 503
    openai.status_body = b'{"error":{"message":"The server is overloaded","type":"server_error"}}'
    with pytest.raises(ServerError, match="server error 503: The server is overloaded"):
        collect(backend("openai", openai.url + "/v1"))


def test_openai_unknown_model(openai):
    with pytest.raises(ModelNotFoundError, match="model 'nope'.*does not exist"):
        collect(backend("openai", openai.url + "/v1"), model="nope")


def test_openai_inband_error_after_text(openai):
    openai.mode = "inband_error"
    with pytest.raises(StreamError, match="Upstream provider error"):
        collect(backend("openai", openai.url + "/v1"))


def test_openai_cut_stream_has_no_finish(openai):
    openai.mode = "cut"
    events = collect(backend("openai", openai.url + "/v1"))
    assert text_of(events) == openai.reply and not any(isinstance(e, Finish) for e in events)


def test_openai_html_page_is_not_an_answer(openai):
    openai.mode = "html"
    with pytest.raises(StreamError, match="HTML page"):
        collect(backend("openai", openai.url + "/v1"))


def test_openai_lists_models(openai):
    async def run():
        b = backend("openai", openai.url + "/v1")
        try:
            return await b.list_models()
        finally:
            await b.aclose()
    assert [m["name"] for m in asyncio.run(run())] == ["fake-model", "other-model"]


def test_read_timeout_is_reported(openai):
    openai.mode, openai.delay = "hang", 0
    openai.reply = ""
    with pytest.raises(Exception) as e:
        collect(backend("openai", openai.url + "/v1", read_timeout=0.3))
    assert "no data from" in str(e.value) and "read_timeout" in str(e.value)


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_one_connection_serves_every_request(request, kind):
    """The rest of a finished stream is read, so the connection is reused: no new TCP (and,
    for the cloud, TLS) handshake before each answer."""
    server = request.getfixturevalue(kind)
    b = backend(kind, server.url + ("/v1" if kind == "openai" else ""))

    async def three_answers():
        texts = []
        try:
            for _ in range(3):
                events = [e async for e in b.stream_chat(ChatRequest("fake-model", [{"role": "user", "content": "hi"}]))]
                texts.append(text_of(events))
        finally:
            await b.aclose()
        return texts

    assert asyncio.run(three_answers()) == [server.reply] * 3
    assert len(server.chat_requests()) == 3
    assert server.connections == 1


def test_ollama_unload_times_with_nanoseconds_and_zones_are_read():
    assert seconds_until(go_time(time.time() + 600)) == pytest.approx(600, abs=2)
    assert seconds_until("2024-06-04T14:38:31.83753-07:00") < 0
    assert seconds_until("2318-01-01T00:00:00Z") > 1e9  # keep_alive -1: kept loaded
    assert seconds_until("not a time") is None and seconds_until(None) is None


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_tokens_read_together_go_on_together_and_text_before_an_error_is_kept(request, kind):
    # 200 tokens in one network read used to make 200 trips through the engine (a Delta each);
    # they go on as one piece per batch now, and the text read before an in-band error still
    # reaches the user ahead of the error.
    server = request.getfixturevalue(kind)
    words = [f"w{i} " for i in range(200)]
    if kind == "openai":
        events = [b'data: {"choices": [{"index": 0, "delta": {"content": "%s"}}]}\n\n' % w.encode() for w in words]
        error = b'data: {"error": {"message": "Upstream provider error"}}\n\n'
    else:
        events = [b'{"message": {"role": "assistant", "content": "%s"}, "done": false}\n' % w.encode() for w in words]
        error = b'{"error": "Upstream provider error"}\n'
    server.raw_stream = [b"".join(events) + error]  # one write: one read
    b = backend(kind, server.url + ("/v1" if kind == "openai" else ""))
    got = []

    async def run():
        try:
            async for event in b.stream_chat(ChatRequest("fake-model", [{"role": "user", "content": "hi"}])):
                got.append(event)
        finally:
            await b.aclose()

    with pytest.raises(StreamError, match="Upstream provider error"):
        asyncio.run(run())
    assert text_of(got) == "".join(words)
    assert len(got) <= 200 // 16 + 1
