"""Ollama's native API: POST /api/chat (NDJSON stream), GET /api/tags and /api/ps, and
POST /api/generate with no prompt to load a model ahead of the first question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

import httpx

from ..context import ollama_num_ctx
from ..errors import ModelNotFoundError, StreamError
from ..streams import NDJSONDecoder
from .base import Backend, ChatRequest, Delta, Event, Finish, Usage, drain, joined, safe_url


class OllamaBackend(Backend):
    autostart_command = ("ollama", "serve")
    preloads = True  # Ollama loads a model on its first request; warm() asks for that ahead of time
    cuts_long_prompts = True  # a prompt past num_ctx is cut from the front, without an error
    reports_loaded_models = True  # GET /api/ps

    def request_options(self, prompt_tokens: int, window: int | None) -> dict:
        # Ollama cuts a prompt longer than num_ctx silently; its default is small.
        return {"options": {"num_ctx": ollama_num_ctx(prompt_tokens, window)}}

    def auth_headers(self) -> dict:
        # Ollama itself takes no key, but a proxy in front of it may.
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def start_hint(self) -> str:
        return "is 'ollama serve' running?"

    def not_found(self, model: str, said: str, url: str):
        if not model:  # an endpoint this server lacks, not a model
            return ModelNotFoundError(self.name, f"{safe_url(url)} was not found (404) — is {safe_url(self.cfg.base_url)} "
                                                 "an Ollama server, and a recent one?")
        return ModelNotFoundError(self.name, f"model '{model}' not found — run 'ollama pull {model}'")

    async def stream_events(self, req: ChatRequest) -> AsyncIterator[Event]:
        url = f"{self.cfg.base_url}/api/chat"
        body = {"model": req.model, "messages": req.messages, "stream": True, **req.options, **self._keep_alive()}
        async with self.http_errors(url), self.client.stream("POST", url, json=body) as resp:
            if resp.status_code >= 300:  # 3xx: only a local backend sees one (it does not follow)
                raise self.status_error(resp, await self.read_body(resp), req.model)
            if error := self.not_a_stream(resp, url):
                raise error
            decoder = NDJSONDecoder()
            batches = self.chunks(resp, url, decoder)
            try:
                async for items in batches:
                    for event in joined(e for obj in items for e in self._events(obj)):
                        yield event
                        if isinstance(event, Finish):
                            await drain(batches)
                            return
            except (httpx.ReadError, httpx.RemoteProtocolError):
                return  # cut mid-stream: the caller sees no Finish, i.e. incomplete
            for obj in decoder.close():
                for event in self._events(obj):
                    yield event

    def _keep_alive(self) -> dict:
        return {} if self.cfg.keep_alive is None else {"keep_alive": self.cfg.keep_alive}

    async def warm(self, model: str) -> None:
        """Load `model` into memory now (a generate request with no prompt answers once it is loaded)."""
        await self.get_json(f"{self.cfg.base_url}/api/generate",
                            {"model": model, "stream": False, **self._keep_alive()}, model=model)

    async def loaded_models(self) -> list[dict] | None:
        """The models in memory (GET /api/ps): name, size, the share in GPU memory, seconds until unloaded;
        None from an Ollama too old to say (/api/ps came in 0.1.38)."""
        try:
            data = await self.get_json(f"{self.cfg.base_url}/api/ps")
        except ModelNotFoundError:
            return None
        out = []
        for m in (data.get("models") if isinstance(data, dict) else None) or []:
            if not isinstance(m, dict) or not (m.get("name") or m.get("model")):
                continue
            size, vram = m.get("size") or 0, m.get("size_vram") or 0
            out.append({"name": m.get("name") or m.get("model"), "size": size,
                        "gpu_pct": round(100 * vram / size) if size else None,
                        "expires_in_s": seconds_until(m.get("expires_at"))})
        return out

    def _events(self, obj: dict):
        if obj.get("error"):
            raise StreamError(self.name, f"error from the server: {self.clip(str(obj['error']), 300)}")
        message = obj.get("message") or {}
        text = message.get("content") if isinstance(message, dict) else None
        if text:
            yield Delta(text)
        if obj.get("done") is True:
            yield Usage(prompt_tokens=obj.get("prompt_eval_count"), completion_tokens=obj.get("eval_count"))
            yield Finish(obj.get("done_reason") or "stop")

    async def context_length(self, model: str) -> int | None:
        """From POST /api/show: the model's trained context length (model_info), else the
        Modelfile's num_ctx. setup.yaml's context_window, when set, wins over both."""
        data = await self.get_json(f"{self.cfg.base_url}/api/show", {"model": model})
        if not isinstance(data, dict):
            return None
        for key, value in (data.get("model_info") or {}).items():
            if key.endswith(".context_length") and isinstance(value, int) and value > 0:
                return value
        for line in str(data.get("parameters") or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "num_ctx" and parts[1].isdigit():
                return int(parts[1])
        return None

    async def list_models(self) -> list[dict]:
        data = await self.get_json(f"{self.cfg.base_url}/api/tags")
        models = (data.get("models") if isinstance(data, dict) else None) or []
        out = []
        for m in models:
            details = m.get("details") or {}
            out.append({
                "name": m.get("name") or m.get("model"),
                "parameter_size": details.get("parameter_size"),
                "quantization": details.get("quantization_level"),
                "size": m.get("size"),
            })
        return [m for m in out if m["name"]]


def seconds_until(stamp) -> float | None:
    """Seconds from now to Ollama's expires_at (RFC 3339, nanoseconds and all); None if unreadable."""
    if not isinstance(stamp, str):
        return None
    text = stamp.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Go writes up to 9 fractional digits; fromisoformat takes at most 6
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.now(timezone.utc)).total_seconds()
