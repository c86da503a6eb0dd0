"""End to end: the real llama.cpp server with the SmolLM2 model answers in the chat."""

import json
import os
import re
import sys
import time

import httpx
import pytest

from processes import alive, gone_within

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))

from llama_server import MODEL_ALIAS, LlamaServer, command, free_port  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    server = LlamaServer(str(tmp_path_factory.mktemp("llama") / "server.log")).start()
    yield server
    server.stop()


def raw_ttft_ms(base_url: str, text: str) -> float:
    """A raw httpx streaming request's time to its first content chunk."""
    body = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": text}], "stream": True, "max_tokens": 8}
    started = time.monotonic()
    with httpx.stream("POST", f"{base_url}/chat/completions", json=body, timeout=60) as resp:
        for line in resp.iter_lines():
            if '"content"' in line:
                return (time.monotonic() - started) * 1000
    raise AssertionError("no content from the model server")


def routed_config(model_server) -> str:
    """Auto mode: the real model as the local side, a cloud side where nothing listens."""
    return ("defaults: {backend: auto}\n"
            "backend:\n"
            f"  llama: {{type: openai, base_url: '{model_server.base_url}', default_model: {MODEL_ALIAS}}}\n"
            f"  cloud: {{type: openai, base_url: 'http://127.0.0.1:{free_port()}/v1', default_model: big, local: false}}\n")


def test_the_plugin_starts_the_model_server_when_the_chat_opens_and_stops_it_on_exit(editor, tmp_path):
    # First in the file, so the module's own server is not loaded yet (2 cores).
    port = free_port()
    ed = editor("backend:\n  llama:\n    type: openai\n"
                f"    base_url: 'http://127.0.0.1:{port}/v1'\n    default_model: {MODEL_ALIAS}\n"
                f"    command: {json.dumps(command(port))}\n")
    ed.cmd("HybridChat")  # opening the chat is first use: the warm-up starts the server
    ed.wait(lambda: [m for m in ed.messages("info") if "llama: started the local server" in m], timeout=30,
            what="the server to start")
    ed.cmd("HybridChat Say hello in one word.")
    lines = ed.wait_answer(timeout=180)
    assert ed.status()["last"]["backend"] == "llama"
    answer = "\n".join(lines[lines.index("## You") + 2:]).strip()
    assert answer and "**error" not in answer
    log = (tmp_path / "data" / "hybrid.log").read_text()
    pid = int(re.search(r"llama: started .* \(pid (\d+)\)", log).group(1))
    assert alive(pid) and "Uvicorn running" in (tmp_path / "data" / "server-llama.log").read_text()
    ed.close()
    assert gone_within(pid, 15), "the model server outlived Neovim"


def test_local_model_answers_in_the_chat(editor, model_server):
    ed = editor(routed_config(model_server), env={"CLOUD_API_KEY": "test-key"})
    # Note when the first answer text lands in the buffer, from inside the editor.
    ed.lua("""
        local chat = require('hybrid.chat')
        local on_delta = chat.on_delta
        chat.on_delta = function(ev)
          _G.first_text_at = _G.first_text_at or vim.uv.hrtime()
          return on_delta(ev)
        end""")
    ed.lua("_G.sent_at = vim.uv.hrtime(); vim.cmd('HybridChat What is the capital of France? Answer in one sentence.')")
    lines = ed.wait_answer(timeout=180)
    header = next(i for i, line in enumerate(lines) if line.startswith(f"## local · llama · {MODEL_ALIAS} · "))
    answer = "\n".join(lines[header + 1: lines.index("## You", header)]).strip()
    assert answer and not answer.startswith("> **error")
    assert ed.status()["last"]["backend"] == "llama"
    cold = ed.lua("return (_G.first_text_at - _G.sent_at) / 1e6")
    # A warm turn: the host is running and the connection is open.
    ed.lua("_G.first_text_at = nil; _G.sent_at = vim.uv.hrtime(); vim.cmd('HybridChat And of Germany?')")
    ed.wait_answer(2, timeout=180)
    warm = ed.lua("return (_G.first_text_at - _G.sent_at) / 1e6")
    raw = sorted(raw_ttft_ms(model_server.base_url, "What is the capital of France?") for _ in range(3))[1]
    print(f"\nTTFT: plugin cold {cold:.0f} ms (host start included), warm {warm:.0f} ms; raw httpx {raw:.0f} ms")


def test_local_model_answers_a_question_about_the_buffer(editor, model_server, tmp_path):
    (tmp_path / "greet.py").write_text("def greet(name):\n    return 'Hello, ' + name\n")
    ed = editor(routed_config(model_server), env={"CLOUD_API_KEY": "test-key"})
    ed.cmd(f"cd {tmp_path}")
    ed.cmd("edit greet.py")
    ed.cmd("HybridChat What does the function in #buffer return? One sentence.")
    lines = ed.wait_answer(timeout=180)
    assert re.fullmatch(r"> #buffer · greet\.py · 2 lines · ~\d+ tokens", lines[2]), lines[:4]
    header = next(i for i, line in enumerate(lines) if line.startswith(f"## local · llama · {MODEL_ALIAS} · "))
    answer = "\n".join(lines[header + 1: lines.index("## You", header)]).strip()
    assert answer and not answer.startswith("> **error")
    print(f"\n#buffer answer: {answer[:200]!r}")


def test_local_model_rewrites_a_selection(editor, model_server):
    ed = editor(routed_config(model_server), env={"CLOUD_API_KEY": "test-key"})
    original = ["def add(a, b):", "    return a + b", "", "print(add(1, 2))"]
    ed.nvim.current.buffer[:] = original
    ed.cmd("set filetype=python")
    ed.cmd("1,2HybridAsk rename the function to plus")
    proposal_of = """
        local ns = vim.api.nvim_get_namespaces().hybrid_ask
        local out = {}
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
          for _, vl in ipairs(m[4].virt_lines or {}) do table.insert(out, vl[1][1]) end
        end
        return out"""
    ed.wait(lambda: (r := ed.lua(proposal_of)) and "ga accept" in r[0], timeout=180, what="the review")
    proposal = [line if line != " " else "" for line in ed.lua(proposal_of)[1:]]
    assert ed.nvim.current.buffer[:] == original  # nothing applied before accepting
    ed.nvim.input("ga")
    ed.wait(lambda: not ed.status()["pending_edit"], what="accept")
    assert ed.nvim.current.buffer[:] == proposal + original[2:]
    ed.nvim.input("u")
    ed.wait(lambda: ed.nvim.current.buffer[:] == original, what="one undo restores")


def test_hard_question_falls_back_to_the_local_model_when_the_cloud_is_down(editor, model_server):
    ed = editor(routed_config(model_server), env={"CLOUD_API_KEY": "test-key"})
    ed.cmd("HybridChat Why does my threaded counter have a race condition? One sentence.")
    lines = ed.wait_answer(timeout=180)
    header = next(line for line in lines if line.startswith(f"## local · llama · {MODEL_ALIAS} · complex debugging")
                  and line.endswith("; cloud failed"))
    assert not [m for m in ed.messages() if "instead" in m]  # the header says it, no message
    answer = lines[lines.index(header) + 1]
    assert answer and not answer.startswith("> **error")
