""":HybridAsk in a real embedded Neovim: review, accept, reject, !, undo, conflicts, failures."""

import pytest

from nvim_harness import review

pytestmark = pytest.mark.nvim

CODE = ["import os", "", "def f(x):", "    return x+1", "", "print(f(1))"]


def config(server):
    return ("backend:\n"
            f"  ollama: {{type: ollama, base_url: '{server.url}', default_model: fake-model, "
            "agent_models: {editor: other-model}}\n")


@pytest.fixture
def ed(editor, ollama):
    e = editor(config(ollama))
    e.nvim.current.buffer[:] = CODE
    e.cmd("set filetype=python")
    e.cmd("file demo.py")
    e.cmd("set nomodified")
    return e


def wait_review(ed):
    ed.wait(lambda: review(ed) and "ga accept" in review(ed)[0], what="the review")
    return review(ed)[1:]


def lines(ed):
    return ed.nvim.current.buffer[:]


def test_linewise_review_then_accept_and_one_undo(ed, ollama):
    ollama.reply = "Here you go:\n```python\ndef f(x):\n    return x + 2\n```\nThat adds two."
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk add two instead of one")
    assert wait_review(ed) == ["def f(x):", "    return x + 2"]
    assert lines(ed) == CODE  # nothing applied before accepting
    assert ed.status()["pending_edit"] is True
    ed.nvim.input("ga")
    ed.wait(lambda: lines(ed)[3] == "    return x + 2", what="applied edit")
    assert lines(ed) == ["import os", "", "def f(x):", "    return x + 2", "", "print(f(1))"]
    assert ed.status()["pending_edit"] is False and review(ed) == []
    ed.nvim.input("u")
    ed.wait(lambda: lines(ed) == CODE, what="one undo to restore")
    # What the server got: the editor model, the instruction, the selection and its surroundings.
    sent = ollama.chat_requests()[0]["json"]
    assert sent["model"] == "other-model"
    prompt = sent["messages"][-1]["content"]
    assert "add two instead of one" in prompt and "demo.py (python)" in prompt
    assert "```python\ndef f(x):\n    return x+1\n```" in prompt
    assert prompt.index("import os") < prompt.index("return x+1") < prompt.index("print(f(1))")


def test_review_then_reject_leaves_buffer(ed, ollama):
    ollama.reply = "def g(): pass"
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk rename")
    wait_review(ed)
    ed.cmd("HybridReject")
    assert lines(ed) == CODE and review(ed) == [] and ed.status()["pending_edit"] is False
    assert ed.lua("return vim.bo.modified") is False


def test_charwise_keeps_text_around_selection(ed, ollama):
    ed.nvim.current.buffer[:] = ["result = compute(alpha, beta) + 1", "next = 2"]
    ollama.reply = "Sure! Here you go:\n```python\nmath.fsum([alpha, beta])\n```\nThis sums them."
    ed.cmd("normal! 1G0f(bvf)\x1b")  # compute(alpha, beta)
    ed.cmd("'<,'>HybridAsk use fsum")
    assert wait_review(ed) == ["math.fsum([alpha, beta])"]
    ed.cmd("HybridAccept")
    assert lines(ed) == ["result = math.fsum([alpha, beta]) + 1", "next = 2"]
    assert "compute(alpha, beta)" in ollama.chat_requests()[0]["json"]["messages"][-1]["content"]


def test_charwise_multibyte_end(ed, ollama):
    ed.nvim.current.buffer[:] = ['s = "héé" + x']
    ollama.reply = '"hoo"'
    ed.cmd('normal! 1G0f"vf"\x1b')  # "héé" including the closing quote after é
    ed.cmd("'<,'>HybridAsk! replace")
    ed.wait(lambda: lines(ed) == ['s = "hoo" + x'], what="multibyte-safe edit")


def test_blockwise(ed, ollama):
    ed.nvim.current.buffer[:] = ["a = 1;", "b = 2;", "c = 3;"]
    ollama.reply = "10\n20\n30"
    ed.cmd("normal! 1G04l\x16jj\x1b")
    ed.cmd("'<,'>HybridAsk! times ten")
    ed.wait(lambda: lines(ed) == ["a = 10;", "b = 20;", "c = 30;"], what="block edit")
    ed.nvim.input("u")
    ed.wait(lambda: lines(ed) == ["a = 1;", "b = 2;", "c = 3;"], what="one undo")


def test_bang_applies_without_review_and_restores_indent(ed, ollama):
    ed.nvim.current.buffer[:] = ["class A:", "    def f(self):", "        return 1", "x = 1"]
    ollama.reply = "```python\ndef f(self):\n    return 2\n```"
    ed.cmd("2,3HybridAsk! return two")
    ed.wait(lambda: lines(ed)[2] == "        return 2", what="applied with indentation")
    assert lines(ed) == ["class A:", "    def f(self):", "        return 2", "x = 1"]
    assert ed.status()["pending_edit"] is False
    ed.nvim.input("u")
    ed.wait(lambda: lines(ed)[2] == "        return 1", what="undo")


