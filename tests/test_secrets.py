"""The API key never shows: not in data_dir's files, messages, :messages, :checkhealth or URLs."""

import json
import os

import pytest

from fakeservers import free_port

pytestmark = pytest.mark.nvim

KEY = "sk-hybrid-TESTKEY-0123456789abcdef"


def test_the_key_appears_nowhere(editor, openai, tmp_path):
    openai.api_key = KEY
    openai.reply = "cloud answer"
    refusing = type(openai)().start()  # a proxy that refuses the key and echoes it back
    refusing.api_key = "another-key"
    dead = free_port()
    config = ("defaults: {backend: groq}\nbackend:\n"
              f"  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, local: false}}\n"
              f"  proxy: {{type: openai, base_url: '{refusing.url}/v1', default_model: fake-model, local: false}}\n"
              f"  qs: {{type: openai, base_url: 'http://u:{KEY}@127.0.0.1:{dead}/v1?key={KEY}', "
              "default_model: m, local: false}\n")
    keys = tmp_path / "keys.yaml"
    keys.write_text(f"groq: {KEY}\nproxy: {KEY}\nqs: {KEY}\n")
    os.chmod(keys, 0o644)
    try:
        ed = editor(config)
        ed.cmd("HybridChat hello")
        ed.wait_answer()
        assert "cloud answer" in ed.chat_lines()
        assert openai.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"  # it was really used
        for n, name in enumerate(("proxy", "qs"), start=2):
            ed.cmd(f"HybridBackend {name}")
            ed.cmd(f"HybridChat via {name}")
            ed.wait_answer(n)
        ed.cmd("HybridStats")
        ed.wait(lambda: ed.lua("return vim.bo.filetype") == "markdown" and "hybrid://stats" in ed.lua(
            "return vim.api.nvim_buf_get_name(0)"), what="the stats")
        ed.cmd("checkhealth hybrid")
        health = "\n".join(ed.nvim.current.buffer[:])
        ed.cmd("HybridCancel")
        said = ed.nvim.exec_lua("return vim.api.nvim_exec2('messages', { output = true }).output")
        shown = "\n".join(ed.messages())
        chat = "\n".join(ed.chat_lines())
    finally:
        refusing.stop()

    # The failures were reported, without the key.
    assert "the server refused the API key (401: Incorrect API key provided: [redacted].)" in shown
    assert f"nothing answers at http://127.0.0.1:{dead}/v1 " in shown
    assert "keys.yaml can be read by other users; run: chmod 600" in shown
    assert "API key found in" in health
    ed.close()  # the host flushes the ledger and the chat files on exit
    files = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "data") for f in fs]
    assert any(f.endswith("hybrid.log") for f in files) and any(f.endswith(".jsonl") for f in files)
    assert any("usage.sqlite3" in f for f in files)
    for path in files:
        assert KEY.encode() not in open(path, "rb").read(), path
    for where, text in (("notifications", shown), (":messages", said), (":checkhealth", health), ("chat", chat)):
        assert KEY not in text, where


# -- issue 16: never any part of a key -------------------------------------------------------

LONG_KEY = "sk-or-v1-" + "9f3a7c1e5b2d8046aa" + "QZ"  # 29 characters of a plausible key (+ prefix)


def runs_of(key: str, text: str, n: int = 8) -> list[str]:
    """Every run of `n` characters of `key` that shows in `text`."""
    return [key[i:i + n] for i in range(len(key) - n + 1) if key[i:i + n] in text]


def everything_shown(ed, tmp_path) -> dict[str, str]:
    """What a user could see or find: notifications, :messages, the chat, :checkhealth, data_dir's files."""
    shown = {"notifications": "\n".join(ed.messages()), "chat": "\n".join(ed.chat_lines()),
             ":messages": ed.nvim.exec_lua("return vim.api.nvim_exec2('messages', { output = true }).output")}
    ed.cmd("checkhealth hybrid")
    shown[":checkhealth"] = "\n".join(ed.nvim.current.buffer[:])
    ed.close()  # the host flushes the chat files and the log on exit
    for d, _, names in os.walk(tmp_path / "data"):
        for name in names:
            shown[name] = open(os.path.join(d, name), "rb").read().decode("utf-8", "replace")
    return shown


@pytest.mark.parametrize("shape", ["json", "text"])
def test_a_key_echoed_at_the_cut_shows_no_part_of_it(editor, openai, tmp_path, shape):
    # The server echoes the key just where our cut falls (300 characters of a JSON message, 200
    # of plain text): masking the whole key after the cut left 32 of its 35 characters showing.
    openai.api_key = "the-right-key"
    cut = 300 if shape == "json" else 200

    def refuse(given):
        said = "x" * (cut - 32 - len("Bearer ")) + f"Bearer {given} was refused"
        if shape == "json":
            return "application/json", json.dumps({"error": {"message": said, "type": "invalid_request_error"}}).encode()
        return "text/plain", said.encode()

    openai.refuse_with = refuse
    config = ("backend:\n"
              f"  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, local: false}}\n")
    ed = editor(config, env={"GROQ_API_KEY": KEY})
    ed.cmd("HybridChat hello")
    lines = ed.wait_answer()
    assert any(line.startswith("> **error:** groq: the server refused the API key (401: xxx") for line in lines)
    assert any("Bearer [redacted]" in line for line in lines)  # (the notice is cut to one screen line)
    shown = everything_shown(ed, tmp_path)
    assert "Bearer [redacted]" in shown["hybrid.log"] and "Bearer [redacted]" in shown[":checkhealth"]
    assert any(name.endswith(".jsonl") and "Bearer [redacted]" in text for name, text in shown.items())
    for where, text in shown.items():
        assert runs_of(KEY, text) == [], where


def test_a_key_pasted_as_api_key_env_is_not_echoed(editor, tmp_path):
    config = ("backend:\n"
              f"  groq: {{type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: m, api_key_env: {KEY}}}\n")
    ed = editor(config)
    ed.cmd("HybridChat")
    ed.wait(lambda: ed.messages("error"), what="the config error")
    assert ed.messages("error") == [
        f"(hybrid) {tmp_path / 'setup.yaml'}: backend.groq.api_key_env: got a value that looks like a key, not a "
        "variable name; put the key in keys.yaml or the environment and its variable's name here (e.g. GROQ_API_KEY)"]
    shown = everything_shown(ed, tmp_path)
    assert "looks like a key" in shown[":checkhealth"] and "looks like a key" in shown["hybrid.log"]
    for where, text in shown.items():
        assert runs_of(KEY, text) == [], where


def test_a_key_echoed_in_the_answer_is_masked_in_the_chat(editor, openai, tmp_path):
    # A proxy or a model that repeats the request: the key, split across events (and across the
    # editor's flushes), is masked in the chat buffer as in the saved file.
    openai.api_key = KEY
    openai.reply = f"Your header was: Authorization: Bearer {KEY} (and again: {KEY[5:30]})."
    openai.chunk_size = 3
    openai.delay = 0.01
    config = ("backend:\n"
              f"  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, local: false}}\n")
    ed = editor(config, env={"GROQ_API_KEY": KEY})
    ed.cmd("HybridChat what did I send?")
    lines = ed.wait_answer()
    assert "Your header was: Authorization: Bearer [redacted] (and again: [redacted])." in lines
    shown = everything_shown(ed, tmp_path)
    for where, text in shown.items():
        assert runs_of(KEY, text) == [], where
