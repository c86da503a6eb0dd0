"""The picker key puts attachments in the chat message; :HybridAsk instructions take them too,
with the same privacy; a code block of an answer applies through the :HybridAsk review."""

import pytest

from configs import two_sides
from nvim_harness import review

pytestmark = pytest.mark.nvim

KEY = {"GROQ_API_KEY": "test-key"}
CODE = ["import os", "", "def f(x):", "    return x+1", "", "print(f(1))"]


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "demo.py").write_text("\n".join(CODE) + "\n")
    (root / "names.txt").write_text("use snake_case\nprefer plus_one\n")
    (root / ".env").write_text("TOKEN_NAME=deploy\n")
    return root


def answer_with(ed, picks, inputs=()):
    """vim.ui.select picks the items `picks` names in turn; vim.ui.input answers `inputs` in turn."""
    ed.lua("""
        _G.picks, _G.inputs = ...
        vim.ui.select = function(items, opts, on_choice)
          local want = table.remove(_G.picks, 1)
          for _, item in ipairs(items) do
            if item == want then return on_choice(item) end
          end
          on_choice(nil)
        end
        vim.ui.input = function(opts, on_confirm) on_confirm(table.remove(_G.inputs, 1)) end""", list(picks), list(inputs))


def test_the_picker_key_writes_attachments_into_the_message(editor, ollama, project):
    ed = editor(two_sides(ollama.url, ollama.url))
    ed.cmd(f"cd {project}")
    ed.cmd("edit names.txt")
    ed.cmd("edit demo.py")
    ed.cmd("HybridChat")
    ed.nvim.input("Giwhat about these<Esc>")
    answer_with(ed, ["file:"], ["names.txt"])
    ed.nvim.input("<C-a>")
    answer_with(ed, ["buffer:", "names.txt"])
    ed.nvim.input("<C-a>")
    answer_with(ed, ["diagnostics"])
    ed.nvim.input("a<C-a><Esc>")  # (and from insert mode)
    assert ed.chat_lines()[-1] == "what about these #file:names.txt #buffer:names.txt #diagnostics"
    ed.nvim.input("<CR>")
    ed.wait_answer()
    content = ollama.chat_requests()[0]["json"]["messages"][-1]["content"]
    assert '<attachment name="#file:names.txt" path="names.txt">' in content
    assert '<attachment name="#buffer:names.txt" path="names.txt"' in content
    assert '<attachment name="#diagnostics" path="demo.py">\n(no diagnostics in demo.py)' in content


def test_hybrid_ask_takes_attachments_in_its_instruction_with_their_privacy(editor, ollama, openai, project):
    ollama.reply = "```python\ndef f(x):\n    return plus_one(x)\n```"
    ed = editor(two_sides(ollama.url, openai.url), env=KEY)
    ed.cmd(f"cd {project}")
    ed.cmd("edit demo.py")
    ed.cmd("3,4HybridAsk @cloud follow #file:names.txt and #file:.env")
    ed.wait(lambda: review(ed) and "ga accept" in review(ed)[0], what="the review")
    assert review(ed)[0].startswith("hybrid · ollama · fake-model · #file:.env is local-only (.env*) — ")
    prompt = ollama.chat_requests()[0]["json"]["messages"][-1]["content"]
    assert "Attached for reference (do not repeat them):" in prompt
    assert '<attachment name="#file:names.txt" path="names.txt">\n```\nuse snake_case\nprefer plus_one\n```' in prompt
    assert "TOKEN_NAME=deploy" in prompt
    assert openai.requests == []
    assert ed.messages("warn") == ["(hybrid) @cloud ignored: #file:.env is local-only (.env*), so it goes to ollama "
                                   "(local)"]


NEW = ["import os", "", "def f(x):", "    return x + 2", "", "print(f(1))"]


def ask_about_buffer(ed, ollama, project, text="fix #buffer"):
    ollama.reply = "Here:\n```python\n" + "\n".join(NEW) + "\n```\nDone."
    ed.cmd(f"cd {project}")
    ed.cmd("edit demo.py")
    ed.cmd(f"HybridChat {text}")
    return ed.wait_answer()


def on_block(ed, first_line):
    """The cursor in the chat, on the code block's line `first_line`."""
    ed.lua("vim.api.nvim_set_current_win(vim.fn.bufwinid(require('hybrid.chat').buf()))")
    row = ed.chat_lines().index(first_line) + 1
    ed.lua(f"vim.api.nvim_win_set_cursor(0, {{ {row}, 0 }})")


def demo(ed):
    return ed.lua("return vim.api.nvim_buf_get_lines(vim.fn.bufnr('demo.py'), 0, -1, false)")


def wait_review(ed):
    ed.wait(lambda: review(ed) and "ga accept" in review(ed)[0], what="the review")
    return review(ed)


