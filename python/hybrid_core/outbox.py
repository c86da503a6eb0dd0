"""Batches events for the editor: at most one push per interval, never one per token.

The first event after a quiet spell goes out at once (time to first token matters);
under a burst, events wait for the next tick and consecutive text for the same target
is joined into one delta.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .streams import repaired

log = logging.getLogger("hybrid")

FLUSH_INTERVAL = 0.016


class Outbox:
    def __init__(self, loop: asyncio.AbstractEventLoop, sink: Callable[[list[dict]], None], interval: float = FLUSH_INTERVAL):
        self.loop = loop
        self.sink = sink
        self.interval = interval
        self._pending: list[dict] = []
        self._scheduled = False
        self._last_flush = 0.0
        self._answering: set[str] = set()  # streams whose first text has gone out

    def put(self, event: dict, stream: str | None = None) -> None:
        """Queue one event. Must be called on the loop's thread. `stream`: the answer a delta or
        an end event belongs to (the editor link names it; nothing here reads ids)."""
        last = self._pending[-1] if self._pending else None
        kind = event["type"]
        if kind == "delta" and last is not None and last["type"] == "delta" and last["chat"] == event["chat"]:
            last["text"] += event["text"]
        else:
            self._pending.append(event)
        if kind == "delta" and stream not in self._answering:
            # An answer's first text goes out now, whatever went just before it (its header,
            # the state): the time to first token is what the user waits on.
            self._answering.add(stream)
            self.loop.call_soon(self.flush)
            return
        if kind in ("turn_end", "ask_end", "reply"):
            # The end shows the last text and the status now: nothing follows to batch with.
            # A reply ends a call the editor may be waiting on (require('hybrid').route()).
            self._answering.discard(stream)
            self.loop.call_soon(self.flush)
            return
        if not self._scheduled:
            self._scheduled = True
            wait = self._last_flush + self.interval - time.monotonic()
            if wait <= 0:
                self.loop.call_soon(self.flush)
            else:
                self.loop.call_later(wait, self.flush)

    def flush(self) -> None:
        if not self._pending:
            return
        self._scheduled = False  # (a flush scheduled earlier finds nothing and returns)
        batch, self._pending = [without_none(e) for e in self._pending], []
        self._last_flush = time.monotonic()
        try:
            self.sink(batch)
        except Exception:
            log.exception("pushing events to the editor failed")


def without_none(value):
    """Drop None from dicts: msgpack nil arrives in Lua as vim.NIL, which is truthy. Text is made
    fit for UTF-8 on the way (a lone surrogate half cannot be sent, and would lose the whole batch)."""
    if isinstance(value, str):
        return repaired(value)
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value
