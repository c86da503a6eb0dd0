"""Costs and budgets: turns a finished request into a ledger row, and says when spend nears
or passes the budget. Notices go through `notify`; nothing here touches the network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .config.schema import BudgetSection
from .ledger import Ledger, Row
from .pricing import cost_usd, rates_for
from .tokens import estimate_tokens, messages_tokens

WARN_AT = 0.8


def usd(amount: float) -> str:
    """Dollars as people read them ($0.05); an amount under a cent keeps its digits ($0.001),
    so a small limit never reads as $0.00."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:.2f}"
    return f"${amount:.2g}"


@dataclass
class Outcome:
    """What one streamed request did, as the engine saw it."""
    status: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    server_cost: float | None
    ttft_s: float | None
    duration_s: float
    sent: list[dict]
    answer: str


class Accountant:
    def __init__(self, ledger: Ledger | None, notify):
        self.ledger = ledger
        self.notify = notify
        self.config = None
        self.router = None
        self._warned: set = set()

    def configure(self, config, router) -> None:
        self.config, self.router = config, router

    # -- recording ------------------------------------------------------------------

    def record(self, backend_cfg, model: str, role: str, reason: str, o: Outcome) -> Row:
        reached = o.ttft_s is not None or o.prompt_tokens is not None
        estimated = False
        prompt, completion = o.prompt_tokens, o.completion_tokens
        if prompt is None:
            prompt, estimated = (messages_tokens(o.sent) if reached else 0), estimated or reached
        if completion is None:
            completion = estimate_tokens(len(o.answer))
            estimated = estimated or bool(o.answer)
        cached = o.cached_tokens or 0
        cost = self._cost(backend_cfg, model, prompt, cached, completion, o.server_cost)
        gen_s = o.duration_s - (o.ttft_s or 0)
        row = Row(
            backend=backend_cfg.name, model=model, kind=backend_cfg.kind, role=role, reason=reason, status=o.status,
            prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion, estimated=estimated,
            ttft_ms=round(o.ttft_s * 1000, 1) if o.ttft_s is not None else None,
            duration_ms=round(o.duration_s * 1000, 1),
            tokens_per_s=round(completion / gen_s, 1) if completion and gen_s > 0.001 and o.ttft_s is not None else None,
            cost_usd=cost,
            cloud_cost_usd=self._cloud_equivalent(role, prompt, completion) if backend_cfg.local else None,
        )
        if self.ledger is not None:
            self.ledger.record(row)
        self.check_budget()
        return row

    def _cost(self, backend_cfg, model, prompt, cached, completion, server_cost) -> float | None:
        if backend_cfg.local:
            return 0.0
        if server_cost is not None:
            return float(server_cost)  # OpenRouter says what it charged
        rates = rates_for(backend_cfg, model)
        if rates is None:
            return None  # the ledger counts it unpriced; :HybridStats and checkhealth name the model
        return cost_usd(prompt, cached, completion, rates)

    def _cloud_equivalent(self, role: str, prompt: int, completion: int) -> float | None:
        """What the cloud side would have charged for a local answer: the savings."""
        cloud = self.config.backends.get(self.router.cloud) if self.router and self.router.cloud else None
        if cloud is None or cloud.local:
            return None
        rates = rates_for(cloud, cloud.model_for(role))
        return cost_usd(prompt, 0, completion, rates) if rates else None

    # -- budgets ----------------------------------------------------------------------

    def limits(self) -> dict:
        budget = self.config.budget if self.config else BudgetSection()
        return {"daily": budget.daily_usd, "monthly": budget.monthly_usd, "on_limit": budget.on_limit}

    def spend_state(self) -> dict:
        """Spend so far and the limits, for the editor's state and :HybridStats."""
        today, month = self.spend()
        limits = self.limits()
        state = {"today_usd": round(today, 6), "month_usd": round(month, 6), "daily_usd": limits["daily"],
                 "monthly_usd": limits["monthly"]}
        return {k: v for k, v in state.items() if v is not None}

    def spend(self) -> tuple[float, float]:
        return self.ledger.spend() if self.ledger is not None else (0.0, 0.0)

    def over_budget(self) -> str | None:
        """Why no more money should be spent, or None."""
        today, month = self.spend()
        lim = self.limits()
        if lim["daily"] is not None and today >= lim["daily"]:
            return f"daily budget spent ({usd(today)} of {usd(lim['daily'])})"
        if lim["monthly"] is not None and month >= lim["monthly"]:
            return f"monthly budget spent ({usd(month)} of {usd(lim['monthly'])})"
        return None

    def check_budget(self) -> None:
        """Warn once per day (month) when spend passes 80% of the limit, and once at 100%."""
        today, month = self.spend()
        lim = self.limits()
        day = time.strftime("%Y-%m-%d")
        for name, spent, limit, period in (("daily", today, lim["daily"], day), ("monthly", month, lim["monthly"], day[:7])):
            level = None if not limit else "full" if spent >= limit else "near" if spent >= limit * WARN_AT else None
            if level is None or (name, period, level) in self._warned:
                continue
            self._warned.update({(name, period, level), (name, period, "near")})  # past 100%, 80% goes unsaid
            if level == "full":
                self.notify("warn", f"{name} budget reached: {usd(spent)} of {usd(limit)}; auto mode "
                                    f"now stays local (budget.{name}_usd)")
            else:
                self.notify("warn", f"{name} budget at {100 * spent / limit:.0f}%: {usd(spent)} of {usd(limit)}")
