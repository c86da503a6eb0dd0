"""One streamed request to one backend: the last privacy gate, the server started if the
plugin runs it, the prompt fitted, retries before the first token, the answer streamed to the
editor as deltas (keys masked), time to first token and usage measured, a ledger row written.
It ends in a `Sent`, never an exception (a cancel included).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass

from .accounting import Accountant, Outcome
from .backends import Delta, Finish, Usage
from .backends.pool import BackendPool
from .config import display_path
from .conversation import Conversation
from .editor_link import EditorLink
from .errors import BackendError, DoesNotFit, HybridError
from .live_config import LiveConfig
from .prompt import Prompt
from .routing import Decision

log = logging.getLogger("hybrid")


@dataclass
class Sent:
    """How one request ended."""

    status: str  # complete | incomplete | cancelled | error (a chat may call it interrupted)
    message: str | None  # what the user should read about it
    finish_reason: str | None  # the server's (base.py), None when the stream was cut
    last: dict  # the request's figures, as the editor's state shows them
    got_text: bool  # some of the answer arrived: no retry, no fallback
    backend_failed: bool = True  # False: refused here (too big), the backend is not to blame

    def event(self) -> dict:
        """The fields of turn_end / ask_end."""
        return {"status": self.status, "message": self.message, "finish_reason": self.finish_reason, "last": self.last}


class Sender:
    def __init__(self, live: LiveConfig, pool: BackendPool, prompt: Prompt, link: EditorLink, accountant: Accountant):
        self.live = live  # LiveConfig: the backends, the router's privacy rules, the retry policy
        self.pool = pool
        self.prompt = prompt
        self.link = link
        self.accountant = accountant
        self.last: dict | None = None  # the figures of the newest request, for the editor's state

    async def send(self, stream_id: str, decision: Decision, messages: list[dict], on_text,
                   conv: Conversation | None = None, patience: float | None = None) -> Sent:
        """Stream one answer as delta events for `stream_id`; record it; say how it ended."""
        started = time.monotonic()
        ttft = None
        usage = Usage()
        finish = None
        status, message = "incomplete", None
        name, model = decision.backend, decision.model
        backend_cfg = self.live.config.backends.get(name)
        sent, answer = messages, []
        masker = self.link.secrets.stream()  # a key echoed in the answer is masked, even split across events
        blameless = False
        try:
            if backend_cfg is None:
                raise HybridError(f"backend {name!r} is no longer in {display_path(self.live.path)}")
            if not backend_cfg.local:
                # The last gate before the network: routing should never get here with a secret.
                found = self.live.router.privacy.check_messages(messages)
                if found:
                    raise HybridError(f"not sent to {name} (cloud): {found.rule}")
            backend = await self.pool.started(backend_cfg)
            request = await self.prompt.prepare(backend, backend_cfg, model, messages, conv, decision.attached)
            sent = request.messages
            policy = self.live.retry
            for attempt in itertools.count(1):
                try:
                    async for event in backend.stream_chat(request):
                        if isinstance(event, Delta):
                            if ttft is None:
                                ttft = time.monotonic() - started
                            self._answer(stream_id, masker.feed(event.text), answer, on_text)
                        elif isinstance(event, Usage):
                            usage = event
                        elif isinstance(event, Finish):
                            finish = event.reason
                    break
                except BackendError as e:
                    wait = None if ttft is not None else policy.wait_before(attempt, e, patience)
                    if wait is None:
                        raise
                    self.link.progress(stream_id, f"{e} — trying again in {wait:.1f} s ({attempt + 1} of "
                                                  f"{policy.attempts})")
                    await asyncio.sleep(wait)
            if finish is None:
                message = f"{name}: the stream ended before the server said it was done; the answer is incomplete"
            else:
                status = "complete"
                if finish == "length":
                    message = f"{name}: the answer hit the model's output limit (finish_reason: length)"
        except asyncio.CancelledError:
            status = "cancelled"
        except DoesNotFit as e:
            status, message, blameless = "error", str(e), True
        except HybridError as e:
            status, message = "error", str(e)
            log.info("request failed: %s", e)
        except Exception as e:
            log.exception("request failed")
            status, message = "error", self.link.internal(e)
        self._answer(stream_id, masker.flush(), answer, on_text)
        row = None
        if backend_cfg is not None:
            row = self.accountant.record(backend_cfg, model, decision.role, decision.reason, Outcome(
                status, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens, usage.cost_usd, ttft,
                time.monotonic() - started, sent, "".join(answer)))
            self.prompt.check_truncation(backend_cfg, usage, sent, conv)
        self.last = {
            "backend": name, "model": model, "reason": decision.reason,
            "ttft_ms": round(ttft * 1000, 1) if ttft is not None else None,
            "tokens_in": row.prompt_tokens if row else None, "tokens_out": row.completion_tokens if row else None,
            "cost_usd": row.cost_usd if row else None, "estimated": row.estimated if row else None,
            "duration_ms": round((time.monotonic() - started) * 1000, 1), "status": status,
        }
        return Sent(status, message, finish, self.last, ttft is not None, not blameless)

    def _answer(self, stream_id: str, text: str, answer: list[str], on_text) -> None:
        if text:
            answer.append(text)
            on_text(text)
            self.link.delta(stream_id, text)
