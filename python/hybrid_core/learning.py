"""When the user overrules where auto routing sent a request, keep it as a correction
(corrections.py) that the router learns from: `@cloud` / `@local` in auto mode, a
:HybridRetry on the other side, or a switch of side right after an auto-routed answer.
The corrections file is written off the loop.
"""

from __future__ import annotations

import asyncio

from .corrections import Corrections, LastAnswer
from .live_config import LiveConfig
from .routing import Decision


class Learning:
    def __init__(self, corrections: Corrections, live: LiveConfig, loop: asyncio.AbstractEventLoop):
        self.corrections = corrections
        self.live = live  # the backends' sides
        self.loop = loop
        self.last_answer = LastAnswer()

    def _record(self, text: str, side: str, how: str) -> None:
        self.loop.run_in_executor(None, self.corrections.record, text, side, how)

    def routed(self, d: Decision, active: str, redo) -> None:
        """An overruled route is a correction: @cloud / @local in auto mode, or a retry on the other
        side of an answer that came."""
        backends = self.live.config.backends
        if d.backend is None or d.sensitive or d.side not in ("local", "cloud"):
            return
        if d.step == "explicit" and active == "auto":
            text, how = d.text, f"@{d.side}"
        elif redo is not None and redo.status == "complete" and redo.backend in backends and active != "auto" \
                and backends[redo.backend].kind != d.side:
            # Only an answer that came counts: a retry elsewhere after a failure says the server
            # was down, not that the route was wrong.
            text, how = redo.user, f":HybridRetry {d.backend}"
        else:
            return
        if text.strip():
            self._record(text, d.side, how)

    def answered(self, d: Decision, active: str, redo, backend: str, ok: bool) -> None:
        """A chat answer ended. Auto routing chose and the answer came: switching side now
        overrules it (a failure, a sensitive chat, a choice the user made do not count)."""
        answered = self.live.config.backends.get(backend)
        routed = active == "auto" and d.step not in ("explicit", "privacy") and not redo and answered
        self.last_answer.answered(d.text, answered.kind if routed else None, ok=ok)

    def switched(self, name: str, how: str | None = None) -> None:
        """Switching to a backend of the other side right after an auto-routed answer overrules it."""
        backend = self.live.config.backends.get(name)
        if backend is None:  # auto: nothing overruled
            self.last_answer.forget()
            return
        overruled = self.last_answer.switched_to(backend.kind)
        if overruled:
            text, side = overruled
            self._record(text, side, f"switched to {how or name} after the answer")

    async def listing(self, forget: bool) -> dict:
        """The corrections the router learned from (forgotten when asked), for the editor."""
        await self.live.ready()
        items = self.corrections.listing()
        if forget:
            await asyncio.to_thread(self.corrections.forget)
        return {"items": items, "forgot": bool(forget)}
