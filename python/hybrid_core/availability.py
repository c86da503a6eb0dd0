"""Which backends failed lately: a failed backend is skipped for a cooldown, then tried again."""

from __future__ import annotations

import time


class Availability:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.until: dict[str, float] = {}
        self.why: dict[str, str] = {}

    def failed(self, name: str, why: str, cooldown: float) -> None:
        self.until[name] = self.clock() + cooldown
        self.why[name] = why

    def ok(self, name: str) -> None:
        self.until.pop(name, None)
        self.why.pop(name, None)

    def down(self) -> dict[str, float]:
        """{name: seconds of cooldown left}; an expired cooldown means: probe it again."""
        now = self.clock()
        for name in [n for n, t in self.until.items() if t <= now]:
            self.ok(name)
        return {name: t - now for name, t in self.until.items()}
