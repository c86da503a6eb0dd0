"""Servers that misbehave, seen from a real Neovim: each ends in the right text or one clear
message, the editor keeps answering while it streams, and the host's memory stays bounded."""

import json
import os
import subprocess
import sys
import tempfile
import time
import zlib

import pytest

from hybrid_core.saved_chats import parse

pytestmark = pytest.mark.nvim

KEY = {"O_API_KEY": "test-key-hostile"}
FREEZE = 1.0  # seconds: an editor that takes longer than this to answer a call is frozen
# seconds: 99% of the calls to the editor answer within this while a stream runs (the issue's
# bound). Measured alone on the 2-core machine: 5-6 ms for a cancel, 30 ms for 10 MB on one line.
P99 = 0.1
PEAK_MB = 150  # the host's peak RSS (it idles at about 50 MB)


def config(server, read_timeout=10, extra=""):
    if server.protocol == "ollama":
        backend = f"o: {{type: ollama, base_url: '{server.url}', default_model: fake-model}}"
    else:
        backend = f"o: {{type: openai, base_url: '{server.url}/v1', default_model: fake-model, local: false}}"
    return f"defaults: {{read_timeout: {read_timeout}{extra}}}\nbackend:\n  {backend}\n"


class Latency:
    """Times a trivial call to the editor, again and again, while something else goes on; and,
    inside the editor, the longest its loop was held up (a 10 ms timer that fires late)."""

    def __init__(self, ed):
        self.ed = ed
        self.samples: list[float] = []
        ed.lua("""
          if _G.test_stall_timer then _G.test_stall_timer:close() end
          local last = vim.uv.hrtime()
          _G.test_stall = 0
          _G.test_stall_timer = vim.uv.new_timer()
          _G.test_stall_timer:start(10, 10, function()
            local now = vim.uv.hrtime()
            _G.test_stall = math.max(_G.test_stall, (now - last) / 1e9 - 0.01)
            last = now
          end)
        """)

    @property
    def stall(self) -> float:
        """Seconds: the longest the editor's loop could not run (by its own clock)."""
        return self.ed.lua("return _G.test_stall")

    def sample(self):
        t0 = time.monotonic()
        self.ed.nvim.eval("1")
        self.samples.append(time.monotonic() - t0)

    def until(self, pred, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            self.sample()
            value = pred()
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {what}; chat: {self.ed.chat_lines()[-5:]!r}"
            time.sleep(0.005)

    def during(self, seconds: float):
        end = time.monotonic() + seconds
        self.until(lambda: time.monotonic() > end, seconds + 60, "the time to pass")

    @property
    def worst(self) -> float:
        return max(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[int(0.99 * (len(ordered) - 1))]


def host_pid(ed) -> int:
    return ed.lua("return vim.fn.jobpid(require('hybrid.host').channel())")


def host_status_mb(ed, field: str) -> float:
    for line in open(f"/proc/{host_pid(ed)}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field}")


def peak_rss_mb(ed) -> float:
    """The most memory the host has held since it started (it starts with each test's Neovim)."""
    return host_status_mb(ed, "VmHWM")


def cancel_seconds(ed) -> float:
    """:HybridCancel, and the time until the chat shows the answer cancelled and nothing runs."""
    t0 = time.monotonic()
    ed.cmd("HybridCancel")
    ed.wait(lambda: "_[cancelled]_" in ed.chat_lines() and not ed.status()["busy"], 60, "the cancel")
    return time.monotonic() - t0


def first_chunk(protocol: str, text: str) -> bytes:
    """One piece of answer text in the server's format."""
    if protocol == "ollama":
        return json.dumps({"message": {"role": "assistant", "content": text}, "done": False}).encode() + b"\n"
    event = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def answer_lines(lines):
    """The answer's buffer lines: between its header and the blank line before the closing prompt."""
    start = next(i for i, line in enumerate(lines) if line.startswith("## local") or line.startswith("## cloud"))
    end = len(lines) - 1 - lines[::-1].index("## You")
    return lines[start + 1:end - 1]


def answer_of(lines):
    """The answer's text: between its header and the closing prompt."""
    start = next(i for i, line in enumerate(lines) if line.startswith("## local") or line.startswith("## cloud"))
    end = len(lines) - 1 - lines[::-1].index("## You")
    return "\n".join(lines[start + 1:end - 1])


class ExternalProbe:
    """Round trips to the editor timed from another process (tests/rpc_probe.py), while the block runs."""

    def __init__(self, ed):
        self.ed = ed
        self.stop = os.path.join(tempfile.mkdtemp(), "stop")
        self.samples: list[float] = []

    def __enter__(self):
        address = self.ed.lua("return vim.fn.serverstart()")
        self.proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "rpc_probe.py"), address,
                                      self.stop], stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        open(self.stop, "w").close()
        out, _ = self.proc.communicate(timeout=30)
        self.samples = sorted(float(line) for line in out.split())

    @property
    def p99(self) -> float:
        return self.samples[int(0.99 * (len(self.samples) - 1))]


