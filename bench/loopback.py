"""What the streaming benches share: a fake model server in a process of its own (in the
bench's process, its thread would hold the GIL the editor's round trips need) and a real
Neovim configured for it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from nvim_harness import Editor  # noqa: E402


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
