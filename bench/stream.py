"""Streaming into the chat buffer, against a raw httpx client reading the same stream.

A loopback OpenAI-type server sends a markdown answer (headings, emphasis, lua code fences, a
newline every ~12 chunks, as real answers have) in 4-character chunks. A screen of 160x50 is
attached (a redraw costs what it costs a user), and a probe sends nvim_eval('1') every 5 ms
over a channel of its own. In the same run, in interleaved rounds:
  1. burst: 2,000 chunks as fast as the server can send them; from the command to the last
     chunk in the buffer (vim.uv.hrtime, seen by nvim_buf_attach), over a raw httpx client's
     time to read the whole stream; the probe's p99 while it streams, against idle;
  2. the same burst in a chat that already holds 20,000 lines;
  3. paced: 400 chunks 5 ms apart; time to first token over the raw client's first chunk, and
     the probe's p99.
With gp.nvim and codecompanion.nvim cloned beside this checkout (see peers.py), each round runs
them too, with the same probe and the same end check; without them a note says so.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass, field

import httpx
import peers
from loopback import ROOT, Editor, Probe, Screen, cpu_seconds, editor_for, p99, start_server, stop_server

CHUNKS = 2000
PACED_CHUNKS = 400
PACED_DELAY = 0.005
RUNS = 7
PACED_RUNS = 5
BIG_CHAT_LINES = 20_000
FIRST, LAST = "Zqk9", "Zzz."  # the answer's first and last chunk: nothing else in it looks like them

# Real answers: a newline every ~12 chunks of 4 characters, markdown throughout.
PARAGRAPH = [
    "## Step {n}: what the change does to the stream parser",
    "The parser reads *one line* at a time and keeps its",
    "`state` between calls, so a **partial** event waits for",
    "the rest of its bytes, and nothing else is copied at all.",
    "```lua",
    "local function feed(state, bytes) -- step {n}: append, then split",
    "  state.buf = state.buf .. bytes -- what is unfinished stays here",
    "  return state:split('\\n', {{ plain = true }}) -- whole lines only",
    "end -- the caller hands the lines on; the rest waits for more",
    "```",
    "- one item with `code` and _emphasis_ in its words, and more",
    "- another that points at [the docs](https://example.org/docs)",
    "",
]


def answer(chunks: int) -> str:
    """`chunks` 4-character chunks of markdown, FIRST the first chunk and LAST the last."""
    size = chunks * 4
    lines, n = [FIRST + " here is the plan, in a few steps.", ""], 0
    while sum(len(line) + 1 for line in lines) < size:
        n += 1
        lines += [line.format(n=n) for line in PARAGRAPH]
    text = "\n".join(lines)[: size - len(LAST) - 1].rstrip("`") + "\n"
    return text.ljust(size - len(LAST), ".") + LAST


# The server runs in a process of its own: in this one, its thread would hold the GIL that the
# probe's round trips need, and inflate them. A message with "paced" in it gets the paced answer.
SERVER = f"""
import sys
sys.path[:0] = [{str(ROOT / "tests")!r}]
from fakeservers import OpenAIServer

def paced(body):
    return "paced" in str(((body or {{}}).get("messages") or [{{}}])[-1].get("content"))

class BenchServer(OpenAIServer):
    def stream_reply(self, h, ctype, model, body, frame, **kw):
        self.delay = {PACED_DELAY} if paced(body) else 0.0  # (one request at a time)
        return super().stream_reply(h, ctype, model, body, frame, **kw)

