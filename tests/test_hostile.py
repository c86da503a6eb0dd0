"""Servers that misbehave, seen from a real Neovim: each ends in the right text or one clear
message, the editor keeps answering while it streams, and the host's memory stays bounded."""

import json
import time

import pytest

pytestmark = pytest.mark.nvim

KEY = {"O_API_KEY": "test-key-hostile"}
FREEZE = 1.0  # seconds: an editor that takes longer than this to answer a call is frozen


def config(server, read_timeout=10):
    if server.protocol == "ollama":
        backend = f"o: {{type: ollama, base_url: '{server.url}', default_model: fake-model}}"
    else:
        backend = f"o: {{type: openai, base_url: '{server.url}/v1', default_model: fake-model, local: false}}"
    return f"defaults: {{read_timeout: {read_timeout}}}\nbackend:\n  {backend}\n"


def answer_of(lines):
    """The answer's text: between its header and the closing prompt."""
    start = next(i for i, line in enumerate(lines) if line.startswith("## local") or line.startswith("## cloud"))
    end = len(lines) - 1 - lines[::-1].index("## You")
    return "\n".join(lines[start + 1:end - 1])


def ask_and_watch(ed, text="hi", timeout=60):
    """Send `text`; until the answer ends, time a trivial call to the editor. Returns (lines, worst)."""
    ed.cmd(f"HybridChat {text}")
    worst = 0.0
    deadline = time.monotonic() + timeout
    while True:
        t0 = time.monotonic()
        ed.nvim.eval("1")
        worst = max(worst, time.monotonic() - t0)
        busy = ed.status()["busy"]
        count = ed.lua("local b = require('hybrid.chat').buf(); "
                       "return b and #vim.tbl_filter(function(l) return l == '## You' end, "
                       "vim.api.nvim_buf_get_lines(b, 0, -1, false)) or 0")
        if count >= 2 and not busy:
            return ed.chat_lines(), worst
        assert time.monotonic() < deadline, "the answer did not end"
        time.sleep(0.005)


def host_rss_mb(ed) -> float:
    pid = ed.lua("return vim.fn.jobpid(require('hybrid.host').channel())")
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_a_5_mb_answer(editor, request, server):
    srv = request.getfixturevalue(server)
    srv.reply = ("0123456789abcdef" * 8 + "\n") * 40000  # 5.2 MB in 40,000 lines
    srv.chunk_size = 8192
    ed = editor(config(srv), env=KEY)
    lines, worst = ask_and_watch(ed)
    assert answer_of(lines).rstrip("\n") == srv.reply.rstrip("\n")
    assert worst < FREEZE
    rss = host_rss_mb(ed)
    print(f"{server}: 5 MB answer, host RSS {rss:.0f} MB, slowest editor call {worst * 1000:.0f} ms")
    assert rss < 150


def test_100000_tiny_chunks(editor, openai):
    openai.reply = "ab" * 50000
    openai.chunk_size = 1
    ed = editor(config(openai), env=KEY)
    lines, worst = ask_and_watch(ed)
    assert answer_of(lines) == openai.reply
    assert worst < FREEZE


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_a_line_of_1_mb(editor, request, server):
    srv = request.getfixturevalue(server)
    srv.reply = "y" * 1_000_000
    srv.chunk_size = 1_000_000  # one event, one line of a megabyte
    ed = editor(config(srv), env=KEY)
    lines, worst = ask_and_watch(ed)
    assert answer_of(lines) == srv.reply
    assert worst < FREEZE


def test_invalid_utf8_becomes_replacement_characters(editor, ollama):
    ollama.raw_stream = [
        b'{"message":{"role":"assistant","content":"caf\xc3\xa9 \xff\xfe ok"},"done":false}\n',
        json.dumps({"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}).encode() + b"\n",
    ]
    ed = editor(config(ollama))
    lines, _ = ask_and_watch(ed)
    assert answer_of(lines) == "café \ufffd\ufffd ok"


def test_one_byte_a_second_ends_with_a_clear_message(editor, openai):
    event = b'data: {"choices":[{"index":0,"delta":{"content":"slow"},"finish_reason":null}]}\n\n'
    openai.raw_stream = [bytes([b]) for b in event]
    openai.raw_delay = 1.0
    ed = editor(config(openai, read_timeout=2), env=KEY)
    t0 = time.monotonic()
    lines, worst = ask_and_watch(ed)
    assert time.monotonic() - t0 < 8
    message = f"o: {openai.url}/v1/chat/completions sent bytes but no whole message for 2 s"
    assert any(line.startswith(f"> **error:** {message}") for line in lines)
    assert worst < FREEZE


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_a_server_that_never_answers(editor, request, server):
    srv = request.getfixturevalue(server)
    srv.mode = "silent"
    ed = editor(config(srv, read_timeout=1.5), env=KEY)
    lines, worst = ask_and_watch(ed)
    assert any("no data from" in line and "for 1.5 s" in line for line in lines)
    assert worst < FREEZE
    assert len(ed.messages("error")) == 1


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_html_with_status_200(editor, request, server):
    srv = request.getfixturevalue(server)
    srv.raw_stream = [b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"]
    srv.raw_ctype = "text/html; charset=utf-8"
    ed = editor(config(srv), env=KEY)
    lines, _ = ask_and_watch(ed)
    path = "/api/chat" if server == "ollama" else "/v1/chat/completions"
    assert any(line.startswith(f"> **error:** o: {srv.url}{path} answered with an HTML page, not a stream — check base_url")
               for line in lines)
    assert ed.messages("error") == [m for m in ed.messages("error") if "\n" not in m]
