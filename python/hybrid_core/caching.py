"""Prompt caching for Anthropic models: mark the stable prefix with cache_control.

OpenRouter (and Anthropic-compatible gateways) read `cache_control` on a content part. The
prefix is the system prompt (pinned, the same every call) and the conversation before the
newest message (the same as last turn's prompt), so follow-up turns read it from the cache at
the cached rate. Other models cache on their own or not at all and get plain messages.
"""

from __future__ import annotations

import re

_ANTHROPIC = re.compile(r"claude|anthropic", re.IGNORECASE)
MAX_BREAKPOINTS = 2  # Anthropic allows 4; the system prompt and the history end are enough


def wants_cache_control(model: str) -> bool:
    return bool(_ANTHROPIC.search(model or ""))


def mark_cache(messages: list[dict], model: str) -> list[dict]:
    if not wants_cache_control(model) or not messages:
        return messages
    marks = []
    if messages[0].get("role") == "system":
        marks.append(0)
    if len(messages) >= 3:
        marks.append(len(messages) - 2)  # the end of the history before the newest message
    out = list(messages)
    for i in marks[:MAX_BREAKPOINTS]:
        text = out[i].get("content")
        if isinstance(text, str) and text:
            out[i] = {**out[i], "content": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}
    return out
