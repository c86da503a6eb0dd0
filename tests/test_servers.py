"""Managed local servers: a backend's `command:` is started by the plugin on first use, waited
for, used, and stopped when Neovim exits; a server that cannot start says why."""

import os
import re
import sys

import pytest

from fakeservers import free_port
from processes import alive, gone_within

pytestmark = pytest.mark.nvim

SERVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve_fake.py")


def managed(port, command):
    return ("backend:\n"
            f"  llama:\n    type: openai\n    base_url: 'http://127.0.0.1:{port}/v1'\n    default_model: fake-model\n"
            f"    command: {command}\n")


def test_the_plugin_starts_the_server_waits_for_it_and_stops_it_on_exit(editor, tmp_path):
    port = free_port()
    ed = editor(managed(port, f"[{sys.executable!r}, {SERVE!r}, '{port}', '1.0']"))
    ed.cmd("HybridChat hello")
    lines = ed.wait_answer(timeout=30)
    assert "served by the managed server" in lines
    started = [m for m in ed.messages("info") if "started the local server" in m]
    assert started == ["(hybrid) llama: started the local server (server-llama.log)"]  # short: no hit-enter prompt
    log = (tmp_path / "data" / "server-llama.log").read_text()
    pid = int(re.search(r"pid (\d+)", log).group(1))
    assert alive(pid) and f"serving on 127.0.0.1:{port}" in log

    ed.cmd("HybridChat again")  # the same server answers; no second start
    ed.wait_answer(2)
    assert len([m for m in ed.messages("info") if "started the local server" in m]) == 1

    ed.close()
    assert gone_within(pid, 10), "the server outlived Neovim"


def test_a_server_already_running_is_used_not_started_again(editor, openai):
    port = int(openai.url.rsplit(":", 1)[1])
    ed = editor(managed(port, "[no-such-server-binary]"))
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    assert not [m for m in ed.messages() if "started the local server" in m]


def test_a_server_that_exits_says_why(editor):
    port = free_port()
    ed = editor(managed(port, f"[{sys.executable!r}, '-c', 'import sys; print(\"model file not found\"); sys.exit(3)']"))
    ed.cmd("HybridChat hello")
    ed.wait(lambda: [m for m in ed.messages("error") if "exited with code 3" in m], timeout=20, what="the error")
    error = [m for m in ed.messages("error") if "exited with code 3" in m][0]
    assert "before answering: model file not found" in error and "\n" not in error


def test_a_missing_program_names_the_key(editor):
    port = free_port()
    ed = editor(managed(port, "[no-such-server-binary, --port, '1']"))
    ed.cmd("HybridChat hello")
    ed.wait(lambda: [m for m in ed.messages("error") if "not installed" in m], timeout=20, what="the error")
    error = [m for m in ed.messages("error") if "not installed" in m][0]
    assert "'no-such-server-binary' is not installed or not on PATH (backend.llama.command)" in error


def health(ed) -> str:
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    ed.cmd("bwipeout!")  # the next :checkhealth makes a fresh one
    return text


def test_checkhealth_tells_whether_the_plugin_started_the_server(editor, tmp_path):
    port = free_port()
    ed = editor(managed(port, f"[{sys.executable!r}, {SERVE!r}, '{port}']"))
    text = health(ed)
    log = tmp_path / "data" / "server-llama.log"
    assert f"llama: not running; the plugin starts `{sys.executable} {SERVE} {port}` on first use; output in {log}" in text
    assert "does not answer" not in text  # not expected to before its first use
    ed.cmd("HybridChat hello")
    ed.wait_answer(timeout=30)
    pid = int(re.search(r"pid (\d+)", log.read_text()).group(1))
    text = health(ed)
    assert f"llama: the plugin started its server (pid {pid}) and stops it when Neovim exits; output in {log}" in text
    assert "llama (local, openai) at" in text and "answers" in text


def test_checkhealth_names_a_server_program_that_is_missing(editor):
    ed = editor(managed(free_port(), "[no-such-server-binary, --port, '1']"))
    text = health(ed)
    assert ("ERROR llama: cannot start its server: no-such-server-binary is not installed or not on PATH "
            "(backend.llama.command)") in text
