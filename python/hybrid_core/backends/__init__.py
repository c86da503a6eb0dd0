"""Backends by config type: the registry maps setup.yaml's `type:` to the class that speaks it.

A new backend type is one module here (a `Backend` subclass, see the contract in base.py), one
entry in BACKEND_CLASSES, and its type name in the config schema. Clients are made and kept by
pool.py (import it from there: it starts servers, so it is not loaded with the types).
"""

from __future__ import annotations

import httpx

from ..config import BackendConfig
from .base import Backend, ChatRequest, Delta, Event, Finish, Usage, answer_text, safe_url
from .ollama import OllamaBackend
from .openai import OpenAIBackend

BACKEND_CLASSES: dict[str, type[Backend]] = {
    "ollama": OllamaBackend,  # Ollama's native /api/chat (NDJSON)
    "openai": OpenAIBackend,  # any OpenAI-compatible /chat/completions (SSE)
}

__all__ = ["BACKEND_CLASSES", "Backend", "ChatRequest", "Delta", "Event", "Finish", "Usage", "answer_text",
           "backend_class", "make_backend", "safe_url"]


def backend_class(type_name: str) -> type[Backend]:
    """The class for setup.yaml's `type:` (validated by config; an unknown one speaks OpenAI's format)."""
    return BACKEND_CLASSES.get(type_name, OpenAIBackend)


def make_backend(cfg: BackendConfig, api_key: str | None = None, key_source: str = "", *,
                 transport: httpx.AsyncBaseTransport | None = None) -> Backend:
    return backend_class(cfg.type)(cfg, api_key, key_source, transport=transport)
