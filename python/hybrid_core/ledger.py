"""The usage ledger: one SQLite row per request, in data_dir/usage.sqlite3.

Beside the rows, daily rollups per backend and model (sums, and histograms of time to first
token and tokens/s) are kept in the same transaction, so :HybridStats reads a few hundred
rollup rows instead of every request.

WAL mode and one transaction per row: a crash loses at most the row being written, never
earlier ones. A single writer thread owns the connection, so recording is a queue put for
the caller (never a disk wait on the engine's loop or the editor's). Today's and this
month's spend are kept in memory for budgets and the statusline.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass

log = logging.getLogger("hybrid")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    day TEXT NOT NULL,
    month TEXT NOT NULL,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT,
    reason TEXT,
    status TEXT NOT NULL,
    prompt_tokens INTEGER,
    cached_tokens INTEGER,
    completion_tokens INTEGER,
    estimated INTEGER NOT NULL DEFAULT 0,
    ttft_ms REAL,
    duration_ms REAL,
    tokens_per_s REAL,
    cost_usd REAL,
    cloud_cost_usd REAL
);
CREATE INDEX IF NOT EXISTS requests_day ON requests(day);
CREATE TABLE IF NOT EXISTS daily (
    day TEXT NOT NULL, month TEXT NOT NULL, backend TEXT NOT NULL, model TEXT NOT NULL, kind TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0, unpriced INTEGER NOT NULL DEFAULT 0, cloud_cost_usd REAL NOT NULL DEFAULT 0,
    estimated INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, backend, model, kind)
);
CREATE TABLE IF NOT EXISTS daily_speed (
    day TEXT NOT NULL, month TEXT NOT NULL, backend TEXT NOT NULL, model TEXT NOT NULL, metric TEXT NOT NULL,
    bucket INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, backend, model, metric, bucket)
);
"""

BUCKET_GROWTH = 1.1  # speed histograms: each bucket 10% wider than the last, so a median is within 5%

_ROLLUP = """
INSERT INTO daily (day, month, backend, model, kind, requests, prompt_tokens, cached_tokens, completion_tokens,
                   cost_usd, unpriced, cloud_cost_usd, estimated, failed)
VALUES (:day, :month, :backend, :model, :kind, 1, :prompt_tokens, :cached_tokens, :completion_tokens,
        :cost, :unpriced, :cloud_cost, :estimated, :failed)
ON CONFLICT (day, backend, model, kind) DO UPDATE SET
    requests = requests + 1, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    cached_tokens = cached_tokens + excluded.cached_tokens, completion_tokens = completion_tokens + excluded.completion_tokens,
    cost_usd = cost_usd + excluded.cost_usd, unpriced = unpriced + excluded.unpriced,
    cloud_cost_usd = cloud_cost_usd + excluded.cloud_cost_usd, estimated = estimated + excluded.estimated,
    failed = failed + excluded.failed
"""

_SPEED = """
INSERT INTO daily_speed (day, month, backend, model, metric, bucket, n) VALUES (?, ?, ?, ?, ?, ?, 1)
ON CONFLICT (day, backend, model, metric, bucket) DO UPDATE SET n = n + 1
"""


def bucket_of(value: float) -> int:
    return int(math.floor(math.log(max(value, 0.01)) / math.log(BUCKET_GROWTH)))


def bucket_value(bucket: int) -> float:
    """The middle of a bucket (geometric), which stands for every value in it."""
    return BUCKET_GROWTH ** (bucket + 0.5)


@dataclass
class Row:
    backend: str
    model: str
    kind: str
    role: str
    reason: str
    status: str
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    ttft_ms: float | None = None
    duration_ms: float | None = None
    tokens_per_s: float | None = None
    cost_usd: float | None = None        # None: a cloud model with no known price
    cloud_cost_usd: float | None = None  # a local answer: what the cloud side would have charged
    ts: float = 0.0