def watch_answer(ed, text="hi", timeout=60):
    """Send `text`; until the answer ends, time a trivial call to the editor. Returns (lines, Latency)."""
    watch = watch_until_end(ed, text, timeout)
    return ed.chat_lines(), watch


def watch_until_end(ed, text="hi", timeout=60):
    """Send `text`; until the answer ends, time a trivial call to the editor. Returns the Latency."""
    ed.cmd(f"HybridChat {text}")
    watch = Latency(ed)

    def ended():  # cheap, as it runs in the editor between the timed calls: a fresh prompt, nothing running
        return ed.lua("""
          local b = require('hybrid.chat').buf()
          if not b or require('hybrid').status().busy then return false end
          local n = vim.api.nvim_buf_line_count(b)
          local tail = vim.api.nvim_buf_get_lines(b, math.max(n - 2, 0), n, false)
          return n > 2 and tail[1] == '## You' and tail[2] == ''  -- (2 lines: not sent yet)
        """)

    watch.until(ended, timeout, "the end of the answer")
    return watch


def ask_and_watch(ed, text="hi", timeout=60):
    """Send `text`; until the answer ends, time a trivial call to the editor. Returns (lines, worst)."""
    lines, watch = watch_answer(ed, text, timeout)
    return lines, watch.worst


def host_rss_mb(ed) -> float:
    return host_status_mb(ed, "VmRSS")


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
    assert "".join(answer_lines(lines)) == openai.reply  # (shown in lines of 1000 bytes)
    assert worst < FREEZE


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_a_line_of_1_mb(editor, request, server):
    srv = request.getfixturevalue(server)
    srv.reply = "y" * 1_000_000
    srv.chunk_size = 1_000_000  # one event, one line of a megabyte
    ed = editor(config(srv), env=KEY)
    lines, watch = watch_answer(ed)
    assert "".join(answer_lines(lines)) == srv.reply
    # The editor's own clock is the guard: its loop was held up 30 ms here. A call's round trip
    # also waits on this test process, which serves the megabyte from a thread (0.5 s, up to
    # 1.3 s on a loaded machine), so it gets a looser bound.
    assert watch.stall < FREEZE / 2
    assert watch.worst < 3 * FREEZE


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


# -- issue 16: bounded memory, prompt cancel, a responsive editor ------------------------------