def test_a_code_block_applies_to_the_attached_buffer_through_the_review_and_one_undo(editor, ollama, project):
    ed = editor(two_sides(ollama.url, ollama.url))
    ask_about_buffer(ed, ollama, project)
    on_block(ed, "    return x + 2")
    ed.nvim.input("ga")
    shown = wait_review(ed)
    assert shown[0] == "hybrid · ollama · fake-model · from the chat — ga accept, gr reject"
    assert shown[1:] == [line or " " for line in NEW]
    assert ed.lua("return vim.fn.bufname()") == "demo.py" and demo(ed) == CODE  # the review is where the keys are
    ed.nvim.input("ga")
    ed.wait(lambda: demo(ed) == NEW, what="the block applied")
    assert review(ed) == [] and ed.status()["pending_edit"] is False
    ed.nvim.input("u")
    ed.wait(lambda: demo(ed) == CODE, what="one undo to restore")


def test_a_rejected_block_changes_nothing(editor, ollama, project):
    ed = editor(two_sides(ollama.url, ollama.url))
    ask_about_buffer(ed, ollama, project)
    on_block(ed, "def f(x):")
    ed.cmd("execute \"normal \\<Plug>(hybrid-apply)\"")  # the <Plug> map does what the key does
    wait_review(ed)
    ed.nvim.input("gr")
    ed.wait(lambda: review(ed) == [], what="the review dropped")
    assert demo(ed) == CODE and ed.lua("return vim.bo.modified") is False


def test_a_target_changed_since_the_question_gets_nothing(editor, ollama, project):
    ed = editor(two_sides(ollama.url, ollama.url))
    ask_about_buffer(ed, ollama, project)
    ed.lua("vim.api.nvim_buf_set_lines(vim.fn.bufnr('demo.py'), 0, 1, false, { 'import sys' })")
    on_block(ed, "    return x + 2")
    ed.nvim.input("ga")
    ed.wait(lambda: ed.messages("error"), what="the refusal")
    assert ed.messages("error") == ["(hybrid) #buffer in demo.py changed since the question; nothing applied"]
    assert review(ed) == [] and demo(ed)[0] == "import sys" and ed.status()["pending_edit"] is False


def test_a_range_question_applies_to_that_range_wherever_it_moved(editor, ollama, project):
    ollama.reply = "```python\ndef f(x):\n    return x + 2\n```"
    ed = editor(two_sides(ollama.url, ollama.url))
    ed.cmd(f"cd {project}")
    ed.cmd("edit demo.py")
    ed.cmd("3,4HybridChat fix this")
    ed.wait_answer()
    ed.lua("vim.api.nvim_buf_set_lines(vim.fn.bufnr('demo.py'), 0, 0, false, { '# a new first line' })")
    on_block(ed, "    return x + 2")
    ed.nvim.input("ga")
    wait_review(ed)
    ed.nvim.input("ga")
    ed.wait(lambda: demo(ed)[4] == "    return x + 2", what="the range replaced")
    assert demo(ed) == ["# a new first line", *NEW]


def test_without_a_range_or_attachment_the_block_goes_to_the_cursor_line_of_the_window_it_was_asked_from(
        editor, ollama, project):
    ollama.reply = "```python\nimport sys\n```"
    ed = editor(two_sides(ollama.url, ollama.url))
    ed.cmd(f"cd {project}")
    ed.cmd("edit demo.py")
    ed.cmd("normal! 1G")
    ed.cmd("HybridChat which import do I need?")
    ed.wait_answer()
    on_block(ed, "import sys")
    ed.nvim.input("ga")
    wait_review(ed)
    ed.nvim.input("ga")
    ed.wait(lambda: demo(ed)[0] == "import sys", what="the line replaced")
    assert demo(ed)[1:] == CODE[1:]
    # Not on a code block: it says so.
    ed.lua("vim.api.nvim_set_current_win(vim.fn.bufwinid(require('hybrid.chat').buf())); vim.cmd('normal! gg')")
    ed.nvim.input("ga")
    ed.wait(lambda: ed.messages("warn"), what="the hint")
    assert ed.messages("warn") == ["(hybrid) put the cursor on a code block of an answer to apply it"]


def test_the_attached_buffer_whose_filetype_matches_the_block_is_the_target(editor, ollama, project):
    ed = editor(two_sides(ollama.url, ollama.url))
    ed.cmd(f"cd {project}")
    ed.cmd("edit names.txt")
    ask_about_buffer(ed, ollama, project, "follow #buffer:names.txt in #file:demo.py")
    on_block(ed, "    return x + 2")
    ed.nvim.input("ga")
    wait_review(ed)
    assert ed.lua("return vim.fn.bufname()") == "demo.py"
    ed.nvim.input("ga")
    ed.wait(lambda: demo(ed) == NEW, what="demo.py, not names.txt, changed")
    assert (project / "names.txt").read_text() == "use snake_case\nprefer plus_one\n"
