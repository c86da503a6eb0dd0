"""Backends by config type."""

from ..config import BackendConfig
from .base import Backend, ChatRequest, Delta, Event, Finish, Usage, answer_text, safe_url
from .ollama import OllamaBackend
from .openai import OpenAIBackend

__all__ = ["Backend", "ChatRequest", "Delta", "Event", "Finish", "Usage", "answer_text", "make_backend", "safe_url"]


def make_backend(cfg: BackendConfig, api_key: str | None = None, key_source: str = "") -> Backend:
    cls = OllamaBackend if cfg.type == "ollama" else OpenAIBackend
    return cls(cfg, api_key, key_source)
