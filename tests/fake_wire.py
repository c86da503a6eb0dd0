"""How a fake server's answers reach the client: over a loopback socket (a real HTTP/1.1 server)
or in memory (an httpx.MockTransport, for tests that need no socket).

Either way the fake's protocol code gets one small "exchange" per request: the request
(`command`, `path`, `headers`) and `respond`, `begin_stream`, `chunk`, `end_stream`, `cut`,
`wait_for_hangup`. Only the socket exchange can cut a connection or wait for a hang-up: a test
that scripts those needs a socket, and the memory exchange says so rather than pretend.
"""

from __future__ import annotations

import asyncio
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

MAX_STREAM_SECONDS = 30  # every scripted stream, and every held-open one, stops by itself
# How often the serve loop looks for stop(): at serve_forever's default 0.5 s, each test waited
# about that long per server in teardown (a third of the core run).
STOP_POLL_SECONDS = 0.01


# -- over a loopback socket ---------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that hangs up mid-stream (a cancel) is not a server failure worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def serve_on_socket(fake, port: int) -> _Server:
    """Serve `fake` on 127.0.0.1:`port` (0: any free port) until the returned server's shutdown()."""
    httpd = _Server(("127.0.0.1", port), _socket_exchange(fake))
    threading.Thread(target=httpd.serve_forever, args=(STOP_POLL_SECONDS,), daemon=True).start()
    return httpd


def _socket_exchange(fake):
    class SocketExchange(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            fake.connected()
            # As Ollama (Go) and uvicorn do: without it, a reused connection's small writes
            # wait on the client's delayed ACK (Nagle), up to 40 ms.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().setup()

        def do_GET(self):
            fake.answer(self, b"")

        def do_POST(self):
            fake.answer(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def respond(self, status: int, data: bytes, ctype: str, extra: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def begin_stream(self, ctype: str, extra: dict | None = None):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()

        def chunk(self, data: bytes) -> bool:
            """One HTTP chunk; False when the client has gone."""
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                return True
            except (BrokenPipeError, ConnectionResetError):
                return False

        def end_stream(self):
            try:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def cut(self):
            """Drop the connection mid-stream, without the last chunk."""
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def wait_for_hangup(self) -> bool:
            """Hold the connection open until the client closes it (True) or the time is up."""
            deadline = time.monotonic() + MAX_STREAM_SECONDS
            while time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.01)
                if readable:
                    try:
                        peek = self.connection.recv(1, socket.MSG_PEEK)
                    except OSError:
                        peek = b""
                    if not peek:
                        self.close_connection = True
                        return True
            return False

    return SocketExchange


# -- in memory ------------------------------------------------------------------------------

class MemoryExchange:
    """One request answered in memory: what the fake writes becomes the httpx.Response."""

    def __init__(self, request: httpx.Request):
        self.command = request.method
        self.path = request.url.raw_path.decode("ascii")
        self.headers = request.headers
        self.status = 0
        self.reply_headers: dict[str, str] = {}
        self.body: list[bytes] = []

    def respond(self, status: int, data: bytes, ctype: str, extra: dict | None = None):
        self.status, self.body = status, [data]
        self.reply_headers = {"Content-Type": ctype, "Content-Length": str(len(data)), **(extra or {})}

    def begin_stream(self, ctype: str, extra: dict | None = None):
        self.status = 200
        self.reply_headers = {"Content-Type": ctype, "Transfer-Encoding": "chunked", "Cache-Control": "no-cache",
                              **(extra or {})}

    def chunk(self, data: bytes) -> bool:
        self.body.append(data)
        return True

    def end_stream(self):
        pass

    def cut(self):
        raise NotImplementedError("a cut connection needs a socket: drop the test's in_memory mark")

    def wait_for_hangup(self) -> bool:
        raise NotImplementedError("a held-open stream needs a socket: drop the test's in_memory mark")

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.reply_headers, stream=_Chunks(self.body))


class _Chunks(httpx.AsyncByteStream):
    """The body as the fake wrote it, one piece per chunk, as a socket would deliver them."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = chunks

    async def __aiter__(self):
        for data in self.chunks:
            yield data


def memory_transport(fake) -> httpx.MockTransport:
    async def answer(request: httpx.Request) -> httpx.Response:
        exchange = MemoryExchange(request)
        # In a thread, as on a socket: a scripted wait (delay, model_waits) does not stop the client's loop.
        await asyncio.to_thread(fake.answer, exchange, request.content)
        return exchange.response()

    return httpx.MockTransport(answer)