def test_no_range_is_current_line_and_line_endings_kept(ed, ollama):
    ed.cmd("set fileformat=dos")
    ollama.reply = "import sys"
    ed.cmd("normal! 1G")
    ed.cmd("HybridAsk! use sys")
    ed.wait(lambda: lines(ed)[0] == "import sys", what="current line edited")
    assert lines(ed)[1:] == CODE[1:]
    assert ed.lua("return vim.bo.fileformat") == "dos" and ed.lua("return vim.bo.eol") is True


def test_no_instruction_asks_with_ui_input(ed, ollama):
    ollama.reply = "import sys"
    ed.lua("vim.ui.input = function(opts, cb) _G.asked = opts.prompt; cb('use sys') end")
    ed.cmd("normal! 1G")
    ed.cmd("HybridAsk!")
    ed.wait(lambda: lines(ed)[0] == "import sys", what="edit after ui.input")
    assert "rewrite" in ed.lua("return _G.asked")
    assert "use sys" in ollama.chat_requests()[0]["json"]["messages"][-1]["content"]


def test_buffer_changed_during_stream_applies_nothing(ed, ollama):
    ollama.reply = "def g(y):\n    return y"
    ollama.delay = 0.05
    source = ed.nvim.current.buffer
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk! rename")
    ed.wait(lambda: ollama.stream_started.is_set(), what="stream start")
    ed.lua("vim.api.nvim_buf_set_text(0, 3, 4, 3, 4, { 'typed ' })")  # user types inside the selection
    ed.wait(lambda: ed.messages("error"), what="conflict message")
    assert "changed while the answer streamed" in ed.messages("error")[0]
    assert source[3] == "    typed return x+1"
    # The proposal is kept where it can be copied.
    assert ed.nvim.current.buffer[:] == ["def g(y):", "    return y"]


def test_edit_above_the_selection_still_applies(ed, ollama):
    ollama.reply = "def f(x):\n    return x * 2"
    ollama.delay = 0.05
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk double")
    ed.wait(lambda: ollama.stream_started.is_set(), what="stream start")
    ed.lua("vim.api.nvim_buf_set_lines(0, 0, 0, false, { '# new header' })")
    wait_review(ed)
    ed.cmd("HybridAccept")
    assert lines(ed) == ["# new header", "import os", "", "def f(x):", "    return x * 2", "", "print(f(1))"]


def test_cancel_mid_stream_leaves_buffer(ed, ollama):
    ollama.mode = "hang"
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk! rewrite")
    ed.wait(lambda: ollama.stream_started.is_set(), what="stream start")
    ed.cmd("HybridCancel")
    ed.wait(lambda: not ed.status()["pending_edit"], what="cancel")
    assert lines(ed) == CODE and review(ed) == []
    assert any("cancelled" in m for m in ed.messages())
    ed.wait(lambda: ollama.disconnects, what="server sees the close")


def test_ctrl_c_in_the_buffer_cancels(ed, ollama):
    ollama.mode = "hang"
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk rewrite")
    ed.wait(lambda: ollama.stream_started.is_set(), what="stream start")
    ed.nvim.input("<C-c>")
    ed.wait(lambda: not ed.status()["pending_edit"], what="cancel")
    assert lines(ed) == CODE


@pytest.mark.parametrize("mode", ["inband_error", "cut"])
def test_failure_mid_stream_leaves_buffer_and_says_why(ed, ollama, mode):
    ollama.mode = mode
    ed.cmd("normal! 3GVj\x1b")
    ed.cmd("'<,'>HybridAsk! rewrite")
    ed.wait(lambda: ed.messages("error"), what="failure message")
    msg = ed.messages("error")[0]
    assert "buffer is unchanged" in msg
    assert ("an error was encountered" in msg) if mode == "inband_error" else ("incomplete" in msg)
    assert lines(ed) == CODE and ed.status()["pending_edit"] is False


def test_server_down_leaves_buffer(editor):
    from fakeservers import free_port
    ed = editor(f"backend:\n  ollama: {{type: ollama, base_url: 'http://127.0.0.1:{free_port()}', default_model: m}}\n")
    ed.nvim.current.buffer[:] = CODE
    ed.cmd("3,4HybridAsk! rewrite")
    ed.wait(lambda: ed.messages("error"), what="failure message")
    assert "nothing answers at" in ed.messages("error")[0]
    assert ed.nvim.current.buffer[:] == CODE


def test_review_keys_are_configurable_and_removed_after(ed, ollama):
    ollama.reply = "import sys"
    ed.setup("{ ask = { accept = 'zy', reject = 'zn' } }")
    ed.cmd("1HybridAsk use sys")
    ed.wait(lambda: review(ed) and "zy accept, zn reject" in review(ed)[0], what="review with custom keys")
    ed.nvim.input("zy")
    ed.wait(lambda: lines(ed)[0] == "import sys", what="accept with zy")
    assert ed.lua("return vim.fn.maparg('zy', 'n')") == ""  # no leftover mapping
