"""What the streaming benches share: a fake model server in a process of its own (in the
bench's process, its thread would hold the GIL the editor's round trips need), a real Neovim
configured for it, Neovim's terminal UI attached to it (a real user has one, and a redraw then
draws its cells), and the probe of the editor's responsiveness."""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import pynvim

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from nvim_harness import Editor, nvim_binary  # noqa: E402

PROBE_EVERY = 0.005  # the probe's nvim_eval('1'), as the harness sends it


def start_server(script: str) -> tuple[subprocess.Popen, str]:
    """Run `script` (it prints the server's URL, then serves until its stdin closes)."""
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def stop_server(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(10)


def editor_for(url: str, prefix: str) -> Editor:
    """A fresh Neovim whose one backend is the OpenAI-type server at `url`, counted as local."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    (tmp / "setup.yaml").write_text(
        f"backend:\n  o: {{type: openai, base_url: '{url}/v1', default_model: fake-model, local: true}}\n")
    return Editor(tmp, str(tmp / "setup.yaml"))


class Screen:
    """Neovim's own terminal UI (`nvim --remote-ui`) attached to the editor, drawing 160x50 cells
    into a pseudo-terminal whose output is read and dropped: a redraw costs what it costs a user."""

    def __init__(self, address: str):
        self._master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.proc = subprocess.Popen([nvim_binary(), "--remote-ui", "--server", address], stdin=slave, stdout=slave,
                                     stderr=slave, env={**os.environ, "TERM": "xterm-256color"}, close_fds=True)
        os.close(slave)
        self._reader = threading.Thread(target=self._drain, name="screen", daemon=True)
        self._reader.start()
        nvim = pynvim.attach("socket", path=address)
        try:
            deadline = time.monotonic() + 10
            while not nvim.api.list_uis():
                if time.monotonic() > deadline:
                    raise RuntimeError("the terminal UI did not attach")
                time.sleep(0.02)
        finally:
            nvim.close()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._master, 65536):
                pass

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        os.close(self._master)
        self._reader.join(5)


class Probe:
    """nvim_eval('1') every 5 ms over a channel of its own, timed; `between(t0, t1)` gives the
    round trips sent in that span (perf_counter seconds). Stops by itself after `limit` s."""

    def __init__(self, address: str, limit: float = 600):
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._nvim = pynvim.attach("socket", path=address)
        self._deadline = time.monotonic() + limit
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            t0 = time.perf_counter()
            self._nvim.eval("1")
            self.samples.append((t0, time.perf_counter() - t0))
            self._stop.wait(max(0.0, PROBE_EVERY - (time.perf_counter() - t0)))

    def between(self, start: float, end: float) -> list[float]:
        return [rtt for t, rtt in self.samples if start <= t <= end]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._nvim.close()


def cpu_seconds(pid: int) -> float:
    """CPU time process `pid` has had so far, all its threads, in ns resolution (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended just now
    return total / 1e9


def p99(values: list[float]) -> float:
    """The 99th percentile; NaN when there is no sample (a stream that ended before the first)."""
    if not values:
        return math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) >= 2 else values[0]
