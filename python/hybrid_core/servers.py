"""Local model servers the plugin starts itself: a backend's `command: [...]`, or `ollama serve`
for a `type: ollama` backend with `autostart: true`.

A server is started on first use, only when nothing answers at its base_url yet, and waited
for until it answers; its output goes to a log file beside hybrid.log. It is stopped when
the host shuts down (Neovim exits), and on Linux also if the host dies without shutting down.
Which command serves a backend is decided by backends/pool.py (command_for).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from .config import BackendConfig
from .errors import ConnectError

log = logging.getLogger("hybrid")

START_TIMEOUT = 120.0  # seconds for a server to answer after it was started (a model may load)
POLL_SECONDS = 0.2
STOP_SECONDS = 3.0


def log_path_for(cfg: BackendConfig, log_dir: str | None) -> str:
    """Where the server of backend `cfg` writes its output (no file without a data_dir)."""
    return os.path.join(log_dir, f"server-{cfg.name}.log") if log_dir else os.devnull


def _die_with_parent() -> None:
    # Linux: the server gets SIGTERM if the host dies without stopping it (kill -9, a crash).
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def answers(cfg: BackendConfig, timeout: float = 0.5) -> bool:
    """True when something accepts connections at the backend's host and port."""
    parts = urlsplit(cfg.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


class ManagedServer:
    def __init__(self, cfg: BackendConfig, command: list[str], log_dir: str | None):
        self.cfg = cfg
        self.command = command
        self.log_path = log_path_for(cfg, log_dir)
        self.proc: subprocess.Popen | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def ensure(self, ready, on_start=None) -> None:
        """Start the server unless something already answers, then wait until `ready()` (an
        awaitable that returns True once the server serves requests)."""
        async with self._lock:
            if self.running or await answers(self.cfg):
                return
            self._start()
            if on_start is not None:
                on_start(self)
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if self.proc.poll() is not None:
                    raise ConnectError(self.cfg.name, f"the server command exited with code {self.proc.returncode} "
                                                      f"before answering: {self._last_output()} (see {self.log_path})")
                if await answers(self.cfg) and await ready():
                    log.info("%s: the server answers (started %s)", self.cfg.name, self.command[0])
                    return
                if time.monotonic() > deadline:
                    self.stop()
                    raise ConnectError(self.cfg.name, f"the server started by backend.{self.cfg.name}.command did not "
                                                      f"answer at {self.cfg.base_url} within {START_TIMEOUT:.0f} s "
                                                      f"(see {self.log_path})")
                await asyncio.sleep(POLL_SECONDS)

    def _start(self) -> None:
        program = shutil.which(self.command[0])
        if program is None:
            key = "command" if self.cfg.command else "autostart"
            raise ConnectError(self.cfg.name, f"cannot start the server: {self.command[0]!r} is not installed or not on "
                                              f"PATH (backend.{self.cfg.name}.{key})")
        with open(self.log_path, "ab") as out:
            # Started from the loop's thread, which lives as long as the host (see _die_with_parent).
            self.proc = subprocess.Popen([program, *self.command[1:]], stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        log.info("%s: started %s (pid %d), output in %s", self.cfg.name, " ".join(self.command), self.proc.pid,
                 self.log_path)

    def _last_output(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 2000))
                lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines() if line.strip()]
        except OSError:
            return "no output"
        return lines[-1][:200] if lines else "no output"

    def stop(self) -> None:
        """Terminate the server and its children; kill it if it does not stop in time."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_SECONDS)
        log.info("%s: stopped the server (pid %d)", self.cfg.name, proc.pid)
