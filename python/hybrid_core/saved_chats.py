"""Saved chats: one append-only JSON-lines file per chat in <data_dir>/chats/.

Every record is one line written with one write() on an O_APPEND file, so a crash at
any moment leaves every earlier line whole; a torn last line is skipped on reading, and
an answer with no end record reads back as interrupted. A writer thread does the
writing: the engine only queues records (a streamed answer is one record per token,
joined into one line per wake-up), so neither the editor nor the loop waits for a disk.

Records: {"t": "user", "text", "retry"?, "attachments"?} starts a turn (each attachment by
name and path, with the text that was sent: attachments.py); "who" (backend, model, kind,
reason) names who answers; "text" appends to the answer; "end" (status, message)
closes the turn; "sensitive" (rule) marks the chat local-only for good. A record with a
field of the wrong type (edited by hand, written by another version) is skipped or its
field dropped; the rest of the chat still opens. One record that cannot be written is
logged and dropped; the writer goes on with the next.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from . import privacy
from .errors import HybridError
from .streams import repaired

log = logging.getLogger("hybrid")

_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}")
TITLE_BYTES = 8192  # the picker reads only this much of each file
_STOP = object()


def valid_id(chat_id: str) -> bool:
    return bool(_ID.fullmatch(chat_id or ""))


@dataclass
class SavedTurn:
    user: str
    retry: bool = False
    who: dict = field(default_factory=dict)
    attachments: list[dict] = field(default_factory=list)
    answer: str = ""
    status: str = "interrupted"  # until an end record says otherwise
    message: str | None = None


@dataclass
class SavedChat:
    id: str
    turns: list[SavedTurn]
    sensitive: str | None = None
    torn: bool = False  # the last line was cut by a crash (and skipped)


def _text(value) -> str | None:
    """A field meant to be text: text or a number as text; anything else (an object, a list) is
    not used. Lone surrogate halves (from a JSON escape) become U+FFFD."""
    if isinstance(value, str):
        return repaired(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def parse(chat_id: str, data: bytes) -> SavedChat:
    """Rebuild a chat from its file. Never raises on damage: a bad line is skipped, and a
    field of the wrong type is left out (a record that needs it is skipped)."""
    chat = SavedChat(chat_id, [])
    lines = data.split(b"\n")
    if lines and lines[-1] != b"":
        chat.torn = True  # no newline at the end: the writer died mid-line
    for line in lines[:-1]:
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            chat.torn = True
            continue
        if not isinstance(rec, dict):
            continue
        kind = rec.get("t")
        turn = chat.turns[-1] if chat.turns else None
        if kind == "sensitive":
            chat.sensitive = _text(rec.get("rule")) or "marked sensitive"
        elif kind == "user":
            user = _text(rec.get("text"))
            if user is not None:
                attached = rec.get("attachments")
                attached = [a for a in attached if isinstance(a, dict)] if isinstance(attached, list) else []
                chat.turns.append(SavedTurn(user, retry=rec.get("retry") is True, attachments=attached))
        elif turn is None:
            continue
        elif kind == "who":
            who = {k: _text(rec.get(k)) for k in ("backend", "model", "kind", "reason")}
            turn.who = {k: v for k, v in who.items() if v is not None}
        elif kind == "text":
            turn.answer += _text(rec.get("text")) or ""
        elif kind == "end":
            turn.status = _text(rec.get("status")) or "complete"
            turn.message = _text(rec.get("message"))
    return chat


class ChatStore:
    def __init__(self, directory: str, redact: Callable[[str], str] = lambda s: s):
        self.directory = directory
        self.redact = redact  # no API key is ever written to a chat file
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: list[tuple[str, dict]] = []  # records not yet handed to the writer
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._write_loop, name="hybrid-chats", daemon=True)
        self._thread.start()

    def path(self, chat_id: str) -> str:
        if not valid_id(chat_id):
            raise HybridError(f"not a chat id: {chat_id!r}")
        return os.path.join(self.directory, chat_id + ".jsonl")

    # -- writing (any thread; never waits for the disk) --------------------------------

    def append(self, chat_id: str, record: dict) -> None:
        # One wake-up of the writer per batch, not per token: under a burst the records
        # pile up here while it writes the last batch.
        if valid_id(chat_id):
            with self._lock:
                self._pending.append((chat_id, record))
                wake = len(self._pending) == 1
            if wake:
                self._queue.put(True)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every record appended so far is on disk."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            with self._lock:
                records, self._pending = self._pending, []
            try:
                self._write(records)
            except Exception:  # never let one bad batch stop the saving of every later chat
                log.exception("could not save chats")
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
            if _STOP in batch:
                return

    def _write(self, items: list[tuple[str, dict]]) -> None:
        per_chat: dict[str, list[dict]] = {}
        for chat_id, record in items:
            records = per_chat.setdefault(chat_id, [])
            if record.get("t") == "text" and records and records[-1].get("t") == "text":
                records[-1] = {"t": "text", "text": records[-1]["text"] + record["text"]}
            else:
                records.append(record)
        for chat_id, records in per_chat.items():
            try:
                data = "".join(self._line(r) for r in records).encode("utf-8")
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                fd = os.open(self.path(chat_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            except Exception:
                log.exception("could not save chat %s", chat_id)

    def _line(self, record: dict) -> str:
        """One record as a line: keys masked, text fit for UTF-8 (a lone surrogate half becomes U+FFFD)."""
        return self.redact(repaired(json.dumps(record, ensure_ascii=False))) + "\n"

    # -- reading (blocking: call from a worker thread) --------------------------------------

    def load(self, chat_id: str) -> SavedChat | None:
        try:
            with open(self.path(chat_id), "rb") as f:
                return parse(chat_id, f.read())
        except FileNotFoundError:
            return None
        except OSError as e:  # data_dir is a file, or cannot be read: the chat starts afresh
            log.warning("could not read chat %s: %s", chat_id, e)
            return None

    def list(self) -> list[dict]:
        """Saved chats, newest first: id, title (the first question), updated (epoch s)."""
        out = []
        try:
            names = os.listdir(self.directory)
        except OSError:  # none yet, or data_dir is not a folder
            return []
        for name in names:
            chat_id = name[:-6]
            if not name.endswith(".jsonl") or not valid_id(chat_id):
                continue
            path = os.path.join(self.directory, name)
            try:
                st = os.stat(path)
                with open(path, "rb") as f:
                    head = f.read(TITLE_BYTES)
            except OSError:
                continue
            out.append({"id": chat_id, "title": _title(head), "updated": st.st_mtime, "bytes": st.st_size})
        out.sort(key=lambda c: c["updated"], reverse=True)
        return out

    def latest(self, exclude: set | frozenset = frozenset()) -> str | None:
        chats = [c for c in self.list() if c["id"] not in exclude]
        return chats[0]["id"] if chats else None

    def delete(self, chat_id: str) -> bool:
        self.flush()
        try:
            os.remove(self.path(chat_id))
            return True
        except FileNotFoundError:
            return False


def _title(head: bytes) -> str:
    for line in head.split(b"\n"):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("t") == "user":
            text = " ".join(str(rec.get("text", "")).split())
            # A list is read on screen (shared, recorded): a secret in the first question is cut
            # off where it starts, before the title is cut to length.
            secret_at = min((offset for _, offset in privacy.findings(text)), default=None)
            if secret_at is not None:
                return (text[:min(secret_at, 60)].rstrip() + " [secret hidden]").lstrip()
            return text[:72] + ("…" if len(text) > 72 else "")
    return "(empty)"
