"""What :HybridStats shows: spend, tokens and speed per backend and model, and the savings.

Reads the ledger with its own connection (WAL lets it read while the writer writes). Run it
off the engine's loop (asyncio.to_thread): it is disk work.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time

from .ledger import connect, day_of

PERIODS = ("today", "month", "all")

_SUMS = """
SELECT backend, model, kind, COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(cached_tokens), 0),
       COALESCE(SUM(completion_tokens), 0), SUM(cost_usd), SUM(cost_usd IS NULL AND kind = 'cloud'),
       COALESCE(SUM(cloud_cost_usd), 0), SUM(estimated), SUM(status != 'complete')
FROM requests {where} GROUP BY backend, model, kind ORDER BY SUM(cost_usd) DESC, COUNT(*) DESC
"""


def usage_stats(path: str) -> dict:
    """{'today': period, 'month': period, 'all': period}; a period has rows and totals."""
    today = day_of(time.time())
    filters = {"today": ("WHERE day = ?", (today,)), "month": ("WHERE month = ?", (today[:7],)), "all": ("", ())}
    if not os.path.exists(path):
        return {p: _period([], {}) for p in PERIODS}
    conn = connect(path)
    try:
        speeds = _speeds(conn, today)
        return {p: _period(conn.execute(_SUMS.format(where=w), args).fetchall(), speeds[p]) for p, (w, args) in filters.items()}
    except sqlite3.Error as e:
        raise RuntimeError(f"usage ledger {path}: {e}") from None
    finally:
        conn.close()


def _speeds(conn, today: str) -> dict:
    """Median time to first token and tokens/s per (backend, model), per period."""
    found = {p: {} for p in PERIODS}
    rows = conn.execute("SELECT day, backend, model, ttft_ms, tokens_per_s FROM requests "
                        "WHERE status = 'complete' AND ttft_ms IS NOT NULL")
    for day, backend, model, ttft, tps in rows:
        periods = ("all", "month", "today") if day == today else ("all", "month") if day[:7] == today[:7] else ("all",)
        for p in periods:
            ttfts, rates = found[p].setdefault((backend, model), ([], []))
            ttfts.append(ttft)
            if tps:
                rates.append(tps)
    return {p: {k: (statistics.median(t), statistics.median(r) if r else None) for k, (t, r) in groups.items()}
            for p, groups in found.items()}


def _period(rows, speeds) -> dict:
    out = []
    for backend, model, kind, n, tin, cached, tout, cost, unpriced, cloud_cost, estimated, failed in rows:
        ttft, tps = speeds.get((backend, model), (None, None))
        out.append({"backend": backend, "model": model, "kind": kind, "requests": n, "tokens_in": tin,
                    "cached_tokens": cached, "tokens_out": tout, "cost_usd": cost or 0.0, "unpriced": unpriced or 0,
                    "would_cost_usd": cloud_cost if kind == "local" else None, "estimated": estimated or 0,
                    "failed": failed or 0, "ttft_ms_median": ttft, "tokens_per_s_median": tps})
    spent = sum(r["cost_usd"] for r in out)
    saved = sum(r["would_cost_usd"] or 0 for r in out)
    return {"rows": out, "requests": sum(r["requests"] for r in out), "cost_usd": spent, "saved_usd": saved,
            "saved_pct": (100 * saved / (spent + saved)) if spent + saved > 0 else None,
            "local_requests": sum(r["requests"] for r in out if r["kind"] == "local")}
