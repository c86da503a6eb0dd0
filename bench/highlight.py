"""The chat's highlighting, option by option: what Neovim spends drawing an answer as it streams.

Each option gets a fresh Neovim with a 160x50 screen attached and the chat's shape: a markdown
buffer in a split of 16 lines (the chat's default), wrap and linebreak on. The bench's answer
(stream.py: 8,000 characters of markdown, a newline every ~12 chunks) arrives in pieces of 800
characters 16 ms apart, as the host flushes a burst; then the answer's end is written. Figures:
Neovim's CPU time for the whole answer (all its threads, from /proc), and the time of the redraw
after the end is written, in Neovim. The baseline, in the same run, is `syntax off`.

Options: the chat's own highlighting (chat/highlight.lua, what the chat uses); the regex markdown
syntax Neovim ships (what setup{ chat = { highlight = false } } leaves); Neovim's treesitter markdown
highlighter; synmaxcol 200; syntax sync minlines 10 (markdown's is 50); the live answer plain (a
syntax region with nothing in it, from the answer's first line on) until the end, when the region
goes, with markdown's sync and with minlines 10.

What decided it (2026-11, this machine): the regex options cost 3-4x syntax off, treesitter
3-15x the regex syntax, and the live answer plain costs a 13-60 ms redraw when the answer ends
(or, with minlines 10, turns the rest of the chat into code after a long code block). So the chat
draws its own: Lua patterns for the lines on screen, fence state kept per line, a closed fence's
language parsed once the buffer is quiet. In bench/stream.py Neovim's CPU per burst is then that
of syntax off (12-14 ms against 36 ms); here it adds the parse of the blocks left on screen.
"""

from __future__ import annotations

import statistics
import sys
import time

import pynvim
import stream
from loopback import ROOT, Screen, cpu_seconds

from nvim_harness import nvim_binary

RUNS = 3
PIECE = 800
GAP = 0.016

# Lua run in the chat buffer `buf` once it has its history. The live answer plain: a syntax region
# that contains nothing, from the answer's first line on, cleared when the answer ends.
LIVE_PLAIN = ("vim.cmd(('syntax region hybridLive start=/^\\\\%%>%dl/ end=/\\\\%%$/')"
              ":format(vim.api.nvim_buf_line_count(buf) - 1))")
OPTIONS = {
    # (lua's parser and query loaded first, as after the session's first lua block: ~8 ms, once)
    "the chat's own (chat/highlight.lua)": "vim.treesitter.query.get('lua', 'highlights')\n"
                                           "require('hybrid.chat.highlight').attach(buf)",
    "regex markdown syntax (setup{ chat = { highlight = false } })": "",
    "treesitter markdown": "vim.treesitter.start(buf, 'markdown')",
    "regex, synmaxcol 200": "vim.bo[buf].synmaxcol = 200",
    "regex, syntax sync minlines 10": "vim.cmd('syntax sync minlines=10 maxlines=10')",
    "regex, the live answer plain until its end": LIVE_PLAIN,
    "the live answer plain, sync minlines 10": "vim.cmd('syntax sync minlines=10 maxlines=10')\n" + LIVE_PLAIN,
    "syntax off": "vim.bo[buf].syntax = 'off'",
}

SETUP = """
local option = ...
local buf = vim.api.nvim_get_current_buf()
vim.bo.buftype = 'nofile'
local lines = {}
for i = 1, 40 do lines[#lines + 1] = ({ '## You', 'a question with *stars* and `code`', '',
  '## local · o · fake-model · why', 'An **answer** with a [link](x) in it.', '' })[i % 6 + 1] end
vim.list_extend(lines, { '## You', 'go', '', '## local · o · fake-model · why', '' })
vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
vim.bo.filetype = 'markdown'
vim.cmd('botright 16split')
vim.cmd('wincmd p | enew | wincmd p')  -- the other window shows another buffer, as beside a chat
vim.wo.wrap, vim.wo.linebreak = true, true
assert(loadstring('local buf = ...\\n' .. option))(buf)
vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(buf), 0 })
"""

# One flush as the chat appends it: at the end of the last line, the cursor following.
APPEND = """
local text = ...
local row = vim.api.nvim_buf_line_count(0) - 1
local col = #vim.api.nvim_buf_get_lines(0, row, row + 1, false)[1]
vim.api.nvim_buf_set_text(0, row, col, row, col, vim.split(text, '\\n', { plain = true }))
vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 0 })
"""

END = """
local t0 = vim.uv.hrtime()
if vim.fn.hlexists('hybridLive') == 1 then vim.cmd('syntax clear hybridLive') end
vim.api.nvim_buf_set_lines(0, -1, -1, false, { '', '## You', '' })
vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 0 })
vim.cmd('redraw')
return (vim.uv.hrtime() - t0) / 1e6
"""


def one(option: str, text: str) -> tuple[float, float]:
    """(Neovim's CPU seconds for the answer, ms of the redraw at its end)."""
    nvim = pynvim.attach("child", argv=[nvim_binary(), "--embed", "--headless", "-u", "NONE", "-i", "NONE", "-n",
                                        "--cmd", "set columns=160 lines=50", "--cmd", "syntax on | filetype plugin on",
                                        "--cmd", f"set rtp^={ROOT}"])
    screen = Screen(nvim.eval("serverstart()"))
    try:
        pid = nvim.eval("getpid()")
        nvim.exec_lua(SETUP, option)
        time.sleep(0.3)  # drawn (and parsed) before the answer comes
        before = cpu_seconds(pid)
        for at in range(0, len(text), PIECE):
            nvim.exec_lua(APPEND, text[at:at + PIECE])
            time.sleep(GAP)
        end_ms = nvim.exec_lua(END)
        time.sleep(0.3)  # (treesitter parses on after a redraw)
        return cpu_seconds(pid) - before, end_ms
    finally:
        screen.close()
        nvim.close()


def main() -> list[dict]:
    text = stream.answer(stream.CHUNKS)
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in OPTIONS}
    for _ in range(RUNS):
        for name, option in OPTIONS.items():
            found[name].append(one(option, text))
    med = statistics.median
    off = med(cpu for cpu, _ in found["syntax off"])
    results = []
    for name, runs in found.items():
        if name == "syntax off":
            continue
        cpu = [c * 1000 for c, _ in runs]
        end = med(e for _, e in runs)
        results.append(dict(name=f"chat highlighting: {name}", stat="median",
                            figure=f"Neovim CPU {med(cpu):.0f} ms an answer; its end drawn in {end:.1f} ms",
                            spread=f"{min(cpu):.0f}–{max(cpu):.0f} ms", value_ms=med(cpu), baseline="syntax off",
                            baseline_ms=off * 1000, ratio=med(cpu) / (off * 1000), goal="(chooses the chat's)", met=True))
    for r in results:
        print(f"{r['name']}: {r['figure']}; baseline {r['baseline']} {r['baseline_ms']:.0f} ms ({r['ratio']:.1f}x)")
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)