def day_of(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=5, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
    return conn


class Ledger:
    def __init__(self, path: str):
        self.path = path
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._day = self._month = ""
        self.spent_today = 0.0
        self.spent_month = 0.0
        self.ready = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="hybrid-ledger", daemon=True)
        self._thread.start()

    # -- callers (any thread) -----------------------------------------------------------

    def record(self, row: Row) -> None:
        """Queue a row; returns at once. The spend totals include it right away."""
        row.ts = row.ts or time.time()
        with self._lock:
            self._roll(row.ts)
            if row.cost_usd:
                self.spent_today += row.cost_usd
                self.spent_month += row.cost_usd
        self._queue.put(row)

    def spend(self) -> tuple[float, float]:
        """(today, this month) in USD, from memory."""
        with self._lock:
            self._roll(time.time())
            return self.spent_today, self.spent_month

    def flush(self, timeout: float = 5.0) -> None:
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    # -- the writer thread ----------------------------------------------------------------

    def _roll(self, ts: float) -> None:
        day = day_of(ts)
        if day != self._day:
            if day[:7] != self._month:
                self._month, self.spent_month = day[:7], 0.0
            self._day, self.spent_today = day, 0.0

    def _run(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = connect(self.path)
            conn.executescript(SCHEMA)
            self._rebuild_rollups(conn)
            self._load_totals(conn)
        except (sqlite3.Error, OSError) as e:
            # (data_dir a file, or not writable: the engine says so once; spend is still kept in memory)
            self.error = f"usage ledger {self.path}: {e}"
            log.error(self.error)
            self.ready.set()
            self._drain_without_db()
            return
        self.ready.set()
        while True:
            item = self._queue.get()
            if item is None:
                break
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._write(conn, item)
            except Exception:  # one bad row (say, text sqlite cannot encode) never stops the writer
                log.exception("usage ledger: could not record a request")
        conn.close()

    def _drain_without_db(self) -> None:
        while (item := self._queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()

    def _load_totals(self, conn: sqlite3.Connection) -> None:
        today = day_of(time.time())
        spent_today = conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE day = ?", (today,)).fetchone()[0]
        spent_month = conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE month = ?",
                                   (today[:7],)).fetchone()[0]
        with self._lock:
            self._roll(time.time())
            # Rows recorded before the load are already in memory; add what was on disk.
            self.spent_today += spent_today
            self.spent_month += spent_month

    @staticmethod
    def _write(conn: sqlite3.Connection, row: Row) -> None:
        with conn:  # one transaction per row: the row and its rollups, or nothing
            _insert(conn, row)

    @staticmethod
    def _rebuild_rollups(conn: sqlite3.Connection) -> None:
        """Rows without rollups (a ledger filled by hand, or an older one): roll them up once."""
        has_rollups = conn.execute("SELECT 1 FROM daily LIMIT 1").fetchone()
        if has_rollups or not conn.execute("SELECT 1 FROM requests LIMIT 1").fetchone():
            return
        with conn:
            cols = [f for f in Row.__dataclass_fields__]
            for values in conn.execute(f"SELECT {', '.join(cols)} FROM requests").fetchall():
                _rollup(conn, Row(**dict(zip(cols, values, strict=True))))


def _insert(conn: sqlite3.Connection, row: Row) -> None:
    values = asdict(row)
    values["day"] = day_of(row.ts)
    values["month"] = values["day"][:7]
    values["estimated"] = int(row.estimated)
    cols = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    conn.execute(f"INSERT INTO requests ({cols}) VALUES ({marks})", values)
    _rollup(conn, row)


def _rollup(conn: sqlite3.Connection, row: Row) -> None:
    day = day_of(row.ts)
    conn.execute(_ROLLUP, {
        "day": day, "month": day[:7], "backend": row.backend, "model": row.model, "kind": row.kind,
        "prompt_tokens": row.prompt_tokens or 0, "cached_tokens": row.cached_tokens or 0,
        "completion_tokens": row.completion_tokens or 0, "cost": row.cost_usd or 0.0,
        "unpriced": int(row.cost_usd is None and row.kind == "cloud"), "cloud_cost": row.cloud_cost_usd or 0.0,
        "estimated": int(bool(row.estimated)), "failed": int(row.status != "complete"),
    })
    if row.status == "complete" and row.ttft_ms is not None:
        conn.execute(_SPEED, (day, day[:7], row.backend, row.model, "ttft_ms", bucket_of(row.ttft_ms)))
        if row.tokens_per_s:
            conn.execute(_SPEED, (day, day[:7], row.backend, row.model, "tokens_per_s", bucket_of(row.tokens_per_s)))
