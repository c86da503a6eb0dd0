"""The router learns from its user: each time they overrule where a request went, the request
is kept with the side they chose, and similar requests then go that way.

Corrections are `@cloud` / `@local` in auto mode, `:HybridRetry <backend>` on the other side, and
a switch to a backend (or preset) of the other side right after an auto-routed answer.
They live in data_dir/corrections.jsonl (the request's words only: a sensitive request is never
kept, and privacy is decided before this is read). Similar means the cosine of the
classifier's hashed features, so a paraphrase matches and an unrelated request does not.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time

from .classifier.features import hashed, words_and_code

log = logging.getLogger("hybrid")

SIMILAR = 0.5       # cosine above which two requests count as the same kind of request
KEPT = 500          # the newest corrections kept
TEXT_CHARS = 2000
SWITCH_WINDOW = 120.0  # seconds after an answer in which switching side counts as overruling it


def _vector(text: str) -> dict[int, float]:
    words, code_lines = words_and_code(text)
    return hashed(words, code_lines)


def _cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


class Corrections:
    def __init__(self, path: str | None):
        self.path = path
        self.items: list[dict] = []
        self._vectors: list[dict[int, float]] = []
        self._lock = threading.Lock()

    def load(self) -> None:
        """Read the file (call off the editor's loop)."""
        if not self.path or not os.path.exists(self.path):
            return
        items = []
        try:
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    try:
                        item = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a crash
                    if isinstance(item, dict) and item.get("side") in ("local", "cloud") and isinstance(item.get("text"), str):
                        items.append(item)
        except OSError as e:
            log.warning("corrections: cannot read %s: %s", self.path, e)
        with self._lock:
            self.items = items[-KEPT:]
            self._vectors = [_vector(i["text"]) for i in self.items]

    def record(self, text: str, side: str, how: str) -> None:
        """Keep one correction (call off the editor's loop: it appends to the file)."""
        item = {"text": text[:TEXT_CHARS], "side": side, "how": how, "at": round(time.time())}
        with self._lock:
            self.items.append(item)
            self._vectors.append(_vector(item["text"]))
            if len(self.items) > KEPT:
                del self.items[0], self._vectors[0]
        if not self.path:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(item) + "\n")
        except OSError as e:
            log.warning("corrections: cannot save to %s: %s", self.path, e)

    def match(self, text: str) -> tuple[str, int] | None:
        """(side, how many similar requests were sent there), when the user's corrections agree."""
        with self._lock:
            if not self.items:
                return None
            vec = _vector(text)
            votes = {"local": 0, "cloud": 0}
            for item, other in zip(self.items, self._vectors, strict=True):
                if _cosine(vec, other) >= SIMILAR:
                    votes[item["side"]] += 1
        side = max(votes, key=votes.get)
        if votes[side] == 0 or votes[side] == votes["cloud" if side == "local" else "local"]:
            return None
        return side, votes[side]

    def listing(self) -> list[dict]:
        with self._lock:
            return [dict(i) for i in self.items]

    def forget(self) -> int:
        with self._lock:
            n = len(self.items)
            self.items, self._vectors = [], []
        if self.path and os.path.exists(self.path):
            os.remove(self.path)
        return n


class LastAnswer:
    """The last request auto routing answered, so a switch of side right after it is a correction."""

    def __init__(self, window: float = SWITCH_WINDOW):
        self.window = window
        self._last: tuple[str, str, float] | None = None

    def answered(self, text: str, side: str | None, ok: bool) -> None:
        """An auto-routed answer ended; `ok` is False for a sensitive chat (never learned)."""
        self._last = (text, side, time.monotonic()) if ok and side in ("local", "cloud") and text.strip() else None

    def forget(self) -> None:
        self._last = None

    def switched_to(self, side: str) -> tuple[str, str] | None:
        """(text, new side) when switching to `side` overrules the last answer; counted once."""
        last, self._last = self._last, None
        if last is None or last[1] == side or time.monotonic() - last[2] > self.window:
            return None
        return last[0], side
