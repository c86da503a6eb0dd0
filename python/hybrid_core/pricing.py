"""What a request cost: rates from setup.yaml, else a shipped table; local backends cost 0.

Rates are USD per million tokens: input, cached_input, output. Cost = uncached input x input
+ cached x cached_input + output x output. A server's own figure (OpenRouter's usage.cost) wins.
"""

from __future__ import annotations

from dataclasses import dataclass

# Published list prices, as the providers' pricing pages gave them in October 2025. Prices
# change: override any of them with backend.NAME.pricing in setup.yaml.
DEFAULT_PRICES_DATE = "2025-10"
DEFAULT_PRICES = {
    # OpenAI
    "gpt-5": (1.25, 0.125, 10.00), "gpt-5-mini": (0.25, 0.025, 2.00), "gpt-5-nano": (0.05, 0.005, 0.40),
    "gpt-4.1": (2.00, 0.50, 8.00), "gpt-4.1-mini": (0.40, 0.10, 1.60), "gpt-4.1-nano": (0.10, 0.025, 0.40),
    "gpt-4o": (2.50, 1.25, 10.00), "gpt-4o-mini": (0.15, 0.075, 0.60),
    "o3": (2.00, 0.50, 8.00), "o4-mini": (1.10, 0.275, 4.40),
    # Anthropic (cached = cache reads)
    "claude-opus-4": (15.00, 1.50, 75.00), "claude-opus-4.1": (15.00, 1.50, 75.00),
    "claude-opus-4-1": (15.00, 1.50, 75.00),
    "claude-sonnet-4": (3.00, 0.30, 15.00), "claude-sonnet-4.5": (3.00, 0.30, 15.00),
    "claude-sonnet-4-5": (3.00, 0.30, 15.00), "claude-3-7-sonnet": (3.00, 0.30, 15.00),
    "claude-haiku-4.5": (1.00, 0.10, 5.00), "claude-haiku-4-5": (1.00, 0.10, 5.00),
    "claude-3-5-haiku": (0.80, 0.08, 4.00),
    # Google
    "gemini-2.5-pro": (1.25, 0.31, 10.00), "gemini-2.5-flash": (0.30, 0.075, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.025, 0.40),
    # Groq-hosted open models
    "llama-3.3-70b-versatile": (0.59, 0.59, 0.79), "llama-3.1-8b-instant": (0.05, 0.05, 0.08),
    "gpt-oss-120b": (0.15, 0.15, 0.75), "gpt-oss-20b": (0.10, 0.10, 0.50),
    # DeepSeek, Mistral
    "deepseek-chat": (0.28, 0.028, 0.42), "deepseek-reasoner": (0.28, 0.028, 0.42),
    "mistral-large-latest": (2.00, 2.00, 6.00), "codestral-latest": (0.30, 0.30, 0.90),
}


@dataclass(frozen=True)
class Rates:
    input: float
    output: float
    cached_input: float
    source: str  # "setup.yaml" or "built-in table (2025-10)"


def rates_for(backend_cfg, model: str) -> Rates | None:
    """The rates for `model` on this backend, or None when nobody knows them."""
    table = backend_cfg.pricing or {}
    mine = table.get(model) or table.get("*")
    if mine:
        inp = float(mine.get("input", 0))
        return Rates(inp, float(mine.get("output", 0)), float(mine.get("cached_input", inp)), "setup.yaml")
    key = _table_key(model)
    if key is None:
        return None
    inp, cached, out = DEFAULT_PRICES[key]
    return Rates(inp, out, cached, f"built-in table ({DEFAULT_PRICES_DATE})")


def _table_key(model: str) -> str | None:
    # "openai/gpt-4o-mini", "claude-sonnet-4-20250514", "gpt-oss-120b-128k": the provider prefix
    # goes, and the longest table name the rest starts with wins.
    name = model.rsplit("/", 1)[-1].lower()
    best = None
    for key in DEFAULT_PRICES:
        if name.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return best


def cost_usd(prompt: int, cached: int, completion: int, rates: Rates) -> float:
    uncached = max(prompt - cached, 0)
    return (uncached * rates.input + cached * rates.cached_input + completion * rates.output) / 1_000_000
