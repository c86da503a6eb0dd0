"""OpenAI-compatible APIs: POST {base_url}/chat/completions (SSE), GET {base_url}/models.

One protocol for OpenRouter, Groq, OpenAI, LM Studio, llama.cpp's server, vLLM, LiteLLM.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from ..caching import mark_cache
from ..errors import StreamError
from ..streams import SSEDecoder
from .base import Backend, ChatRequest, Delta, Event, Finish, Usage, drain, joined, message_of


@dataclass
class _End:
    """How a stream said it ended: the finish_reason seen, and whether [DONE] came."""

    reason: str | None = None
    done: bool = False


class OpenAIBackend(Backend):
    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def cache_marked(self, messages: list[dict], model: str) -> list[dict]:
        # OpenRouter and Anthropic-compatible gateways read cache_control (see caching.py).
        return mark_cache(messages, model)

    async def stream_events(self, req: ChatRequest) -> AsyncIterator[Event]:
        url = f"{self.cfg.base_url}/chat/completions"
        body = {
            "model": req.model,
            "messages": req.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **req.options,
        }
        headers = {"Accept": "text/event-stream"}
        async with self.http_errors(url), self.client.stream("POST", url, json=body, headers=headers) as resp:
            if resp.status_code >= 300:  # 3xx: only a local backend sees one (it does not follow)
                raise self.status_error(resp, await self.read_body(resp), req.model)
            ctype = resp.headers.get("content-type", "")
            if error := self.not_a_stream(resp, url):
                raise error
            if "json" in ctype and "event-stream" not in ctype:
                # Some proxies answer errors as plain JSON with status 200.
                said = self.said(await self.read_body(resp))
                raise StreamError(self.name, f"expected a stream, got JSON: {said}")
            end = _End()
            batches = self.chunks(resp, url, SSEDecoder())
            try:
                async for items in batches:
                    for event in joined(self._batch(items, end)):
                        yield event
                    if end.done:
                        yield Finish(end.reason or "stop")
                        await drain(batches)
                        return
            except (httpx.ReadError, httpx.RemoteProtocolError):
                pass  # cut mid-stream: complete only if a finish_reason came
            if end.reason is not None:
                yield Finish(end.reason)

    def _batch(self, items, end: _End):
        """The events of a batch of SSE events, up to [DONE]; a finish_reason is kept in `end`
        (it is said once the stream ends: a usage chunk may follow it)."""
        for sse in items:
            data = sse.data.strip()
            if not data:
                continue
            if data == "[DONE]":
                end.done = True
                return
            for event in self._events(sse.event, sse.data):
                if isinstance(event, Finish):
                    end.reason = event.reason
                else:
                    yield event

    def _events(self, event_name: str, data: str):
        try:
            obj = json.loads(data)
        except ValueError:
            raise StreamError(self.name, f"unreadable event in the stream: {self.clip(data, 80)!r}") from None
        if not isinstance(obj, dict):
            return
        if obj.get("error") or event_name == "error":
            raise StreamError(self.name, f"error from the server: {message_of(obj, self.api_key) or self.clip(data, 200)}")
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                yield Delta(text)
            finish = choice.get("finish_reason")
            if finish == "error":
                raise StreamError(self.name, "the server ended the answer with an error")
            if finish:
                yield Finish(finish)
        usage = obj.get("usage")
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            cost = usage.get("cost")
            yield Usage(
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                cached_tokens=details.get("cached_tokens") if isinstance(details, dict) else None,
                cost_usd=cost if isinstance(cost, (int, float)) else None,
            )

    async def list_models(self) -> list[dict]:
        data = await self.get_json(f"{self.cfg.base_url}/models")
        items = data.get("data") if isinstance(data, dict) else data
        return [{"name": m["id"]} for m in items or [] if isinstance(m, dict) and m.get("id")]
