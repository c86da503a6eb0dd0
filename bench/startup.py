"""Startup: what the plugin adds to Neovim's start with setup() called, and proof that no
Python process starts before the first command.

Each run is a fresh `nvim --headless --startuptime` whose init prepends the plugin to the
runtimepath and calls require('hybrid').setup({}). The plugin's share is the time of that
require and setup() (vim.uv.hrtime around it) plus the sourcing of plugin/hybrid.lua, as
--startuptime reports it. The baseline, in the same runs, is the same for an empty plugin
(a one-line module with a setup() and a plugin/ file with one command): the part of the
cost that any plugin pays for Neovim to find its files. Goal: under 1 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from nvim_harness import nvim_binary  # noqa: E402

RUNS = 21

INIT = """
vim.opt.rtp:prepend(vim.env.BENCH_PLUGIN_ROOT)
local t0 = vim.uv.hrtime()
require(vim.env.BENCH_MODULE).setup({})
local took = (vim.uv.hrtime() - t0) / 1e6
-- Run by +lua after every plugin has loaded.
function _G.bench_report()
  local children = vim.api.nvim_get_proc_children(vim.fn.getpid())
  vim.fn.writefile({ tostring(took), tostring(#children) }, vim.env.BENCH_OUT)
end
"""

EMPTY_MODULE = "return { setup = function() end }\n"
EMPTY_PLUGIN = "vim.api.nvim_create_user_command('EmptyPlugin', function() end, {})\n"


def one_start(tmp: Path, plugin_root: Path, module: str, plugin_file: str) -> tuple[float, int, float]:
    """(ms in require + setup + plugin/ sourcing, child processes after startup, ms to NVIM STARTED)."""
    times, out = tmp / "startuptime.txt", tmp / "out.txt"
    times.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_PLUGIN_ROOT": str(plugin_root), "BENCH_MODULE": module, "BENCH_OUT": str(out),
           "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "data"),
           "XDG_STATE_HOME": str(tmp / "state"), "XDG_CACHE_HOME": str(tmp / "cache")}
    subprocess.run([nvim_binary(), "--headless", "-u", str(tmp / "init.lua"), "-i", "NONE", "-n",
                    "--startuptime", str(times), "+lua _G.bench_report()", "+qa"], env=env, check=True, timeout=30,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    took, children = out.read_text().split()
    sourcing = started = 0.0
    for line in times.read_text().splitlines():
        if line.endswith(f"/plugin/{plugin_file}"):
            sourcing = float(line.split()[2].rstrip(":"))  # clock, self+sourced, self: the self time
        elif line.endswith("--- NVIM STARTED ---"):
            started = float(line.split()[0])
    return float(took) + sourcing, int(children), started


def main() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="hb-start"))
    (tmp / "init.lua").write_text(INIT)
    empty = tmp / "empty"
    (empty / "lua").mkdir(parents=True)
    (empty / "plugin").mkdir()
    (empty / "lua" / "emptyplugin.lua").write_text(EMPTY_MODULE)
    (empty / "plugin" / "emptyplugin.lua").write_text(EMPTY_PLUGIN)
    ours, theirs, started_ours, started_theirs, children = [], [], [], [], []
    for _ in range(RUNS):  # interleaved, so drift hits both alike
        cost, kids, started = one_start(tmp, ROOT, "hybrid", "hybrid.lua")
        ours.append(cost)
        started_ours.append(started)
        children.append(kids)
        cost, _, started = one_start(tmp, empty, "emptyplugin", "emptyplugin.lua")
        theirs.append(cost)
        started_theirs.append(started)
    med, base = statistics.median(ours), statistics.median(theirs)
    no_python = max(children) == 0
    added = statistics.median(started_ours) - statistics.median(started_theirs)
    result = {"name": "startup: require + setup() + plugin/hybrid.lua", "stat": "median", "value_ms": med,
              "min_ms": min(ours), "max_ms": max(ours), "baseline": "an empty plugin, same way", "baseline_ms": base,
              "ratio": med / base if base else float("nan"),
              "goal": "< 1 ms, no process before first use",
              "figure": f"median {med:.2f} ms; {max(children)} child processes",
              "met": med < 1 and no_python}
    print(f"{result['name']}: median {med:.2f} ms (min {min(ours):.2f}, max {max(ours):.2f}, {RUNS} starts); "
          f"an empty plugin {base:.2f} ms; whole start {added:+.2f} ms vs the empty plugin "
          f"(NVIM STARTED at {statistics.median(started_ours):.1f} ms); "
          f"child processes after startup: {max(children)}; "
          f"goal < 1 ms and none: {'met' if result['met'] else 'NOT met'}")
    return result


if __name__ == "__main__":
    main()
