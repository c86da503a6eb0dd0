"""What counts as local is what the user can trust: loopback servers that are not cloud proxies,
or what setup.yaml declares; and a local backend never follows a redirect off the machine."""

import http.server
import json
import threading

import pytest

from hybrid_core.config import parse_config
from hybrid_core.errors import ConnectError
from test_backends import backend, collect


def kinds(yaml_backends: str) -> dict:
    cfg = parse_config("backend:\n" + yaml_backends, "setup.yaml")
    return {n: (b.local, b.local_why) for n, b in cfg.backends.items()}


def test_loopback_is_local_unless_it_looks_like_a_cloud_proxy():
    got = kinds(
        "  llama: {type: openai, base_url: 'http://127.0.0.1:8080/v1', default_model: smollm2}\n"
        "  ollama: {type: ollama, base_url: 'http://localhost:11434', default_model: qwen2.5-coder:7b}\n"
        "  litellm: {type: openai, base_url: 'http://localhost:4000', default_model: gpt-4o}\n"
        "  proxy: {type: openai, base_url: 'http://127.0.0.1:8081/v1', default_model: anthropic/claude-sonnet-4.5}\n"
        "  lan: {type: ollama, base_url: 'http://192.168.1.20:11434', default_model: llama3}\n"
        "  lan_ok: {type: ollama, base_url: 'http://192.168.1.20:11434', default_model: llama3, local: true}\n"
        "  hosted: {type: ollama, base_url: 'https://ollama.com', default_model: gpt-oss:120b}\n")
    assert got["llama"] == (True, "inferred: on this machine (loopback)")
    assert got["ollama"][0] is True
    assert got["litellm"][0] is False and "proxy" in got["litellm"][1]
    assert got["proxy"][0] is False and "anthropic/claude-sonnet-4.5" in got["proxy"][1]
    assert got["lan"][0] is False and "set local: true" in got["lan"][1]
    assert got["lan_ok"] == (True, "declared")
    assert got["hosted"][0] is False


class _Redirecting(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_POST(self):  # noqa: N802
        self.send_response(307)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class _Recording(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"message": {"content": "took it"}, "done": True}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Recording)
    _Recording.seen = []
    _Redirecting.target = f"http://127.0.0.2:{elsewhere.server_address[1]}"
    local = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    for s in (elsewhere, local):
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{local.server_address[1]}"
    for s in (elsewhere, local):
        s.shutdown()
        s.server_close()


def test_a_local_backend_does_not_follow_a_redirect_off_its_host(servers):
    b = backend("ollama", servers, local=True)
    secret = "DB_PASSWORD=Summer2024!"
    with pytest.raises(ConnectError) as err:
        collect(b, messages=[{"role": "user", "content": secret}])
    assert "redirected the request to http://127.0.0.2" in str(err.value)
    assert "never follows a redirect" in str(err.value)
    assert _Recording.seen == []  # the other host received nothing
