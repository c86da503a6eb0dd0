"""The log file in data_dir: rotated and bounded; full tracebacks go here, not to the user."""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler

from .redact import RedactingFormatter, Redactor

log = logging.getLogger("hybrid")


def setup_logging(data_dir: str | None, redact: Redactor | None = None) -> str | None:
    """Log to <data_dir>/hybrid.log (1 MB x 3), API keys masked. Returns the path, or None
    when not writable."""
    log.setLevel(logging.INFO)
    log.propagate = False
    if not data_dir:
        return None
    path = os.path.join(data_dir, "hybrid.log")
    try:
        os.makedirs(data_dir, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8",
                                      errors="backslashreplace")
    except OSError:
        return None
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(message)s", redact or Redactor()))
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    log.addHandler(handler)
    return path
