"""Fitting a conversation into a model's context window before it is sent.

Kept: the system prompt (and a summary note, when there is one) and the newest turns that
fit; dropped: the oldest turns, whole (a user message with its answer). The newest user
message is always kept. Nothing is cut silently: the caller tells the user what was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tokens import message_tokens, messages_tokens

ANSWER_RESERVE = 1024  # tokens kept free for the answer
NUM_CTX_STEPS = (4096, 8192, 16384, 32768, 65536, 131072, 262144)


@dataclass
class Fitted:
    messages: list[dict]
    dropped: list[dict]   # the messages left out, oldest first
    tokens: int           # estimated prompt tokens of what is sent


def fit(messages: list[dict], window: int | None, summary: str | None = None) -> Fitted:
    """`messages` starts with the system prompt and ends with the newest user message."""
    if not window:
        return Fitted(messages, [], messages_tokens(messages))
    head = messages[:1] if messages and messages[0].get("role") == "system" else []
    body = messages[len(head):]
    budget = window - min(ANSWER_RESERVE, window // 4) - messages_tokens(head)
    if messages_tokens(body) <= budget:
        return Fitted(messages, [], messages_tokens(messages))
    # Whole turns from the newest back: a turn starts at a user message.
    kept_from = len(body) - 1
    while kept_from > 0 and body[kept_from].get("role") != "user":
        kept_from -= 1
    used = messages_tokens(body[kept_from:])
    start = kept_from
    i = kept_from - 1
    while i >= 0:
        j = i
        while j > 0 and body[j].get("role") != "user":
            j -= 1
        turn = sum(message_tokens(m) for m in body[j:i + 1])
        if used + turn > budget:
            break
        used += turn
        start = j
        i = j - 1
    dropped, kept = body[:start], body[start:]
    if summary and dropped:
        note = {"role": "system", "content": f"Summary of the earlier conversation, left out to save space: {summary}"}
        head = head + [note]
    sent = head + kept
    return Fitted(sent, dropped, messages_tokens(sent))


def ollama_num_ctx(prompt_tokens: int, window: int | None) -> int:
    """A num_ctx that holds the prompt and an answer. It moves in a few fixed steps: Ollama
    reloads the model whenever num_ctx changes, so it must not change with every message."""
    need = prompt_tokens + ANSWER_RESERVE
    for step in NUM_CTX_STEPS:
        if step >= need:
            return min(step, window) if window else step
    return window or NUM_CTX_STEPS[-1]
