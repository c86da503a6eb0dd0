"""Memory: the host's resident size after 1,000 chat turns, and after a 5 MB answer.

A real Neovim chats 1,000 turns in one chat (each answer about 400 characters, streamed in
4-character chunks by a server in its own process), then takes one 5 MB answer. The host's
RSS (VmRSS from /proc) is read when it has just started (the baseline), after the turns
and after the big answer. Goal: under 100 MB.
"""

from __future__ import annotations

import time

from loopback import ROOT, Editor, editor_for, start_server, stop_server

TURNS = 1000

# Each turn's end sends the next question, inside Neovim: no round trip to the bench.
CHAIN = """
local chat = require('hybrid.chat')
local on_end = chat.on_turn_end
_G.turns_done, _G.turns_failed = 0, 0
chat.on_turn_end = function(ev)
  on_end(ev)
  if ev.status ~= 'complete' then _G.turns_failed = _G.turns_failed + 1 end
  _G.turns_done = _G.turns_done + 1
  if _G.turns_done < _G.turns_wanted then
    vim.schedule(function() chat.ask('question number ' .. _G.turns_done) end)
  end
end
"""

SERVER = """
import sys
sys.path[:0] = [{tests!r}]
from fakeservers import OpenAIServer
server = OpenAIServer().start()
server._httpd.handle_error = lambda *a: None  # the closing editor's host resets its connection
server.reply, server.chunk_size, server.comments = {reply!r}, 4, False
print(server.url, flush=True)
if sys.stdin.readline():  # the bench says: now the big answer
    server.reply, server.chunk_size = ("0123456789abcdef" * 8 + "\\n") * 40_000, 8192  # 5.2 MB
sys.stdin.read()
"""


def host_rss_mb(ed: Editor) -> float:
    pid = ed.lua("return vim.fn.jobpid(require('hybrid.host').channel())")
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS for the host")


def wait_turns(ed: Editor, wanted: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while ed.lua("return _G.turns_done") < wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ed.lua('return _G.turns_done')} of {wanted} turns ended")
        time.sleep(0.05)
    failed = ed.lua("return _G.turns_failed")
    if failed:
        raise RuntimeError(f"{failed} turns did not complete")


def main() -> dict:
    reply = "A fairly ordinary answer about the code, long enough to be realistic. " * 6  # ~420 characters
    script = SERVER.format(tests=str(ROOT / "tests"), reply=reply)
    proc, url = start_server(script)
    ed = editor_for(url, "hb-mem")
    try:
        ed.lua(CHAIN)
        ed.lua("_G.turns_wanted = 1; require('hybrid.chat').ask('hello')")
        wait_turns(ed, 1, 60)
        started = host_rss_mb(ed)
        t0 = time.monotonic()
        ed.lua(f"_G.turns_wanted = {TURNS}; require('hybrid.chat').ask('question number 1')")
        wait_turns(ed, TURNS, 600)
        took = time.monotonic() - t0
        after_turns = host_rss_mb(ed)
        proc.stdin.write("big\n")
        proc.stdin.flush()
        ed.lua(f"_G.turns_wanted = {TURNS + 1}; require('hybrid.chat').ask('now a long one')")
        wait_turns(ed, TURNS + 1, 120)
        after_big = host_rss_mb(ed)
    finally:
        ed.close()
        stop_server(proc)
    worst = max(after_turns, after_big)
    result = {"name": "host memory after 1,000 turns, then a 5 MB answer", "stat": "max",
              "figure": f"{after_turns:.0f} MB, then {after_big:.0f} MB", "spread": "one run",
              "value_ms": worst, "min_ms": worst, "max_ms": worst,
              "baseline": "RSS just after start", "baseline_ms": started,
              "baseline_figure": f"RSS just after start: {started:.0f} MB", "ratio": worst / started,
              "goal": "< 100 MB", "met": worst < 100}
    print(f"{result['name']}: {after_turns:.0f} MB after {TURNS:,} turns ({took:.0f} s), {after_big:.0f} MB after "
          f"the 5 MB answer; {started:.0f} MB just after start; goal < 100 MB: {'met' if result['met'] else 'NOT met'}")
    return result


if __name__ == "__main__":
    main()