def gzip_flood(first: bytes, megabytes: int) -> list[bytes]:
    """A gzip body: `first`, then `megabytes` MB of newlines (2 MB on the wire), in 64 KB chunks."""
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    body = z.compress(first) + b"".join(z.compress(b"\n" * (1 << 20)) for _ in range(megabytes)) + z.flush()
    return [body[i:i + 65536] for i in range(0, len(body), 65536)]


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_a_gzip_body_that_inflates_to_512_mb_of_newlines(editor, request, server):
    # Decoded a piece at a time, with the loop's turn between pieces: memory stays flat, the
    # editor answers, and a cancel lands at once (it took 14-55 s, and the host 685 MB).
    srv = request.getfixturevalue(server)
    srv.raw_stream = gzip_flood(first_chunk(server, "before the flood"), 512)
    srv.raw_headers = {"Content-Encoding": "gzip"}
    ed = editor(config(srv, read_timeout=60), env=KEY)
    ed.cmd("HybridChat hi")
    watch = Latency(ed)
    watch.until(lambda: "before the flood" in ed.chat_lines(), 30, "the text before the flood")
    watch.during(2.0)  # the host inflates newlines all this time
    assert ed.status()["busy"]
    took = cancel_seconds(ed)
    peak = peak_rss_mb(ed)
    print(f"{server}: cancel {took * 1000:.0f} ms, host peak {peak:.0f} MB, editor p99 {watch.p99 * 1000:.1f} ms")
    assert took < 1.0
    assert watch.p99 < P99
    assert peak < PEAK_MB
    assert ed.messages("error") == []


def test_an_answer_past_max_answer_mb_ends_with_one_line(editor, openai):
    openai.reply = ("0123456789abcdef" * 8 + "\n") * 24000  # 3.1 MB
    openai.chunk_size = 16384
    ed = editor(config(openai, extra=", max_answer_mb: 1"), env=KEY)
    lines, watch = watch_answer(ed)
    message = "o: the answer passed 1 MB, so the rest was not read (raise backend.o.max_answer_mb)"
    assert [line for line in lines if line.startswith("> **error:**")] == [
        f"> **error:** {message} — :HybridRetry tries again"]
    assert len(ed.messages("error")) == 1 and message in ed.messages("error")[0]
    shown = "\n".join(answer_lines(lines)[:-2])  # the text above the error line
    assert 900_000 < len(shown) <= 1_000_000 and openai.reply.startswith(shown)
    assert watch.p99 < P99
    assert peak_rss_mb(ed) < PEAK_MB


