"""Fake servers that speak Ollama's /api/chat (NDJSON) and the OpenAI SSE format byte for byte,
with their error bodies, and record every request they get. Each serves on a loopback socket
(start) or in memory through an httpx.MockTransport (start_in_memory); see fake_wire.py.

A test scripts a server through attributes (reply, chunk_size, delay, mode, ...) and
asserts on `requests` (what the server received) and `disconnects` (when a client hung up).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable

from fake_wire import MAX_STREAM_SECONDS, memory_transport, serve_on_socket


class FakeServer:
    protocol = ""

    def __init__(self, port: int = 0):
        self.reply = "Hello from the fake server."
        self.chunk_size = 4
        self.delay = 0.0
        self.mode = "normal"  # normal | cut | inband_error | status | hang | html | silent
        self.status = 500
        self.status_body = b""
        self.headers: dict[str, str] = {}
        self.fail_first = 0  # with mode "status": only the first N chat requests fail, then normal
        # hostile servers: these exact chunks, then the end (a function: called for a fresh iterable
        # of them, so a body of hundreds of MB is made as it is sent)
        self.raw_stream: list[bytes] | None = None
        self.raw_ctype = ""
        self.raw_delay = 0.0
        self.raw_headers: dict[str, str] = {}  # sent with the raw stream (Content-Encoding: gzip, say)
        self.api_key: str | None = None
        self.refuse_with = None  # given key -> (content type, body): how a wrong key is refused (401)
        self.models = ["fake-model", "other-model"]
        self.context_length = 32768  # what Ollama's /api/show reports in model_info
        self.model_replies: dict[str, str] = {}  # a reply per model (e.g. a router model's verdict)
        self.model_waits: dict[str, float] = {}  # seconds a model thinks before its first token
        self.usage = (11, 7)
        self.reply_fn = None  # body -> reply, to tell concurrent requests apart
        self.streaming = 0  # streams open right now, and the most at once
        self.most_streaming = 0
        self._count_lock = threading.Lock()
        self.requests: list[dict] = []
        self.connections = 0  # TCP connections accepted: a client that reuses one opens one
        self.disconnects: list[float] = []
        self.stream_started = threading.Event()
        self.port = port
        self.transport = None  # in memory: the httpx transport that reaches this server
        self._httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        """Serve on a loopback socket (the port given, or a free one)."""
        self._httpd = serve_on_socket(self, self.port)
        self.port = self._httpd.server_address[1]
        return self

    def start_in_memory(self) -> FakeServer:
        """Answer through `self.transport` only. `url` names a loopback port nothing listens on,
        so a client without the transport is refused, never answered by something else."""
        self.port = free_port()
        self.transport = memory_transport(self)
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"].endswith(("/api/chat", "/chat/completions"))]

    def pieces(self, model: str | None = None, body: dict | None = None) -> list[str]:
        if self.model_waits.get(model):
            time.sleep(self.model_waits[model])
        reply = self.reply_fn(body) if self.reply_fn else self.model_replies.get(model, self.reply)
        n = max(1, self.chunk_size)
        return [reply[i:i + n] for i in range(0, len(reply), n)]

    # -- one request, whichever way it came (h: an exchange from fake_wire.py) ------------

    def connected(self) -> None:
        with self._count_lock:
            self.connections += 1

    def answer(self, h, raw: bytes) -> None:
        if h.command == "GET":
            self._record(h, None)
            return self.handle_get(h)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._record(h, body, raw)
        try:
            self.handle_post(h, body)
        finally:
            if getattr(h, "streamed", False):
                with self._count_lock:
                    self.streaming -= 1

    def _record(self, h, body, raw: bytes = b""):
        self.requests.append({
            "method": h.command, "path": h.path,
            "headers": {k.lower(): v for k, v in h.headers.items()}, "json": body, "raw": raw,
            "at": time.monotonic(),
        })

    def received_text(self) -> str:
        """Every string the server was sent, decoded from the JSON bodies, joined."""
        out = []

        def walk(value):
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        for r in self.requests:
            walk(r["json"])
            out.append(r["raw"].decode("utf-8", "replace"))
        return "\n".join(out)

    def send_json(self, h, status: int, obj, extra: dict | None = None):
        data = json.dumps(obj).encode()
        self.send_raw(h, status, data, "application/json; charset=utf-8", extra)

    def send_raw(self, h, status: int, data: bytes, ctype: str, extra: dict | None = None):
        h.respond(status, data, ctype, extra)

    def begin_stream(self, h, ctype: str, extra: dict | None = None):
        h.begin_stream(ctype, extra)
        self.stream_started.set()
        h.streamed = True
        with self._count_lock:
            self.streaming += 1
            self.most_streaming = max(self.most_streaming, self.streaming)

    def chunk(self, h, data: bytes) -> bool:
        """One piece of the body; False when the client has gone (and when, noted)."""
        if h.chunk(data):
            return True
        self.disconnects.append(time.monotonic())
        return False

    def send_chunks(self, h, chunks: Iterable[bytes], delay: float = 0.0) -> bool:
        """The stream loop every fake answer shares: each chunk, `delay` apart. False when the
        client left, or MAX_STREAM_SECONDS passed (the stream then just stops)."""
        deadline = time.monotonic() + MAX_STREAM_SECONDS
        for data in chunks:
            if not self.chunk(h, data) or time.monotonic() > deadline:
                return False
            if delay:
                time.sleep(delay)
        return True

    def stream_reply(self, h, ctype: str, model: str, body, frame: Callable[[str], bytes], *,
                     opening: Iterable[bytes] = (), error: bytes, closing: Callable[[], Iterable[bytes]]):
        """A model's scripted answer in either protocol: `opening`, each piece of the reply as
        `frame` makes it (`delay` apart), then the scripted end: the stream held open ("hang"),
        dropped ("cut"), an in-band `error` ("inband_error"), or `closing()` and the body's end."""
        self.begin_stream(h, ctype)
        # (the reply's pieces are made after the opening is sent: a model's wait comes between)
        if not (self.send_chunks(h, opening) and self.send_chunks(h, map(frame, self.pieces(model, body)), self.delay)):
            return
        if self.mode == "hang":
            return self.hold_open(h)
        if self.mode == "cut":
            return h.cut()
        if self.send_chunks(h, [error] if self.mode == "inband_error" else closing()):
            h.end_stream()

    def hold_open(self, h) -> None:
        if h.wait_for_hangup():  # the client closed it (noted), or the time ran out
            self.disconnects.append(time.monotonic())

    def check_key(self, h) -> bool:
        if self.api_key is None:
            return True
        if h.headers.get("Authorization") == f"Bearer {self.api_key}":
            return True
        given = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.refuse_with is not None:
            ctype, body = self.refuse_with(given)
            self.send_raw(h, 401, body, ctype)
            return False
        self.send_json(h, 401, {"error": {  # echoing the key, as careless proxies do
            "message": f"Incorrect API key provided: {given}.", "type": "invalid_request_error",
            "param": None, "code": "invalid_api_key"}})
        return False

    def scripted_raw(self, h) -> bool:
        """mode "silent": take the request, never answer; raw_stream: send exactly these bytes."""
        if self.mode == "silent":
            self.hold_open(h)
            return True
        if self.raw_stream is None:
            return False
        self.begin_stream(h, self.raw_ctype or ("application/x-ndjson" if self.protocol == "ollama" else "text/event-stream"),
                          self.raw_headers)
        chunks = self.raw_stream() if callable(self.raw_stream) else self.raw_stream
        if self.send_chunks(h, chunks, self.raw_delay):
            h.end_stream()
        return True

    def scripted_status(self, h) -> bool:
        if self.mode != "status":
            return False
        if self.fail_first and len(self.chat_requests()) > self.fail_first:
            return False
        self.send_raw(h, self.status, self.status_body, "application/json", self.headers)
        return True


