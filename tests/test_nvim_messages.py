"""What the user reads. Messages really render here (a UI is attached, 80x24, Neovim's default
options): normal use, an answered fallback included, raises no hit-enter prompt, and waits are
said in a status line under the answer's header rather than in messages."""

import os
import sys
import time

import pynvim
import pytest

from configs import two_sides
from fakeservers import free_port
from nvim_harness import ROOT, MessageWatch, nvim_binary, plain

pytestmark = pytest.mark.nvim

KEY = {"GROQ_API_KEY": "test-key"}
SERVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve_fake.py")

STATUS_LINES = """
  local ns = vim.api.nvim_get_namespaces().hybrid_chat
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(require('hybrid.chat').buf(), ns, 0, -1, { details = true })) do
    for _, line in ipairs(m[4].virt_lines or {}) do table.insert(out, line[1][1]) end
  end
  return out"""


def said(ed) -> str:
    return ed.lua("return vim.api.nvim_exec2('messages', { output = true }).output")


def test_an_answered_fallback_raises_no_hit_enter_prompt_at_80_columns(editor, openai):
    # Ollama is down (nothing listens) and the cloud answers with a model that has no known
    # price: this used to give four notices in a row (two retries, the fallback, the price).
    openai.reply = "the cloud answers"
    openai.model_waits = {"fake-model": 1.0}  # time to see the status line before the first token
    ed = editor(two_sides(f"http://127.0.0.1:{free_port()}", openai.url), env=KEY)
    watch = ed.watch_messages(80, 24)
    seen = set()
    ed.cmd("HybridChat hello there")
    ed.wait(lambda: seen.update(ed.lua(STATUS_LINES)) or any("instead" in s for s in seen), timeout=20,
            what="the fallback's status line")
    lines = ed.wait_answer()
    assert "## cloud · groq · fake-model · general question; ollama failed" in map(plain, lines)
    assert "the cloud answers" in lines
    assert any(s.endswith("answering with groq (cloud) instead") for s in seen)
    assert ed.lua(STATUS_LINES) == []  # gone once the answer came
    assert ed.messages() == [], said(ed)
    # More of normal use: a second question, a backend switch, a cancel with nothing running.
    ed.cmd("HybridChat and again")
    ed.wait_answer(2)
    ed.cmd("HybridBackend groq")
    ed.wait(lambda: ed.status()["mode"] == "fixed", what="the switch")
    ed.cmd("HybridCancel")
    ed.wait(lambda: len(ed.messages()) == 2, what="both notices")
    time.sleep(0.3)  # a prompt would come with the next redraw
    assert watch.prompts == [], f"{len(watch.prompts)} hit-enter prompt(s); :messages:\n{said(ed)}"
    assert all(len(m) < 69 for m in ed.messages()), ed.messages()


def test_retries_are_shown_under_the_answer_header_not_as_messages(editor, openai):
    openai.mode, openai.status, openai.fail_first = "status", 429, 2
    openai.headers = {"Retry-After": "1"}
    openai.reply, openai.models = "third time lucky", ["m"]
    ed = editor(f"backend:\n  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: m, local: false}}\n",
                env=KEY)
    seen = []

    def note():
        for line in ed.lua(STATUS_LINES):
            if line not in seen:
                seen.append(line)
        return "third time lucky" in ed.chat_lines()

    ed.cmd("HybridChat hi")
    ed.wait(note, timeout=20, what="the answer")
    ed.wait_answer()
    assert len(seen) == 2 and all(s.startswith("groq: rate limited (429") for s in seen), seen
    assert seen[0].endswith("trying again in 1.0 s (2 of 3)") and seen[1].endswith("(3 of 3)")
    lines = ed.chat_lines()
    header = lines.index("## cloud · groq · m · fixed backend")
    assert lines[header + 1] == "third time lucky"  # the status line was never text in the chat
    assert ed.lua(STATUS_LINES) == [] and ed.messages() == []


def test_the_demo_starts_without_a_hit_enter_prompt(tmp_path):
    # The demo's greeting and the notice that it started the local model both fit one line.
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import demo

    port = free_port()
    init = demo.prepare(str(tmp_path / "demo"), port, [sys.executable, SERVE, str(port), "0.2"])
    sock = str(tmp_path / "nvim.sock")
    env = {k: str(tmp_path / "xdg" / k) for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        # --embed without --headless: Neovim starts (and greets) only once a UI is attached.
        nvim = pynvim.attach("child", argv=[nvim_binary(), "--embed", "--listen", sock, "-u", init, "-i", "NONE", "-n"])
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    watch = None
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        watch = MessageWatch(sock, 80, 24)

        def messages():
            return nvim.exec_lua("return vim.api.nvim_exec2('messages', { output = true }).output")

        deadline = time.monotonic() + 30
        while "llama: started the local server" not in messages() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert demo.GREETING in messages() and "llama: started the local server (server-llama.log)" in messages()
        assert nvim.exec_lua("return vim.b.hybrid_chat_id ~= nil")  # the chat is open, in insert mode
        # example.py opened with its filetype: :HybridAsk there matches the answer's ```python block.
        assert nvim.exec_lua("return vim.bo[vim.fn.bufnr('example.py')].filetype") == "python"
        assert watch.prompts == [], messages()
    finally:
        if watch:
            watch.close()
        try:
            nvim.command("qa!")
        except Exception:
            pass
        nvim.close()


def test_the_demo_keeps_the_users_setup_yaml_and_updates_only_the_port(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import demo

    directory = str(tmp_path / "demo")
    demo.prepare(directory, 40001, ["llama-server", "--port", "40001"])
    config = tmp_path / "demo" / "setup.yaml"
    config.write_text(config.read_text().replace("  # openrouter:\n", "  mine: {type: openai, base_url: 'http://h/v1', "
                                                                       "default_model: m}\n  # openrouter:\n"))
    demo.prepare(directory, 40002, ["llama-server", "--port", "40002"])
    text = config.read_text()
    assert "mine: {type: openai" in text
    assert "base_url: http://127.0.0.1:40002/v1" in text and "40001" not in text
