"""The API key never shows: not in data_dir's files, messages, :messages, :checkhealth or URLs."""

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
