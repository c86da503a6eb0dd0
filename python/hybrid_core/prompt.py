"""The prompt as it is sent: the history fit into the model's context window (oldest turns
left out, summarized by the local model when context.summarize is on, and the user told),
the backend's own request options and cache marks; and, after the answer, a check that the
server did not cut the prompt without saying so.
"""

from __future__ import annotations

import asyncio
import logging

from .backends import Backend, ChatRequest, Usage, answer_text, backend_class
from .backends.pool import BackendPool
from .config import BackendConfig
from .context import ANSWER_RESERVE, fit
from .conversation import Conversation
from .editor_link import EditorLink
from .errors import DoesNotFit, HybridError
from .live_config import LiveConfig
from .selection import Selection
from .tokens import content_text, messages_tokens

log = logging.getLogger("hybrid")

SUMMARY_PROMPT = ("Summarize this conversation in at most five sentences for the assistant that continues it. "
                  "Keep names, decisions, file names and code identifiers.")


class Prompt:
    def __init__(self, live: LiveConfig, selection: Selection, pool: BackendPool, link: EditorLink):
        self.live = live
        self.selection = selection  # the local model that writes summaries
        self.pool = pool
        self.link = link
        self.windows: dict[tuple[str, str], int | None] = {}  # context windows servers reported

    def forget_windows(self) -> None:
        """A new config: a context_window may have changed, and servers are asked again."""
        self.windows.clear()

    def known_window(self, backend: str | None, model: str | None) -> int | None:
        """The window a server reported for (backend, model), if it was asked already."""
        return self.windows.get((backend, model))

    async def learn_window(self, cfg: BackendConfig, model: str, timeout: float | None = None) -> int | None:
        """The window of (backend, model), asking its server if need be; a server that does not
        answer is asked again next time (this runs before routing, the server may be starting)."""
        if cfg.context_window or (cfg.name, model) in self.windows:
            return cfg.context_window or self.windows[(cfg.name, model)]
        try:
            backend = await self.pool.client(cfg, key_required=False)
            window = await asyncio.wait_for(backend.context_length(model), timeout or cfg.connect_timeout + 3)
        except (HybridError, asyncio.TimeoutError):
            return None
        self.windows[(cfg.name, model)] = window
        return window

    async def prepare(self, backend: Backend, cfg: BackendConfig, model: str, messages: list[dict],
                      conv: Conversation | None, attached: str | None = None) -> ChatRequest:
        """Fit the history into the model's window, size the request for it (Ollama's num_ctx),
        mark the cache prefix. A message that cannot fit, alone or with its attachments
        (`attached`: the biggest), is not sent: never cut."""
        window = await self._window(backend, cfg, model)
        fitted = fit(messages, window)
        if window and fitted.tokens > window - min(ANSWER_RESERVE, window // 4):
            # Even the newest message alone does not fit: the server would cut it or refuse it.
            what = f"the message with {attached}" if attached else "the message"
            raise DoesNotFit(f"not sent: {what} is ~{fitted.tokens:,} tokens, more than "
                             f"{cfg.name}'s {model} can read ({window:,}-token context window)")
        if fitted.dropped and conv is not None and self._summarize_enabled():
            summary = await self._summarize(conv, fitted.dropped)
            if summary:
                fitted = fit(messages, window, summary)
        if fitted.dropped and conv is not None and len(fitted.dropped) > conv.dropped_told:
            conv.dropped_told = len(fitted.dropped)
            kept = "summarized and " if conv.summary and conv.summary[0] == len(fitted.dropped) else ""
            self.link.notify("info", f"{len(fitted.dropped)} oldest messages {kept}left out to fit {model}'s "
                                     f"{window:,}-token context window")
        return ChatRequest(model=model, messages=backend.cache_marked(fitted.messages, model),
                           options=backend.request_options(fitted.tokens, window))

    async def _window(self, backend: Backend, cfg: BackendConfig, model: str) -> int | None:
        if cfg.context_window:
            return cfg.context_window
        key = (cfg.name, model)
        if key not in self.windows:
            try:
                self.windows[key] = await asyncio.wait_for(backend.context_length(model), cfg.connect_timeout + 3)
            except (HybridError, asyncio.TimeoutError):
                self.windows[key] = None
        return self.windows[key]

    def _summarize_enabled(self) -> bool:
        return self.live.config.context.summarize is True

    async def _summarize(self, conv: Conversation, dropped: list[dict]) -> str | None:
        """One note for the turns that no longer fit, written by the local model (cached)."""
        if conv.summary and conv.summary[0] == len(dropped):
            return conv.summary[1]
        router = self.live.router
        local = self.live.config.backends.get(router.local) if router.local else None
        if local is None:
            return None
        text = "\n\n".join(f"{m['role']}: {content_text(m.get('content'))}" for m in dropped)[-12000:]
        request = ChatRequest(model=self.selection.model_override.get(local.name) or local.model_for("query"),
                              messages=[{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": text}])
        try:
            said = await asyncio.wait_for(answer_text(await self.pool.client(local), request), 60)
        except (HybridError, asyncio.TimeoutError) as e:
            log.info("summary failed: %s", e)
            return None
        summary = " ".join(said.split())[:1500]
        conv.summary = (len(dropped), summary)
        return summary or None

    def check_truncation(self, cfg: BackendConfig, usage: Usage, sent: list[dict], conv: Conversation | None) -> None:
        """Warn when the server read far fewer prompt tokens than were sent (it cut the prompt)."""
        if not backend_class(cfg.type).cuts_long_prompts or not usage.prompt_tokens:
            return
        if conv is not None and len(conv.turns) > 1:
            return  # later turns reuse Ollama's prompt cache, which lowers the count it reports
        estimate = messages_tokens(sent)
        if estimate > 1000 and usage.prompt_tokens < estimate * 0.5:
            self.link.notify("warn", f"{cfg.name}: the model read {usage.prompt_tokens:,} prompt tokens of about "
                                     f"{estimate:,} sent, so it probably cut the prompt; set "
                                     f"backend.{cfg.name}.context_window")
