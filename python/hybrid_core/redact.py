"""Keeps API keys out of everything we write or show: logs, chat files, messages."""

from __future__ import annotations

import logging
import threading

MASK = "[redacted]"
MIN_SECRET = 6  # shorter "keys" would mask ordinary words


def mask(text: str, secret: str | None) -> str:
    """`text` with `secret` masked; too short a secret is left alone (it would mask words)."""
    if secret and len(secret) >= MIN_SECRET and secret in text:
        return text.replace(secret, MASK)
    return text


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


class RedactingFormatter(logging.Formatter):
    """Formats as usual (tracebacks included), then masks secrets in the result."""

    def __init__(self, fmt: str, redact: Redactor):
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))
