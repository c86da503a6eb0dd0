"""Step 6 of routing: ask the local backend's `router` model whether a request is routine.

It gets a small prompt and a hard time budget; whatever it says outside the two words, or
too late, is ignored and the rule steps decide instead.
"""

from __future__ import annotations

import asyncio
import logging
import re

from .backends import ChatRequest, answer_text
from .routing import Verdict

log = logging.getLogger("hybrid")

PROMPT = (
    "You route requests for a coding assistant. Answer with one word. "
    "LOCAL: routine work a small local model does well (refactoring, boilerplate, tests, formatting, "
    "summarizing, explaining short code, classification, simple fixes). "
    "CLOUD: hard work that needs a frontier model (complex or intermittent debugging, multi-file architecture, "
    "security review, unfamiliar frameworks, design trade-offs, research)."
)
MAX_WORDS = 2000  # characters of the request the router reads
_ANSWER = re.compile(r"\b(local|cloud)\b", re.IGNORECASE)


async def classify(backend, model: str, text: str, timeout: float) -> Verdict | None:
    """The router's verdict, or None when it is slow, fails or says something else."""
    messages = [{"role": "system", "content": PROMPT},
                {"role": "user", "content": f"Request:\n{text[:MAX_WORDS]}\n\nLOCAL or CLOUD?"}]

    def enough(said: str) -> bool:
        return bool(_ANSWER.search(said)) or len(said) > 40  # closing the stream stops the generation

    try:
        said = await asyncio.wait_for(answer_text(backend, ChatRequest(model=model, messages=messages), enough), timeout)
    except asyncio.TimeoutError:
        log.info("router model %s took longer than %.1f s; the rules decide", model, timeout)
        return None
    except Exception as e:  # a router failure must never fail the request
        log.info("router model %s failed (%s); the rules decide", model, e)
        return None
    m = _ANSWER.search(said)
    if not m:
        log.info("router model %s said %r; the rules decide", model, said[:40])
        return None
    side = m.group(1).lower()
    return Verdict(side, f"{model} judged it {'hard' if side == 'cloud' else 'routine'}")
