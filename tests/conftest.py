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