server = BenchServer().start()
server._httpd.handle_error = lambda *a: None  # a closing editor's host resets its connection
server.reply_fn = lambda body: {answer(PACED_CHUNKS)!r} if paced(body) else {answer(CHUNKS)!r}
server.chunk_size, server.comments = 4, False
print(server.url, flush=True)
sys.stdin.read()
"""

# Sees the answer arrive in chat buffer `buf`, whoever writes it: when its first and its last
# chunk are in the buffer (vim.uv.hrtime), and how many buffer updates it took.
WATCH = """
local buf, first_mark, last_mark = ...
_G.bench = { updates = 0 }
vim.api.nvim_buf_attach(buf, false, { on_lines = function(_, b, _, first, _, last_new)
  local s = _G.bench
  if s.last then return true end
  s.updates = s.updates + 1
  for _, line in ipairs(vim.api.nvim_buf_get_lines(b, first, last_new, false)) do
    if not s.first and line:find(first_mark, 1, true) then s.first = vim.uv.hrtime() end
    if line:find(last_mark, 1, true) then s.last = vim.uv.hrtime(); return true end
  end
end })
"""

# A big chat: its lines go above the chat's last user header, then it is drawn once (a chat
# that big is opened once, not per answer).
FILL = """
local buf, header, count = ...
local at = 0
for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
  if vim.startswith(line, header) then at = i - 1 end
end
local lines = {}
for i = 1, count do lines[i] = 'earlier line ' .. i end
vim.api.nvim_buf_set_lines(buf, at, at, false, lines)
vim.cmd('redraw')
"""

HYBRID = peers.Peer(
    name="hybrid.nvim", dirs=(), setup="", user_header="## You",
    open_chat="vim.cmd('HybridChat new'); return vim.api.nvim_get_current_buf()",
    send="vim.cmd('HybridChat ' .. ...)",
)


@dataclass
class Run:
    ttft: float  # s, command to the first chunk in the buffer
    total: float  # s, command to the last chunk in the buffer
    rtts: list[float]  # the probe's round trips while it streamed
    updates: int  # buffer updates it took
    editor_cpu: float  # s of CPU Neovim used for it (all its threads)
    host_cpu: float  # s of CPU its child processes (the Python host) used


@dataclass
class Subject:
    peer: peers.Peer
    editor: Editor
    screen: Screen
    probe: Probe
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (Neovim, its child processes)."""
        pid = self.editor.lua("return vim.fn.getpid()")
        children = self.editor.lua("return vim.api.nvim_get_proc_children(...)", pid)
        return cpu_seconds(pid), sum(cpu_seconds(c) for c in children)

    def close(self) -> None:
        self.probe.close()
        self.screen.close()
        self.editor.close()


def subject(peer: peers.Peer, url: str, dirs=()) -> Subject:
    ed = editor_for(url, "hb-stream")
    for d in dirs:
        ed.lua("vim.opt.rtp:prepend(...)", str(d))
    if peer.setup:
        ed.lua(peer.setup, url)
    address = ed.lua("return vim.fn.serverstart()")
    return Subject(peer, ed, Screen(address), Probe(address))


def one_run(s: Subject, message: str, fill: int = 0) -> Run:
    ed = s.editor
    buf = ed.lua(s.peer.open_chat)
    if fill:
        ed.lua(FILL, buf, s.peer.user_header, fill)
    ed.lua(WATCH, buf, FIRST, LAST)
    # The chat is on screen before the message goes, as when a user writes one: the probe
    # measures the answer streaming in, not the window being drawn.
    ed.cmd("redraw")
    time.sleep(0.05)
    editor_cpu, host_cpu = s.cpu()
    start = time.perf_counter()
    ed.lua("_G.bench.sent = vim.uv.hrtime()\n" + s.peer.send, message)
    deadline = time.monotonic() + 60
    while not ed.lua("return _G.bench.last ~= nil"):  # a cheap check: the times are taken in Neovim
        if time.monotonic() > deadline:
            raise RuntimeError(f"{s.peer.name}: the answer did not end")
        time.sleep(0.02)
    end = time.perf_counter()
    sent, first, last, updates = ed.lua("local b = _G.bench; return { b.sent, b.first, b.last, b.updates }")
    # The answer is done with (the turn closed, the chat saved) before the next one starts.
    while ed.lua("local ok, c = pcall(require, 'hybrid.chat'); return ok and c.streaming() or 0") > 0:
        time.sleep(0.01)
    time.sleep(0.05)
    editor_after, host_after = s.cpu()
    return Run((first - sent) / 1e9, (last - sent) / 1e9, s.probe.between(start, end), updates,
               editor_after - editor_cpu, host_after - host_cpu)


