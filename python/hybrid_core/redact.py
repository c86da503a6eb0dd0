"""Keeps API keys out of everything we write or show: logs, chat files, messages, answers.

Not only the whole key: any run of MIN_RUN or more of its characters is masked, so a key cut
by someone's truncation (a server's, or ours) or split across two streamed pieces never
shows in part.
"""

from __future__ import annotations

import logging
import threading

MASK = "[redacted]"
MIN_SECRET = 6  # shorter "keys" would mask ordinary words
MIN_RUN = 8  # this many characters of a key in a row are masked wherever they stand
BLOCK = MIN_RUN // 2  # every run of MIN_RUN holds one of the key's BLOCK-aligned blocks whole


def _runs(text: str, secret: str) -> list[tuple[int, int]]:
    """Spans of `text` that are runs of MIN_RUN or more characters of `secret`.

    A run of 8 covers one of the key's aligned 4-character blocks, so only the places where a
    block occurs are looked at (str.find, fast) and grown left and right from there."""
    spans = []
    for start in range(0, len(secret) - BLOCK + 1, BLOCK):
        block = secret[start:start + BLOCK]
        at = text.find(block)
        while at >= 0:
            left = 0
            while left < start and at - left > 0 and text[at - left - 1] == secret[start - left - 1]:
                left += 1
            right = start + BLOCK
            end = at + BLOCK
            while right < len(secret) and end < len(text) and text[end] == secret[right]:
                right += 1
                end += 1
            if end - (at - left) >= MIN_RUN:
                spans.append((at - left, end))
            at = text.find(block, at + 1)
    return spans


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    spans.sort()
    out, pos = [], 0
    for start, end in spans:
        if end <= pos:
            continue
        if start > pos:
            out.append(text[pos:start])
            out.append(MASK)
        elif not out or out[-1] != MASK:
            out.append(MASK)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask(text: str, secret: str | None) -> str:
    """`text` with `secret`, and every run of MIN_RUN of its characters, masked; too short a
    secret is left alone (it would mask words)."""
    if not secret or len(secret) < MIN_SECRET:
        return text
    if len(secret) < MIN_RUN:
        return text.replace(secret, MASK)
    spans = _runs(text, secret)
    return _masked(text, spans) if spans else text


def clipped(text: str, limit: int, secret: str | None) -> str:
    """The first `limit` characters of `text`, masked before the cut so no part of a key is left
    at the edge."""
    return mask(text[:limit + 4096], secret)[:limit]


def _in_any(piece: str, secrets) -> bool:
    return any(piece in s for s in secrets)


class Redactor:
    """Replaces every secret it has been told about; callable on any text."""

    def __init__(self) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET and secret not in self._secrets:
            with self._lock:
                self._secrets = self._secrets | {secret}

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = mask(text, secret)
        return text

    def stream(self) -> StreamMask:
        """A masker for text that arrives in pieces (a streamed answer)."""
        return StreamMask(self)

    def tail_to_hold(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a key that the next piece
        finishes: the longest suffix that occurs in a key (any shorter suffix then does too, so
        it is found by halving)."""
        secrets = self._secrets
        if not secrets or not text:
            return 0
        low, high = 0, min(len(text), max(map(len, secrets)))
        while low < high:
            mid = (low + high + 1) // 2
            if _in_any(text[-mid:], secrets):
                low = mid
            else:
                high = mid - 1
        return low


class StreamMask:
    """Masks keys in text that comes in pieces: a key split across two pieces is still masked,
    because the end of a piece that could begin one is held back until the next piece (or the end)."""

    def __init__(self, redact: Redactor):
        self.redact = redact
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        hold = self.redact.tail_to_hold(text)
        self._held = text[len(text) - hold:] if hold else ""
        return self.redact(text[:len(text) - hold])

    def flush(self) -> str:
        """The end of the stream: what was held back, masked."""
        text, self._held = self._held, ""
        return self.redact(text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual (tracebacks included), then masks secrets in the result."""

    def __init__(self, fmt: str, redact: Redactor):
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))
