"""What :HybridStats shows: spend, tokens and speed per backend and model, the savings, and
tokens and spend per day for the last two weeks, local against cloud.

Reads the ledger with its own connection (WAL lets it read while the writer writes). Run it
off the engine's loop (asyncio.to_thread): it is disk work.
"""

from __future__ import annotations

import os
import sqlite3
import time

from .errors import HybridError
from .ledger import bucket_value, connect, day_of

PERIODS = ("today", "month", "all")
CHART_DAYS = 14

_SUMS = """
SELECT backend, model, kind, SUM(requests), SUM(prompt_tokens), SUM(cached_tokens), SUM(completion_tokens),
       SUM(cost_usd), SUM(unpriced), SUM(cloud_cost_usd), SUM(estimated), SUM(failed)
FROM daily {where} GROUP BY backend, model, kind ORDER BY SUM(cost_usd) DESC, SUM(requests) DESC
"""
_DAYS = """
SELECT day, kind, SUM(prompt_tokens) + SUM(completion_tokens), SUM(cost_usd), SUM(requests)
FROM daily WHERE day >= ? GROUP BY day, kind
"""
_SPEEDS = "SELECT backend, model, metric, bucket, SUM(n) FROM daily_speed {where} GROUP BY backend, model, metric, bucket"


def usage_stats(path: str) -> dict:
    """{'today': period, 'month': period, 'all': period, 'days': [...]}; a period has rows and totals,
    a day its local and cloud tokens and the cloud spend.
    Read from the daily rollups, so the cost does not grow with the number of requests."""
    today = day_of(time.time())
    filters = {"today": ("WHERE day = ?", (today,)), "month": ("WHERE month = ?", (today[:7],)), "all": ("", ())}
    if not os.path.exists(path):
        return {**{p: _period([], {}) for p in PERIODS}, "days": _days([])}
    conn = connect(path)
    try:
        out = {}
        for period, (where, args) in filters.items():
            speeds = _medians(conn.execute(_SPEEDS.format(where=where), args).fetchall())
            out[period] = _period(conn.execute(_SUMS.format(where=where), args).fetchall(), speeds)
        out["days"] = _days(conn.execute(_DAYS, (_chart_days()[0],)).fetchall())
        return out
    except sqlite3.Error as e:
        raise HybridError(f"usage ledger {path}: {e}") from None
    finally:
        conn.close()


def _chart_days() -> list[str]:
    """The last CHART_DAYS local dates, oldest first, today last (noon steps dodge DST changes)."""
    now = time.localtime()
    noon = time.mktime((now.tm_year, now.tm_mon, now.tm_mday, 12, 0, 0, 0, 0, -1))
    return [day_of(noon - 86400 * back) for back in range(CHART_DAYS - 1, -1, -1)]


def _days(rows) -> list[dict]:
    """One entry a day, days without requests included, for the bar chart."""
    days = {d: {"day": d, "local_tokens": 0, "cloud_tokens": 0, "cloud_usd": 0.0, "local_requests": 0,
                "cloud_requests": 0} for d in _chart_days()}
    for day, kind, tokens, cost, requests in rows:
        if day in days and kind in ("local", "cloud"):
            days[day][f"{kind}_tokens"] += tokens or 0
            days[day][f"{kind}_requests"] += requests or 0
            if kind == "cloud":
                days[day]["cloud_usd"] += cost or 0.0
    return list(days.values())


def _medians(rows) -> dict:
    """{(backend, model): (median ttft_ms, median tokens/s)} from the histograms."""
    hist: dict = {}
    for backend, model, metric, bucket, n in rows:
        hist.setdefault((backend, model), {}).setdefault(metric, []).append((bucket, n))
    out = {}
    for key, metrics in hist.items():
        out[key] = tuple(_median(metrics.get(m)) for m in ("ttft_ms", "tokens_per_s"))
    return out


def _median(buckets) -> float | None:
    if not buckets:
        return None
    buckets.sort()
    half = sum(n for _, n in buckets) / 2
    seen = 0
    for bucket, n in buckets:
        seen += n
        if seen >= half:
            return round(bucket_value(bucket), 1)
    return None


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
            "local_requests": sum(r["requests"] for r in out if r["kind"] == "local"),
            "local_answers": sum(r["requests"] - r["failed"] for r in out if r["kind"] == "local")}