class OllamaServer(FakeServer):
    protocol = "ollama"

    def __init__(self, port: int = 0):
        super().__init__(port)
        self.loaded: dict[str, float] = {}  # model: when it unloads (what /api/ps lists)
        self.load_seconds = 0.0  # how long /api/generate takes to load a model
        self.size_vram = 0  # bytes in GPU memory: 0 is all on the CPU
        self.has_ps = True  # False: an old Ollama with no /api/ps

    def show(self, h, body):
        model = (body or {}).get("model")
        if model not in self.models:
            return self.send_json(h, 404, {"error": f"model '{model}' not found"})
        self.send_json(h, 200, {
            "modelfile": "# Modelfile", "parameters": "stop \"<|im_end|>\"", "template": "{{ .Prompt }}",
            "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B", "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "qwen2", "qwen2.context_length": self.context_length,
                           "qwen2.embedding_length": 3584},
        })

    def load(self, model: str, body) -> None:
        """Ollama keeps a model loaded for keep_alive (5 minutes unless the request says)."""
        seconds = duration_seconds((body or {}).get("keep_alive", "5m"))
        self.loaded[model] = time.time() + (10**9 if seconds < 0 else seconds)

    def generate(self, h, body):
        """POST /api/generate with no prompt: load the model and say so (done_reason "load")."""
        model = (body or {}).get("model")
        if model not in self.models:
            return self.send_json(h, 404, {"error": f"model '{model}' not found"})
        if self.load_seconds:
            time.sleep(self.load_seconds)
        self.load(model, body)
        self.send_json(h, 200, {"model": model, "created_at": "2025-01-01T00:00:00Z", "response": "", "done": True,
                                "done_reason": "load"})

    def ps(self, h):
        now = time.time()
        self.send_json(h, 200, {"models": [
            {"name": m, "model": m, "size": 6_000_000_000, "size_vram": self.size_vram, "digest": "sha256:0",
             "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B", "quantization_level": "Q4_K_M"},
             "expires_at": go_time(until)}
            for m, until in self.loaded.items() if until > now]})

    def handle_get(self, h):
        if h.path == "/api/ps" and self.has_ps:
            return self.ps(h)
        if h.path == "/api/tags":
            self.send_json(h, 200, {"models": [
                {"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 4683087332,
                 "digest": "sha256:0", "details": {"format": "gguf", "family": "qwen2",
                                                   "parameter_size": "7.6B", "quantization_level": "Q4_K_M"}}
                for m in self.models]})
        else:
            self.send_raw(h, 404, b"404 page not found", "text/plain")

    def handle_post(self, h, body):
        if h.path == "/api/show":
            return self.show(h, body)
        if h.path == "/api/generate":
            return self.generate(h, body)
        if h.path != "/api/chat":
            return self.send_raw(h, 404, b"404 page not found", "text/plain")
        if self.scripted_status(h) or self.scripted_raw(h):
            return
        model = (body or {}).get("model")
        if model not in self.models:
            return self.send_json(h, 404, {"error": f"model \"{model}\" not found, try pulling it first"})
        self.load(model, body)
        created = "2025-01-01T00:00:00.000000Z"

        def line(obj) -> bytes:
            return json.dumps(obj).encode() + b"\n"

        def piece_line(piece: str) -> bytes:
            return line({"model": model, "created_at": created, "message": {"role": "assistant", "content": piece},
                         "done": False})

        def final():
            return [line({"model": model, "created_at": created, "message": {"role": "assistant", "content": ""},
                          "done": True, "done_reason": "stop", "total_duration": 4883583458, "load_duration": 1334875,
                          "prompt_eval_count": self.usage[0], "prompt_eval_duration": 342546000,
                          "eval_count": self.usage[1], "eval_duration": 4535599000})]

        self.stream_reply(h, "application/x-ndjson", model, body, piece_line, closing=final,
                          error=line({"error": "an error was encountered while running the model"}))