def raw_read(url: str, message: str = "go", first_only: bool = False) -> tuple[float, float]:
    """(seconds to the first content chunk, seconds to the end) for one streamed request."""
    body = {"model": "fake-model", "messages": [{"role": "user", "content": message}], "stream": True}
    with httpx.Client(timeout=30) as client:
        t0 = time.perf_counter()
        first = None
        with client.stream("POST", f"{url}/v1/chat/completions", json=body) as resp:
            for chunk in resp.iter_bytes():
                if first is None and FIRST.encode() in chunk:
                    first = time.perf_counter() - t0
                    if first_only:
                        break
        return first or math.nan, time.perf_counter() - t0


def raw_async_read(url: str) -> float:
    """Seconds for httpx's async client, as the host uses it, to read the same stream without
    parsing it: the floor for anything built on it."""
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "go"}], "stream": True}

    async def read() -> float:
        async with httpx.AsyncClient(timeout=30) as client:
            t0 = time.perf_counter()
            async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as resp:
                async for _ in resp.aiter_bytes():
                    pass
            return time.perf_counter() - t0

    return asyncio.run(read())


def ms(seconds: float) -> str:
    return "no samples" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def figures(s: Subject, raw_total: float, raw_first: float, idle_p99: float) -> list[dict]:
    """The rows for one subject: hybrid.nvim's carry the goals, a peer's are for comparison."""
    med = statistics.median
    name = s.peer.name
    ours = s.peer is HYBRID
    burst, big, paced = s.runs["burst"], s.runs["big"], s.runs["paced"]
    ratio = [r.total / raw_total for r in burst]
    big_ratio = [r.total / raw_total for r in big]
    rtt = p99([x for r in burst for x in r.rtts])
    big_rtt = p99([x for r in big for x in r.rtts])
    paced_rtt = p99([x for r in paced for x in r.rtts])
    overhead = [(r.ttft - raw_first) * 1000 for r in paced]
    change = med(big_ratio) / med(ratio) - 1
    gap = [r.total / max(r.updates, 1) * 1000 for r in burst]
    rows = [
        dict(name=f"{name}: burst, 2,000 chunks to the last one visible", stat="ratio",
             figure=f"{med(ratio):.2f}x ({med(r.total for r in burst) * 1000:.1f} ms)",
             spread=f"{min(ratio):.2f}x–{max(ratio):.2f}x", value_ms=med(r.total for r in burst) * 1000,
             baseline="raw httpx reads it all", baseline_ms=raw_total * 1000, ratio=med(ratio),
             goal="≤ 1.5x" if ours else "(peer)", met=med(ratio) <= 1.5),
        dict(name=f"{name}: editor RPC p99 during the burst", stat="p99",
             figure=f"p99 {ms(rtt)} ({sum(len(r.rtts) for r in burst)} samples)", value_ms=rtt * 1000,
             spread=f"{min(p99(r.rtts) for r in burst) * 1000:.1f}–{max(p99(r.rtts) for r in burst) * 1000:.1f} ms a run",
             baseline="idle p99", baseline_ms=idle_p99 * 1000, ratio=rtt / idle_p99,
             goal="p99 ≤ 5 ms" if ours else "(peer)", met=rtt * 1000 <= 5),
        dict(name=f"{name}: buffer updates during the burst", stat="count",
             figure=f"{med(r.updates for r in burst):.0f} (one per {med(gap):.1f} ms)",
             spread=f"{min(r.updates for r in burst)}–{max(r.updates for r in burst)}", value_ms=med(gap),
             baseline="the flush interval", baseline_ms=16.0, ratio=med(gap) / 16, goal="(context)", met=True),
        dict(name=f"{name}: CPU per burst: Neovim, then the host", stat="median",
             figure=f"{med(r.editor_cpu for r in burst) * 1000:.0f} ms, {med(r.host_cpu for r in burst) * 1000:.0f} ms",
             spread=f"{min(r.editor_cpu for r in burst) * 1000:.0f}–{max(r.editor_cpu for r in burst) * 1000:.0f} ms, "
                    f"{min(r.host_cpu for r in burst) * 1000:.0f}–{max(r.host_cpu for r in burst) * 1000:.0f} ms",
             value_ms=med(r.editor_cpu for r in burst) * 1000, baseline="raw httpx reads it all",
             baseline_ms=raw_total * 1000, ratio=med(r.editor_cpu + r.host_cpu for r in burst) / raw_total,
             goal="(context)", met=True),
        dict(name=f"{name}: burst in a {BIG_CHAT_LINES:,}-line chat", stat="ratio",
             figure=f"{med(big_ratio):.2f}x ({change:+.0%} vs empty chat); RPC p99 {ms(big_rtt)}",
             spread=f"{min(big_ratio):.2f}x–{max(big_ratio):.2f}x", value_ms=med(r.total for r in big) * 1000,
             baseline="the same burst in an empty chat", baseline_ms=med(r.total for r in burst) * 1000,
             ratio=med(big_ratio) / med(ratio), goal="within 20%" if ours else "(peer)", met=change <= 0.2),
        dict(name=f"{name}: paced, 400 chunks at 5 ms: time to first token over raw", stat="median",
             figure=f"median {med(overhead):.1f} ms; RPC p99 {ms(paced_rtt)}", value_ms=med(overhead),
             min_ms=min(overhead), max_ms=max(overhead), baseline="raw httpx first chunk",
             baseline_ms=raw_first * 1000, ratio=med(r.ttft for r in paced) / raw_first,
             goal="overhead ≤ 5 ms" if ours else "(peer)", met=med(overhead) <= 5),
    ]
    return rows


