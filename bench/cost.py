"""Cost bookkeeping: recording a request, statusline(), and :HybridStats on 100,000 rows.

- record: Accountant.record() (pricing, the row, the queue put) as the engine calls it at the
  end of every request; baseline: a bare queue.Queue.put of the same row. Goal: median < 1 ms.
- statusline(): 10,000 calls inside Neovim; baseline: 10,000 calls of an empty Lua function.
  Goal: under 50 µs a call.
- :HybridStats: from the command to the buffer shown, on a ledger of 100,000 rows; baseline:
  a raw `SELECT *` of the same rows with sqlite3 in Python. Goal: under 200 ms.
"""

from __future__ import annotations

import queue
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "python")]

from hybrid_core.accounting import Accountant, Outcome  # noqa: E402
from hybrid_core.config import parse_config  # noqa: E402
from hybrid_core.ledger import SCHEMA, Ledger, Row, _insert  # noqa: E402
from hybrid_core.routing import Router  # noqa: E402
from nvim_harness import Editor  # noqa: E402

ROWS = 100_000
CONFIG = """
backend:
  ollama: {type: ollama, base_url: 'http://127.0.0.1:9', default_model: qwen}
  groq: {type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: gpt-4o-mini}
"""


def result(name, stat, values, baseline, base_values, goal, met):
    value, base = stat(values), stat(base_values)
    return {"name": name, "stat": stat.__name__ if stat is not statistics.median else "median", "value_ms": value,
            "min_ms": min(values), "max_ms": max(values), "baseline": baseline, "baseline_ms": base,
            "ratio": value / base if base else float("nan"), "goal": goal, "met": met(value)}


def bench_record(tmp: Path) -> dict:
    config = parse_config(CONFIG, str(tmp / "setup.yaml"))
    ledger = Ledger(str(tmp / "record.sqlite3"))
    accountant = Accountant(ledger, lambda level, msg: None)
    accountant.configure(config, Router(config))
    sent = [{"role": "system", "content": "s" * 300}, {"role": "user", "content": "u" * 2000}]
    outcome = Outcome("complete", 700, 300, 0, None, 0.2, 1.5, sent, "a" * 1200)
    times, raw = [], []
    q = queue.Queue()
    for i in range(2000):
        cfg = config.backends["groq" if i % 2 else "ollama"]
        t = time.perf_counter()
        accountant.record(cfg, cfg.default_model, "query", "routine question", outcome)
        times.append((time.perf_counter() - t) * 1000)
        row = Row(backend="b", model="m", kind="cloud", role="query", reason="r", status="complete")
        t = time.perf_counter()
        q.put(row)
        raw.append((time.perf_counter() - t) * 1000)
    ledger.close()
    return result("record a request", statistics.median, times, "queue.put", raw, "median < 1 ms", lambda v: v < 1)


def fill_ledger(path: str) -> None:
    """100,000 requests over 90 days, written the way the ledger writes them (rows and rollups)."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    rnd = random.Random(1)
    now = time.time()
    with conn:
        for _ in range(ROWS):
            local = rnd.random() < 0.7
            _insert(conn, Row(
                ts=now - rnd.random() * 90 * 86400, backend="ollama" if local else "groq",
                model="qwen" if local else "gpt-4o-mini", kind="local" if local else "cloud", role="query",
                reason="routine question", status="complete", prompt_tokens=rnd.randint(100, 5000),
                completion_tokens=rnd.randint(50, 1500), ttft_ms=rnd.uniform(50, 900), duration_ms=rnd.uniform(500, 9000),
                tokens_per_s=rnd.uniform(10, 120), cost_usd=0.0 if local else rnd.uniform(0, 0.01),
                cloud_cost_usd=rnd.uniform(0, 0.01) if local else None))
    conn.close()


STATS_TIMED = """
_G.stats_shown = nil
local t = vim.uv.hrtime()
local id = vim.api.nvim_create_autocmd('BufWinEnter', { pattern = 'hybrid://stats', once = true,
  callback = function() _G.stats_shown = (vim.uv.hrtime() - t) / 1e6 end })
vim.cmd('HybridStats')
"""

STATUSLINE = """
local hybrid = require('hybrid')
local n = 10000
local t = vim.uv.hrtime()
for _ = 1, n do hybrid.statusline() end
local per = (vim.uv.hrtime() - t) / n / 1e6
local empty = function() return '' end
t = vim.uv.hrtime()
for _ = 1, n do empty() end
return { per, (vim.uv.hrtime() - t) / n / 1e6 }
"""


def bench_editor(tmp: Path) -> list[dict]:
    data = tmp / "data"
    data.mkdir()
    fill_ledger(str(data / "usage.sqlite3"))
    (tmp / "setup.yaml").write_text(CONFIG)
    ed = Editor(tmp, str(tmp / "setup.yaml"))
    try:
        ed.lua("require('hybrid.host').ensure()")
        ed.wait(lambda: ed.lua("return require('hybrid.state').current ~= nil"), timeout=30, what="the host")
        shown, raw = [], []
        for _ in range(5):
            ed.lua("for _, b in ipairs(vim.api.nvim_list_bufs()) do if vim.api.nvim_buf_get_name(b) == 'hybrid://stats' "
                   "then vim.api.nvim_buf_delete(b, { force = true }) end end")
            ed.lua(STATS_TIMED)
            shown.append(ed.wait(lambda: ed.lua("return _G.stats_shown"), timeout=30, what=":HybridStats"))
            t = time.perf_counter()
            conn = sqlite3.connect(str(data / "usage.sqlite3"))
            conn.execute("SELECT * FROM requests").fetchall()
            conn.close()
            raw.append((time.perf_counter() - t) * 1000)
        per_call, per_empty = [], []
        for _ in range(5):
            a, b = ed.lua(STATUSLINE)
            per_call.append(a)
            per_empty.append(b)
    finally:
        ed.close()
    return [
        result("statusline()", statistics.median, per_call, "empty Lua function", per_empty, "< 50 µs a call",
               lambda v: v < 0.05),
        result(":HybridStats (100,000 rows)", statistics.median, shown, "raw SELECT * in Python", raw, "< 200 ms",
               lambda v: v < 200),
    ]


def main() -> list[dict]:
    tmp = Path(tempfile.mkdtemp())
    results = [bench_record(tmp)] + bench_editor(tmp)
    for r in results:
        print(f"{r['name']}: {r['stat']} {r['value_ms']:.4f} ms (min {r['min_ms']:.4f}, max {r['max_ms']:.4f}); "
              f"{r['baseline']} {r['baseline_ms']:.4f} ms; ratio {r['ratio']:.1f}x; goal {r['goal']}: "
              f"{'met' if r['met'] else 'NOT met'}")
    return results


if __name__ == "__main__":
    main()
