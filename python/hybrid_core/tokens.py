"""Token estimates for when a server reports none, and for fitting a prompt before sending.

One rule everywhere: about 3.5 characters a token (English prose runs nearer 4, code nearer 3),
so an estimate errs toward "bigger" and a fitted prompt leaves room rather than overflows.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 3.5
MESSAGE_OVERHEAD = 4  # role markers and separators per message


def estimate_tokens(chars: int) -> int:
    return int(chars / CHARS_PER_TOKEN) + (1 if chars else 0)


def message_tokens(message: dict) -> int:
    return estimate_tokens(len(content_text(message.get("content")))) + MESSAGE_OVERHEAD


def messages_tokens(messages: list[dict]) -> int:
    return sum(message_tokens(m) for m in messages)


def content_text(content) -> str:
    """A message's text, whether content is a string or a list of parts (cache markers)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
