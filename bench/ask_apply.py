""":HybridAsk apply time: a 10,000-line replacement in a 10,000-line buffer.

Measured inside Neovim (vim.uv.hrtime) from the last streamed chunk reaching the
editor to the edit being applied (User HybridEditApplied), against a raw
nvim_buf_set_lines of the same 10,000 lines in the same editor and run.
Goal: median under 30 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "python")]

from fakeservers import OllamaServer  # noqa: E402
from nvim_harness import Editor  # noqa: E402

LINES = 10_000
RUNS = 7

INSTRUMENT = """
local ask = require('hybrid.ask')
local on_delta = ask.on_delta
ask.on_delta = function(ev) _G.last_chunk_at = vim.uv.hrtime(); return on_delta(ev) end
vim.api.nvim_create_autocmd('User', { pattern = 'HybridEditApplied',
  callback = function() _G.applied_at = vim.uv.hrtime() end })
"""

RAW = """
local lines = ...
local buf = vim.api.nvim_create_buf(false, true)
vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
local t = vim.uv.hrtime()
vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.tbl_map(function(l) return l .. ' ' end, lines))
local dt = (vim.uv.hrtime() - t) / 1e6
vim.api.nvim_buf_delete(buf, { force = true })
return dt
"""


def main() -> dict:
    server = OllamaServer().start()
    original = [f"value_{i} = {i}" for i in range(LINES)]
    server.reply = "```python\n" + "\n".join(f"value_{i} = {i * 2}" for i in range(LINES)) + "\n```"
    server.chunk_size = 4096
    tmp = Path(tempfile.mkdtemp())
    # 10,000 lines are ~51k tokens: a window that holds them (a smaller one is refused before sending).
    (tmp / "setup.yaml").write_text(f"backend:\n  o: {{type: ollama, base_url: '{server.url}', "
                                    "default_model: fake-model, context_window: 131072}\n")
    ed = Editor(tmp, str(tmp / "setup.yaml"))
    try:
        ed.lua(INSTRUMENT)
        plugin, raw = [], []
        for _ in range(RUNS):
            ed.nvim.current.buffer[:] = original
            ed.lua("_G.applied_at = nil")
            ed.cmd("%HybridAsk! double every value")
            ed.wait(lambda: ed.lua("return _G.applied_at ~= nil"), timeout=60, what="the applied edit")
            assert ed.nvim.current.buffer[LINES - 1] == f"value_{LINES - 1} = {(LINES - 1) * 2}"
            plugin.append(ed.lua("return (_G.applied_at - _G.last_chunk_at) / 1e6"))
            raw.append(ed.lua(RAW, original))
    finally:
        ed.close()
        server.stop()
    med, base = statistics.median(plugin), statistics.median(raw)
    result = {"name": "ask apply (10,000 lines)", "stat": "median", "value_ms": med, "min_ms": min(plugin),
              "max_ms": max(plugin), "baseline": "raw nvim_buf_set_lines", "baseline_ms": base,
              "ratio": med / base if base else float("nan"), "goal": "median < 30 ms", "met": med < 30}
    print(f"{result['name']}: median {med:.1f} ms (min {min(plugin):.1f}, max {max(plugin):.1f}, {RUNS} runs) "
          f"from last chunk to applied; raw nvim_buf_set_lines {base:.1f} ms; ratio {result['ratio']:.1f}x; "
          f"goal < 30 ms: {'met' if result['met'] else 'NOT met'}")
    return result


if __name__ == "__main__":
    main()
