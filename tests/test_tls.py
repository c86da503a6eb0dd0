"""TLS: https backends verify certificates; an http:// backend trusts no certificate at all,
so a redirect to https fails closed, with a message that says what to change."""

import http.server
import shutil
import ssl
import subprocess
import threading

import pytest

from hybrid_core.backends.base import tls_for
from hybrid_core.errors import ConnectError
from test_backends import backend, collect

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


class _Handler(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_POST(self):
        if self.target:
            self.send_response(307)
            self.send_header("Location", self.target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"choices":[{"delta":{"content":"secret"},"finish_reason":"stop"}]}\n\n')

    def log_message(self, *args):
        pass


def serve(handler, context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if context else "http"
    return server, f"{scheme}://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def self_signed_https(tmp_path):
    """An https server on loopback with a self-signed certificate for 127.0.0.1."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server, url = serve(type("Plain", (_Handler,), {"target": ""}), context)
    yield url
    server.shutdown()


def test_an_https_backend_refuses_a_certificate_no_authority_signed(self_signed_https):
    with pytest.raises(ConnectError, match=r"the TLS certificate of https://127\.0\.0\.1:\d+/v1 is not trusted"):
        collect(backend("openai", self_signed_https + "/v1", local=False))


def test_an_http_backend_redirected_to_https_fails_closed_and_says_what_to_change(self_signed_https):
    server, url = serve(type("Redirect", (_Handler,), {"target": self_signed_https}))
    try:
        with pytest.raises(ConnectError, match=r"redirected to https — put the https:// address in backend\.openai\.base_url"):
            collect(backend("openai", url + "/v1"))
    finally:
        server.shutdown()


def test_https_backends_share_one_verifying_context_and_http_ones_trust_nothing():
    https = tls_for("https://api.example.com/v1")
    assert https is tls_for("https://other.example.com/v1")  # the CA bundle is read once
    assert https.verify_mode == ssl.CERT_REQUIRED and https.check_hostname
    assert https.cert_store_stats()["x509_ca"] > 0
    plain = tls_for("http://127.0.0.1:11434")
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0
