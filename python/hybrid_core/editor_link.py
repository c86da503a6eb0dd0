"""The editor's end of the engine: every event for the editor is built here, and leaves in
batches through the Outbox (outbox.py). The Python half of the protocol's events:

| event        | fields                                             | when                                     |
|--------------|----------------------------------------------------|------------------------------------------|
| `state`      | state: the snapshot (engine.py)                    | the config, a choice or a request changed |
| `notify`     | level (info/warn/error), message                   | something to tell the user once          |
| `reply`      | id, result or error                                | the answer to a `*_reply`-style call     |
| `confirm`    | id, message                                        | a yes/no question (the budget)           |
| `attachments`| chat, items (attachments.py's records)             | a message's attachments were read        |
| `turn_start` | chat, backend, model, kind, reason, step           | a chat answer starts (or falls back)     |
| `delta`      | chat (a chat id or an ask stream), text            | answer text                              |
| `progress`   | chat, message                                      | a status line before the first token     |
| `turn_end`   | chat, status, message, finish_reason, last         | a chat answer ended                      |
| `ask_start`  | id, backend, model, kind, reason, step             | a :HybridAsk rewrite starts              |
| `ask_end`    | id, status, message, finish_reason, last, lines    | a :HybridAsk rewrite ended               |

A :HybridAsk request streams under the id `ask:<id>` (ask_stream): its deltas and progress
lines carry it, and :HybridCancel takes it. It is built here and nowhere else on this side.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

from .outbox import Outbox
from .redact import Redactor
from .routing import Decision
from .streams import repaired

log = logging.getLogger("hybrid")

ASK_PREFIX = "ask:"


def ask_stream(ask_id: str) -> str:
    """The stream id of :HybridAsk request `ask_id` (the editor's ask.lua reads the prefix)."""
    return f"{ASK_PREFIX}{ask_id}"


def who_of(d: Decision) -> dict:
    """Who answers and why, for an answer's header."""
    return {"backend": d.backend, "model": d.model, "kind": d.side, "reason": d.reason, "step": d.step}


class EditorLink:
    def __init__(self, loop: asyncio.AbstractEventLoop, sink: Callable[[list[dict]], None], secrets: Redactor,
                 log_path: str | None):
        self.loop = loop
        self.outbox = Outbox(loop, sink)
        self.secrets = secrets
        self.log_path = log_path
        self._confirms: dict[int, asyncio.Future] = {}
        self._confirm_ids = itertools.count(1)

    def _put(self, event: dict, stream: str | None = None) -> None:
        if event.get("message"):
            event["message"] = self.secrets(event["message"])  # a server may echo the key back
        self.outbox.put(event, stream)

    # -- messages ---------------------------------------------------------------------

    def notify(self, level: str, message: str) -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, message)
        self._put({"type": "notify", "level": level, "message": message})

    def progress(self, stream_id: str, text: str) -> None:
        """A status line under the answer's header until its first token (retries, a fallback):
        shown where the user waits, so it raises no message and no hit-enter prompt."""
        log.info("%s: %s", stream_id, text)
        self._put({"type": "progress", "chat": stream_id, "message": text})

    def internal(self, e: Exception) -> str:
        """A bug's one line for the editor; its traceback is in the log."""
        return f"internal error: {type(e).__name__}: {' '.join(str(e).split())} (details in {self.log_path})"

    def state(self, snapshot: dict) -> None:
        self._put({"type": "state", "state": snapshot})

    def reply(self, reply_id: int, result=None, error: str | None = None) -> None:
        if error is not None:
            self._put({"type": "reply", "id": reply_id, "error": error})
        else:
            self._put({"type": "reply", "id": reply_id, "result": result})

    # -- answers --------------------------------------------------------------------------

    def delta(self, stream_id: str, text: str) -> None:
        self._put({"type": "delta", "chat": stream_id, "text": text}, stream_id)

    def attachments(self, chat_id: str, items: list[dict]) -> None:
        self._put({"type": "attachments", "chat": chat_id, "items": items})

    def turn_start(self, chat_id: str, who: dict) -> None:
        self._put({"type": "turn_start", "chat": chat_id, **who})

    def turn_end(self, chat_id: str, result: dict) -> None:
        self._put({"type": "turn_end", "chat": chat_id, **result}, chat_id)

    def ask_start(self, ask_id: str, who: dict) -> None:
        self._put({"type": "ask_start", "id": ask_id, **who})

    def ask_end(self, ask_id: str, result: dict) -> None:
        self._put({"type": "ask_end", "id": ask_id, **result}, ask_stream(ask_id))

    # -- what the editor answers ----------------------------------------------------------

    async def confirm(self, question: str) -> bool:
        """Ask the user yes or no; True once they say yes (see settle)."""
        cid = next(self._confirm_ids)
        fut = self.loop.create_future()
        self._confirms[cid] = fut
        self._put({"type": "confirm", "id": cid, "message": question})
        try:
            return await fut
        finally:
            self._confirms.pop(cid, None)

    def settle(self, confirm_id: int, yes: bool) -> None:
        """The user's answer to confirm question `confirm_id` (on the loop's thread)."""
        fut = self._confirms.get(int(confirm_id))
        if fut is not None and not fut.done():
            fut.set_result(bool(yes))

    def from_editor(self, *texts):
        """Text from the editor, fit to send: bytes that are not UTF-8 (a binary file's) arrive as
        lone surrogates; they go as U+FFFD, said once for the request."""
        fixed = [repaired(t) if isinstance(t, str) else t for t in texts]
        if any(a is not b for a, b in zip(fixed, texts, strict=True)):
            self.notify("warn", "the text has bytes that are not UTF-8 (a binary file?); they were sent as \ufffd")
        return fixed