def main() -> list[dict]:
    proc, url = start_server(SERVER)
    present, missing = peers.found()
    subjects: list[Subject] = []
    try:
        subjects = [subject(HYBRID, url)] + [subject(p, url, dirs) for p, dirs in present]
        for s in subjects:
            one_run(s, "go")  # warm up: the host, connections, imports, the JIT
        time.sleep(2)  # hybrid.nvim's host loads aiohttp's transport once idle for a second
        raw, floor, raw_first = [], [], []
        for _ in range(RUNS):
            raw.append(raw_read(url)[1])
            floor.append(raw_async_read(url))
            for s in subjects:
                s.runs.setdefault("burst", []).append(one_run(s, "go"))
                s.runs.setdefault("big", []).append(one_run(s, "go", BIG_CHAT_LINES))
        for _ in range(PACED_RUNS):
            raw_first.append(raw_read(url, "paced", first_only=True)[0])
            for s in subjects:
                s.runs.setdefault("paced", []).append(one_run(s, "paced"))
        idle_start = time.perf_counter()
        time.sleep(1.0)
        idle = subjects[0].probe.between(idle_start, time.perf_counter())
    finally:
        for s in subjects:
            s.close()
        stop_server(proc)

    med = statistics.median
    raw_total, idle_p99 = med(raw), p99(idle)
    results = figures(subjects[0], raw_total, med(raw_first), idle_p99)
    results.append(dict(name="the floor: httpx's async client reads the burst, no parsing", stat="ratio",
                        figure=f"{med(floor) / raw_total:.2f}x ({med(floor) * 1000:.1f} ms)",
                        spread=f"{min(floor) / raw_total:.2f}x–{max(floor) / raw_total:.2f}x",
                        value_ms=med(floor) * 1000, baseline="raw httpx reads it all", baseline_ms=raw_total * 1000,
                        ratio=med(floor) / raw_total, goal="(context for the burst)", met=True))
    for s in subjects[1:]:
        results += figures(s, raw_total, med(raw_first), idle_p99)
    if missing:
        where = ", ".join(f"../{d}" for p in peers.PEERS if p.name in missing for d in p.dirs)
        results.append(dict(note=f"Side by side: not run, {' and '.join(missing)} not cloned beside this checkout "
                                 f"({where}); the peers' figures in README.md are the issue's (2026-11)."))
    for r in results:
        if "note" in r:
            print(r["note"])
            continue
        figure = r.get("figure") or f"{r['stat']} {r['value_ms']:.2f} ms"
        verdict = "" if r["goal"].startswith("(") else f": {'met' if r['met'] else 'NOT met'}"
        print(f"{r['name']}: {figure}; baseline {r['baseline']} {r['baseline_ms']:.2f} ms; goal {r['goal']}{verdict}")
    return results


if __name__ == "__main__":
    main()
