import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeservers import OllamaServer, OpenAIServer  # noqa: E402


def pytest_configure(config):
    # Requests in this process go through the transport the host settles on: aiohttp's when
    # httpx-aiohttp is installed (the host loads it once idle; see backends/transport.py).
    from hybrid_core.backends import transport

    transport.load()
    config.addinivalue_line("markers", "in_memory: the ollama and openai fakes answer through an httpx.MockTransport, "
                                       "with no socket (for tests that only need a canned answer and the request)")


class MemoryRoutes:
    """(host, port) -> a fake answered in memory. As an httpx transport (the engine's `transport=`),
    a request to one of those addresses reaches that fake's MockTransport; any other address uses
    the network as ever (a test may mix in a port nothing listens on)."""

    def __init__(self):
        import httpx

        self.servers = {}
        self.network = httpx.AsyncHTTPTransport()

    def __setitem__(self, address, server):
        self.servers[address] = server

    def transport(self):
        import httpx

        routes = self

        class Routed(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request):
                server = routes.servers.get((request.url.host, request.url.port))
                if server is None:
                    return await routes.network.handle_async_request(request)
                return await server.transport.handle_async_request(request)

        return Routed()


@pytest.fixture
def memory_backends():
    return MemoryRoutes()


def serve(server, request):
    """`server` on a loopback socket, or in memory for a test marked in_memory."""
    if request.node.get_closest_marker("in_memory"):
        request.getfixturevalue("memory_backends")[("127.0.0.1", server.start_in_memory().port)] = server
        yield server
        return
    yield server.start()
    server.stop()


@pytest.fixture
def ollama(request):
    yield from serve(OllamaServer(), request)


@pytest.fixture
def openai(request):
    yield from serve(OpenAIServer(), request)


@pytest.fixture
def start_engine(tmp_path, request):
    """start_engine(config_text, **engine_kw) -> (engine, sink, setup.yaml path): an Engine with no
    editor over that setup.yaml, its events collected in `sink`; each one is shut down after the test.
    Ask for it after the servers, so that it shuts down before they stop."""
    from engine_harness import engine_for

    started = []

    in_memory = request.node.get_closest_marker("in_memory")

    def start(config_text: str, **kw):
        if in_memory:
            kw.setdefault("transport", request.getfixturevalue("memory_backends").transport())
        eng, sink, path = engine_for(tmp_path, config_text, **kw)
        started.append(eng)
        return eng, sink, path

    yield start
    for eng in started:
        eng.shutdown()


@pytest.fixture
def editor(tmp_path):
    """editor(config_text, env=None) starts a real Neovim with the plugin and that setup.yaml."""
    from nvim_harness import Editor

    started = []

    def start(config_text: str, env: dict | None = None) -> Editor:
        path = tmp_path / "setup.yaml"
        path.write_text(config_text)
        ed = Editor(tmp_path, str(path), env)
        started.append(ed)
        return ed

    yield start
    for ed in started:
        ed.close()
