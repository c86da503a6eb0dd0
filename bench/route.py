"""Routing cost: the whole decision (privacy scan included) for a 100 KB prompt, and the
privacy scan of a 1 MB buffer.

Baseline, in the same run: one regex search (the AWS key pattern) over the same text, i.e.
the cheapest scan that could still find one kind of secret. Goals: decision p99 under 2 ms;
1 MB scan under 50 ms.
"""

from __future__ import annotations

import random
import re
import statistics
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from hybrid_core.config import parse_config  # noqa: E402
from hybrid_core.privacy import PrivacyRules  # noqa: E402
from hybrid_core.routing import Router, RouteRequest  # noqa: E402

CONFIG = """
defaults: {backend: auto}
backend:
  ollama: {type: ollama, base_url: 'http://127.0.0.1:11434', default_model: m, context_window: 65536}
  groq: {type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: g}
routing:
  rules:
    - {words: [terraform, kubernetes], to: cloud}
    - {regex: 'internal-api-\\w+', to: local}
"""
DECISION_RUNS = 500
SCAN_RUNS = 15


def code_like(size: int, seed: int) -> str:
    """Source-code-ish text with no secret in it (the worst case: every pattern scans it all)."""
    rnd = random.Random(seed)
    words = ["def", "return", "self", "value", "import", "async", "await", "for", "in", "if", "else", "None", "True",
             "task-list", "sk", "gh", "AKIA", "BEGIN", "xox", "=", "(", ")", ":", "{", "}", "#", "//", "\n", "    "]
    out, n = [], 0
    while n < size:
        w = rnd.choice(words) if rnd.random() < 0.7 else "".join(rnd.choice(string.ascii_letters) for _ in range(6))
        out.append(w + " ")
        n += len(w) + 1
    return "".join(out)[:size]


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def main() -> list[dict]:
    router = Router(parse_config(CONFIG, "/tmp/setup.yaml"))


    baseline_rx = re.compile(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}")
    prompt = "please rename the helper and keep the behaviour\n```python\n" + code_like(100_000, 1) + "\n```"
    req = RouteRequest(text=prompt, command="chat", prompt_chars=len(prompt))
    for _ in range(20):
        router.decide(req)  # warm up
    decision = timed(lambda: router.decide(req), DECISION_RUNS)
    decision_base = timed(lambda: baseline_rx.search(prompt), DECISION_RUNS)

    rules = PrivacyRules()
    buffer = code_like(1_000_000, 2)
    scan = timed(lambda: rules.check_text(buffer), SCAN_RUNS)
    scan_base = timed(lambda: baseline_rx.search(buffer), SCAN_RUNS)

    d99, b99 = p99(decision), p99(decision_base)
    s50, sb50 = statistics.median(scan), statistics.median(scan_base)
    results = [
        {"name": "route decision (100 KB prompt)", "stat": "p99", "value_ms": d99, "min_ms": min(decision),
         "max_ms": max(decision), "baseline": "one regex search", "baseline_ms": b99, "ratio": d99 / b99,
         "goal": "p99 < 2 ms", "met": d99 < 2},
        {"name": "privacy scan (1 MB buffer)", "stat": "median", "value_ms": s50, "min_ms": min(scan),
         "max_ms": max(scan), "baseline": "one regex search", "baseline_ms": sb50, "ratio": s50 / sb50,
         "goal": "< 50 ms", "met": max(scan) < 50},
    ]
    for r in results:
        print(f"{r['name']}: {r['stat']} {r['value_ms']:.2f} ms (min {r['min_ms']:.2f}, max {r['max_ms']:.2f}); "
              f"{r['baseline']} {r['baseline_ms']:.2f} ms; ratio {r['ratio']:.1f}x; goal {r['goal']}: "
              f"{'met' if r['met'] else 'NOT met'}")
    return results


if __name__ == "__main__":
    main()