class OpenAIServer(FakeServer):
    protocol = "openai"
    prefix = "/v1"

    def __init__(self, port: int = 0):
        super().__init__(port)
        self.comments = True  # OpenRouter-style keep-alive comments
        self.cached_tokens = 0
        self.cost: float | None = None  # OpenRouter adds usage.cost (USD it charged)
        self.send_usage = True  # llama.cpp's server sends no usage chunk

    def handle_get(self, h):
        if h.path != f"{self.prefix}/models":
            return self.send_json(h, 404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
        if not self.check_key(h):
            return
        self.send_json(h, 200, {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in self.models]})

    def event(self, obj) -> bytes:
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    def handle_post(self, h, body):
        if h.path != f"{self.prefix}/chat/completions":
            return self.send_json(h, 404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
        if not self.check_key(h):
            return
        if self.scripted_status(h) or self.scripted_raw(h):
            return
        if self.mode == "html":
            return self.send_raw(h, 200, b"<!DOCTYPE html><html><body>Login</body></html>", "text/html")
        model = (body or {}).get("model")
        if model not in self.models:
            return self.send_json(h, 404, {"error": {
                "message": f"The model `{model}` does not exist or you do not have access to it.",
                "type": "invalid_request_error", "param": None, "code": "model_not_found"}})
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "system_fingerprint": None}
        first = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                      "logprobs": None, "finish_reason": None}]}
        opening = [b": OPENROUTER PROCESSING\n\n"] if self.comments else []

        def piece_event(piece: str) -> bytes:
            return self.event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "logprobs": None,
                                                    "finish_reason": None}]})

        error = {**base, "error": {"code": 502, "message": "Upstream provider error"},
                 "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
        self.stream_reply(h, "text/event-stream", model, body, piece_event, opening=[*opening, self.event(first)],
                          error=self.event(error), closing=lambda: self.closing_events(base, body))

    def closing_events(self, base: dict, body) -> list[bytes]:
        """finish_reason "stop", the usage chunk when the client asked for it, then [DONE]."""
        out = [self.event({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]})]
        if self.send_usage and (body or {}).get("stream_options", {}).get("include_usage"):
            usage = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1],
                     "total_tokens": sum(self.usage),
                     "prompt_tokens_details": {"cached_tokens": self.cached_tokens}}
            if self.cost is not None:
                usage["cost"] = self.cost
            out.append(self.event({**base, "choices": [], "usage": usage}))
        return [*out, b"data: [DONE]\n\n"]


def duration_seconds(keep) -> float:
    """Seconds in one of Ollama's keep_alive values: 300, "5m", "90s", "-1"."""
    if isinstance(keep, (int, float)):
        return float(keep)
    text = str(keep)
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


def go_time(ts: float) -> str:
    """A UTC time as Go's JSON writes it, nanoseconds and all."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".123456789Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
