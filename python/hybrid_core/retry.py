"""When a failed request is worth sending again, and how long to wait first.

Only failures before the first token are retried (the caller checks): a repeat after
text has arrived would show the user the same words twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .config.schema import RetrySection
from .errors import ConnectError, RateLimitError, ServerError

FIRST_BACKOFF = 0.25  # seconds; doubled each attempt, with jitter
FALLBACK_PATIENCE = 2.0  # longest wait for a retry when the other side could answer


def retryable(error: Exception) -> bool:
    """Connect failures, 5xx and 429: the next attempt may well succeed."""
    if isinstance(error, (ConnectError, RateLimitError)):
        return True
    return isinstance(error, ServerError) and (error.status or 0) >= 500


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = RetrySection.attempts  # in all, the first one included
    max_wait: float = RetrySection.max_wait  # longest single wait, Retry-After included

    def wait_before(self, attempt: int, error: Exception, patience: float | None = None) -> float | None:
        """Seconds to wait before attempt number `attempt + 1`; None: give up now.

        `patience` is set when another backend could answer instead: a longer wait than
        that gives up, so the fallback answers now rather than after the server's pause
        (0: no retry at all, for a backend that failed moments ago)."""
        limit = min(self.max_wait, patience) if patience is not None else self.max_wait
        if attempt >= self.attempts or not retryable(error) or limit <= 0:
            return None
        asked = getattr(error, "retry_after", None)
        if asked is not None:
            return asked if asked <= limit else None  # never sooner than the server asked
        backoff = FIRST_BACKOFF * 2 ** (attempt - 1)
        return min(limit, random.uniform(backoff * 0.5, backoff * 1.5))


def patience_for(cooling_down: bool, can_fall_back: bool) -> float | None:
    """The `patience` for a request's retries. With another side ready to answer: at most
    FALLBACK_PATIENCE, and no retry at all for a backend still cooling down from a failure
    (it gets one attempt, then the other side answers). With no other side (a fixed backend,
    sensitive text, the other side down too): the policy's own limits, cooldown or not, since
    giving up early would only end in an error."""
    if not can_fall_back:
        return None
    return 0.0 if cooling_down else FALLBACK_PATIENCE


def policy_from(section: RetrySection) -> RetryPolicy:
    """setup.yaml's `retry:` section, as the config holds it (`config.retry`)."""
    return RetryPolicy(attempts=section.attempts, max_wait=section.max_wait)
