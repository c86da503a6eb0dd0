"""Backends by config type."""

from collections.abc import Callable

import httpx

from ..config import BackendConfig
from .base import Backend, ChatRequest, Delta, Event, Finish, Usage, answer_text, safe_url
from .ollama import OllamaBackend
from .openai import OpenAIBackend

__all__ = ["Backend", "ChatRequest", "Delta", "Event", "Finish", "Usage", "answer_text", "make_backend", "safe_url"]


# Tests set this to answer some backends from memory (an httpx.MockTransport for the config);
# None, or None from it: the network.
transport_for: Callable[[BackendConfig], httpx.AsyncBaseTransport | None] | None = None


def make_backend(cfg: BackendConfig, api_key: str | None = None, key_source: str = "") -> Backend:
    cls = OllamaBackend if cfg.type == "ollama" else OpenAIBackend
    return cls(cfg, api_key, key_source, transport=transport_for(cfg) if transport_for else None)
