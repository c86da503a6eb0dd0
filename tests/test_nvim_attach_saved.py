"""A saved chat keeps its attachments (by path, with what was sent): reopened, it shows their
lines, previews them, resends them with the history, stays local when one was sensitive, and a
code block of its answers still applies to the file it was about."""

import pytest

from configs import two_sides

pytestmark = pytest.mark.nvim

KEY = {"GROQ_API_KEY": "test-key"}
CODE = ["def f(x):", "    return x+1"]


def test_a_reopened_chat_shows_previews_and_resends_its_attachments(editor, ollama, openai, tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "demo.py").write_text("\n".join(CODE) + "\n")
    (root / ".env").write_text("REGION=eu\n")
    ollama.reply = "```python\ndef f(x):\n    return x + 2\n```"
    first = editor(two_sides(ollama.url, openai.url), env=KEY)
    first.cmd(f"cd {root}")
    first.cmd("edit demo.py")
    first.cmd("HybridChat fix #buffer with #file:.env in mind")
    first.wait_answer()
    shown = [line for line in first.chat_lines() if line.startswith("> #")]
    first.close()

    (root / "demo.py").write_text("def f(x):\n    return x+1\n")  # as it was
    second = editor(two_sides(ollama.url, openai.url), env=KEY)
    second.cmd(f"cd {root}")
    second.cmd("edit demo.py")
    second.cmd("HybridChat")
    lines = second.wait(lambda: (ls := second.chat_lines()) and shown[0] in ls and ls, what="the saved chat")
    assert [line for line in lines if line.startswith("> #")] == shown
    assert shown[1].endswith(" · local-only")
    # K shows what was sent then, though the file changed since.
    (root / ".env").write_text("REGION=us\n")
    row = lines.index(shown[1]) + 1
    second.lua(f"vim.api.nvim_win_set_cursor(0, {{ {row}, 0 }})")
    second.nvim.input("K")
    second.wait(lambda: second.nvim.current.buffer[:] == ["REGION=eu"], what="the preview")
    second.nvim.input("q")
    # The history resends them; the chat is still local-only (a cloud question stays local).
    second.cmd("HybridChat why does this test fail intermittently on CI?")
    lines = second.wait_answer(2)
    history = ollama.chat_requests()[-1]["json"]["messages"]
    assert "REGION=eu" in history[1]["content"] and "return x+1" in history[1]["content"]
    assert openai.requests == []
    # A block of the reopened answer applies to the file, found by its path.
    row = lines.index("    return x + 2") + 1
    second.lua(f"vim.api.nvim_win_set_cursor(0, {{ {row}, 0 }})")
    second.nvim.input("ga")
    second.wait(lambda: second.status()["pending_edit"], what="the review")
    second.nvim.input("ga")
    second.wait(lambda: second.lua("return vim.api.nvim_buf_get_lines(vim.fn.bufnr('demo.py'), 0, -1, false)")
                == ["def f(x):", "    return x + 2"], what="the block applied")