def test_an_sse_event_that_never_ends(editor, openai):
    # 400 MB of data: lines and no blank line to end the event: capped as a line is.
    def endless():
        yield first_chunk("openai", "before the endless event")
        chunk = (b"data: " + b"x" * 58 + b"\n") * 1000
        for _ in range(400_000_000 // len(chunk)):
            yield chunk

    openai.raw_stream = endless
    ed = editor(config(openai), env=KEY)
    lines, watch = watch_answer(ed)
    assert "before the endless event" in lines
    assert any(line.startswith(f"> **error:** o: unreadable stream from {openai.url}/v1/chat/completions: "
                               "an event longer than 16777216 bytes (no blank line ends it)") for line in lines)
    peak = peak_rss_mb(ed)
    print(f"endless event: host peak {peak:.0f} MB, editor p99 {watch.p99 * 1000:.1f} ms")
    assert peak < PEAK_MB
    assert watch.p99 < P99


def test_10_mb_without_a_newline_keeps_the_editor_responsive(editor, openai):
    # Appending every flush to one growing line copied it (and its undo copy) each time: the
    # stalls grew with the line. The answer is shown in lines of at most 1000 bytes instead.
    openai.reply = ("abcdefgh é € 😀 " * 700_000)[:10_000_000]
    openai.chunk_size = 16384
    ed = editor(config(openai), env=KEY)
    with ExternalProbe(ed) as probe:  # this test's own process is busy serving the 10 MB
        watch = watch_until_end(ed, timeout=120)
    shown = answer_lines(ed.chat_lines())  # (reading 10 MB back holds the editor: not while timed)
    print(f"10 MB on one line: editor p99 {probe.p99 * 1000:.1f} ms, longest stall {watch.stall * 1000:.0f} ms, "
          f"{len(shown)} buffer lines")
    assert "".join(shown) == openai.reply
    assert max(len(line.encode()) for line in shown) <= 1000
    # Timed from another process: 30 ms. It froze for 42 s at first; then, with Neovim's regex
    # markdown syntax redrawing 1000-byte lines, calls still waited 0.3-0.5 s after the last text.
    assert probe.p99 < P99
    assert watch.stall < FREEZE / 2  # (it was 1.2 s; by the test's own clock the worst call took 5 s)
    # Reopened from its file, it is shown the same way.
    ed.cmd("bwipeout!")
    ed.lua("package.loaded['hybrid.chat'] = nil")  # as in a new session: the first open restores
    ed.cmd("HybridChat")
    reopened = ed.wait(lambda: (ls := ed.chat_lines()) and len(ls) > 100 and ls, 30, "the reopened chat")
    assert "".join(answer_lines(reopened)) == openai.reply


SMILE = "smile 😀 done, lone \ufffdx"


def surrogate_halves(protocol: str) -> list[bytes]:
    """An emoji as two JSON escapes in two events, as real servers send it, then a lone half."""
    if protocol == "ollama":
        def piece(content: bytes) -> bytes:
            return b'{"message":{"role":"assistant","content":"' + content + b'"},"done":false}\n'
        end = [json.dumps({"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}).encode()
               + b"\n"]
    else:
        def piece(content: bytes) -> bytes:
            return b'data: {"choices":[{"index":0,"delta":{"content":"' + content + b'"},"finish_reason":null}]}\n\n'
        end = [b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n', b"data: [DONE]\n\n"]
    return [piece(rb"smile \ud83d"), piece(rb"\ude00 done, lone \ud83d"), piece(b"x"), *end]


def saved_answers(tmp_path) -> list[str]:
    return [t.answer for p in (tmp_path / "data" / "chats").glob("*.jsonl") for t in parse("c", p.read_bytes()).turns]


@pytest.mark.parametrize("server", ["ollama", "openai"])
def test_an_emoji_split_into_surrogate_halves(editor, request, server, tmp_path):
    # It used to raise in the host: a traceback in a hit-enter prompt, the text lost, and the
    # thread that saves chats dead for the rest of the session.
    srv = request.getfixturevalue(server)
    srv.raw_stream = surrogate_halves(server)
    srv.raw_delay = 0.05  # each event in its own read
    ed = editor(config(srv), env=KEY)
    lines, _ = watch_answer(ed)
    assert answer_lines(lines) == [SMILE]
    assert ed.messages("error") == []
    ed.wait(lambda: SMILE in saved_answers(tmp_path), what="the answer in the chat file")
    # Chats are still saved afterwards.
    srv.raw_stream = None
    srv.reply = "the next answer"
    watch_answer(ed, "again")
    ed.wait(lambda: "the next answer" in saved_answers(tmp_path), what="the next answer in the chat file")
    assert not ed.status()["busy"]


def test_a_buffer_with_invalid_utf8_is_sent_lossily(editor, ollama, tmp_path):
    # A binary file opened with ++bad=keep: its bytes went as an internal error, and no chat was
    # saved for the rest of the session.
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"header ok\nbad \xff\xfe bytes \xc3\nend\n")
    ollama.reply = "It is a binary file."
    ed = editor(config(ollama))
    ed.cmd(f"edit ++enc=utf-8 ++bad=keep {binary}")
    ed.cmd("%HybridChat what is this?")
    lines = ed.wait_answer()
    assert "It is a binary file." in lines
    sent = ollama.chat_requests()[-1]["json"]["messages"][-1]["content"]
    assert "bad \ufffd\ufffd bytes \ufffd" in sent and "header ok" in sent
    notices = [m for m in ed.messages() if "not UTF-8" in m]
    assert notices == ["(hybrid) the text has bytes that are not UTF-8 (a binary file?); they were sent as \ufffd"]
    assert ed.messages("error") == []
    ed.wait(lambda: "It is a binary file." in saved_answers(tmp_path), what="the chat in its file")
    ollama.reply = "Still saving."
    ed.cmd("HybridChat and now?")
    ed.wait_answer(2)
    ed.wait(lambda: "Still saving." in saved_answers(tmp_path), what="the next answer in the chat file")
