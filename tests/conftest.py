import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeservers import OllamaServer, OpenAIServer  # noqa: E402


@pytest.fixture
def ollama():
    server = OllamaServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai():
    server = OpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def start_engine(tmp_path):
    """start_engine(config_text, **engine_kw) -> (engine, sink, setup.yaml path): an Engine with no
    editor over that setup.yaml, its events collected in `sink`; each one is shut down after the test.
    Ask for it after the servers, so that it shuts down before they stop."""
    from engine_harness import engine_for

    started = []

    def start(config_text: str, **kw):
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
