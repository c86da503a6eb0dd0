"""Attachments in the chat, in a real Neovim against the loopback servers: each kind is read when
the message is sent, reaches the server as a delimited block with its path and filetype, and
shows as one line under the message that previews its content."""

import re
import subprocess

import pytest

from hybrid_core.tokens import estimate_tokens

pytestmark = pytest.mark.nvim

CODE = ["import os", "", "def f(x):", "    return x+1", "", "print(f(1))"]


def config(ollama):
    return f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n"


@pytest.fixture
def project(tmp_path):
    """A folder with demo.py and notes/todo.txt; the editor works in it."""
    root = tmp_path / "project"
    (root / "notes").mkdir(parents=True)
    (root / "demo.py").write_text("\n".join(CODE) + "\n")
    (root / "notes" / "todo.txt").write_text("buy milk\nfix the bug\n")
    return root


def open_in(ed, root, name="demo.py"):
    ed.cmd(f"cd {root}")
    ed.cmd(f"edit {name}")


def last_user(server, n=-1):
    return server.chat_requests()[n]["json"]["messages"][-1]["content"]


def attachment_lines(ed):
    return [line for line in ed.chat_lines() if line.startswith("> #")]


def test_buffer_is_read_fresh_at_each_send_and_shown_under_the_message(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat what does #buffer do?")
    lines = ed.wait_answer()
    content = last_user(ollama)
    assert content.startswith("what does #buffer do?\n\n")
    assert ('<attachment name="#buffer" path="demo.py" filetype="python">\n```python\n' + "\n".join(CODE)
            + "\n```\n</attachment>") in content
    tokens = re.fullmatch(r"> #buffer · demo\.py · 6 lines · ~(\d+) tokens", attachment_lines(ed)[0])
    assert tokens and int(tokens.group(1)) > 10
    # The line sits under the message, before the answer.
    at = lines.index(attachment_lines(ed)[0])
    assert lines[at - 1] == "what does #buffer do?" and lines[at + 1] == "" and lines[at + 2].startswith("## local")
    # Changed (not saved) in the editor: the next message carries the new text.
    ed.lua("vim.api.nvim_buf_set_lines(vim.fn.bufnr('demo.py'), 3, 4, false, { '    return x + 2' })")
    ed.cmd("HybridChat and now #buffer?")
    ed.wait_answer(2)
    assert "    return x + 2" in last_user(ollama) and "return x+1" not in last_user(ollama)
    # The history resends the first message with what it carried then.
    history = ollama.chat_requests()[-1]["json"]["messages"]
    assert "return x+1" in history[1]["content"]


def test_file_is_read_from_disk_with_its_path_each_time(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat sort #file:notes/todo.txt, please")
    ed.wait_answer()
    block = ('<attachment name="#file:notes/todo.txt" path="notes/todo.txt">\n```\nbuy milk\nfix the bug'
             "\n```\n</attachment>")
    assert block in last_user(ollama)
    assert attachment_lines(ed) == [f"> #file:notes/todo.txt · 2 lines · ~{estimate_tokens(len(block))} tokens"]
    (project / "notes" / "todo.txt").write_text("only this\n")
    ed.cmd("HybridChat again #file:notes/todo.txt")
    ed.wait_answer(2)
    assert "```\nonly this\n```" in last_user(ollama)


def test_buffer_by_name_selection_diagnostics_and_quickfix(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project, "notes/todo.txt")
    ed.cmd("edit demo.py")
    ed.cmd("normal! 3GVj\x1b")
    ed.lua("""
        local ns = vim.api.nvim_create_namespace('test')
        vim.diagnostic.set(ns, 0, { { lnum = 3, col = 4, message = 'x may be None', severity = vim.diagnostic.severity.WARN,
          source = 'pyright' } })
        vim.fn.setqflist({ { filename = 'notes/todo.txt', lnum = 2, col = 1, text = 'fix the bug' } }, 'r')""")
    ed.cmd("HybridChat look at #buffer:todo.txt #selection #diagnostics and #quickfix")
    ed.wait_answer()
    content = last_user(ollama)
    assert '<attachment name="#buffer:todo.txt" path="notes/todo.txt" filetype="text">\n```text\nbuy milk' in content
    assert ('<attachment name="#selection" path="demo.py" filetype="python" lines="3-4">\n```python\n'
            "def f(x):\n    return x+1\n```") in content
    assert "demo.py:4:5: WARN: x may be None [pyright]\n     2 | \n     3 | def f(x):\n>    4 |     return x+1" in content
    assert "notes/todo.txt:2:1: fix the bug" in content
    shown = attachment_lines(ed)
    assert [line.split(" · ")[:2] for line in shown] == [
        ["> #buffer:todo.txt", "notes/todo.txt"], ["> #selection", "demo.py:3-4"],
        ["> #diagnostics", "demo.py"], ["> #quickfix", "2 lines"]]


def git(root, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                   capture_output=True)


def test_diff_of_the_file_and_of_the_repository(editor, ollama, project):
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-qm", "first")
    (project / "demo.py").write_text("\n".join(CODE).replace("x+1", "x+2") + "\n")
    (project / "notes" / "todo.txt").write_text("buy milk\n")
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat review #diff")
    ed.wait_answer()
    content = last_user(ollama)
    assert '<attachment name="#diff" path="demo.py">\n```diff\ndiff --git a/demo.py b/demo.py' in content
    assert "-    return x+1\n+    return x+2" in content and "todo.txt" not in content
    ed.cmd("HybridChat review #diff:repo")
    ed.wait_answer(2)
    content = last_user(ollama)
    assert "diff --git a/demo.py b/demo.py" in content and "diff --git a/notes/todo.txt b/notes/todo.txt" in content
    assert attachment_lines(ed)[1].startswith("> #diff:repo · project · ")


def test_diff_outside_a_repository_says_so_and_the_message_still_goes(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat review #diff")
    ed.wait_answer()
    assert attachment_lines(ed) == [f"> #diff · demo.py · not a git repository: {project} (nothing attached)"]
    assert f'<attachment name="#diff" path="demo.py">\n(not a git repository: {project} (nothing attached))' \
           in last_user(ollama)


def test_an_attachment_that_cannot_be_read_stops_the_message(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat read #file:nope.py")
    lines = ed.wait_answer()
    assert ollama.chat_requests() == []
    assert attachment_lines(ed) == [f"> #file:nope.py · not read: no such file ({project}/nope.py)"]
    assert f"> **error:** not sent: #file:nope.py: no such file ({project}/nope.py)" in lines
    assert ed.messages("error") == [f"(hybrid) not sent: #file:nope.py: no such file ({project}/nope.py)"]


def test_the_preview_key_shows_what_was_sent(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat explain #file:demo.py")
    ed.wait_answer()
    (project / "demo.py").write_text("changed since\n")
    row = ed.chat_lines().index(attachment_lines(ed)[0]) + 1
    ed.lua(f"vim.api.nvim_win_set_cursor(0, {{ {row}, 0 }})")
    ed.nvim.input("K")
    ed.wait(lambda: ed.lua("return vim.api.nvim_win_get_config(0).relative") == "editor", what="the preview")
    assert ed.nvim.current.buffer[:] == CODE
    assert ed.lua("return vim.bo.filetype") == "python"
    ed.nvim.input("q")
    ed.wait(lambda: ed.lua("return vim.api.nvim_win_get_config(0).relative") == "", what="the preview closed")


def test_file_paths_complete_after_hash_file(editor, ollama, project):
    ed = editor(config(ollama))
    open_in(ed, project)
    ed.cmd("HybridChat")
    ed.nvim.input("Gi#file:no")
    ed.wait(lambda: ed.lua("return vim.fn.mode()") == "i", what="insert mode")
    ed.nvim.input("<Tab>")
    ed.wait(lambda: ed.lua("return vim.fn.pumvisible()") == 1 or "#file:notes/" in ed.chat_lines()[-1],
            what="the completion")
    assert ed.chat_lines()[-1] == "#file:notes/"
    ed.nvim.input("<Esc>")
    assert ed.lua("return require('hybrid.chat.attach_picker').omnifunc(0, '#di')") == [
        {"word": "#diagnostics", "menu": "the buffer's diagnostics, with the lines around each"},
        {"word": "#diff", "menu": "the buffer's git diff"},
        {"word": "#diff:repo", "menu": "the repository's git diff"}]


def test_checkhealth_and_diff_say_when_git_is_missing(editor, ollama, project, tmp_path):
    ed = editor(config(ollama))
    ed.cmd("checkhealth hybrid")
    assert "- ✅ OK git version 2." in "\n".join(ed.nvim.current.buffer[:])
    ed.close()
    no_git = tmp_path / "empty-bin"
    no_git.mkdir()
    ed = editor(config(ollama), env={"PATH": str(no_git)})
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert "- ⚠️ WARNING git not found: #diff and #diff:repo attachments say so and attach nothing" in text
    open_in(ed, project)
    ed.cmd("HybridChat review #diff:repo")
    ed.wait_answer()
    assert attachment_lines(ed) == ["> #diff:repo · the repository · git is not installed or not on PATH "
                                    "(nothing attached)"]
    assert len(ollama.chat_requests()) == 1


def test_normal_use_with_attachments_raises_no_message_and_no_hit_enter_prompt(editor, ollama, project):
    ollama.reply = "```python\n" + "\n".join(CODE).replace("x+1", "x+2") + "\n```"
    ed = editor(config(ollama))
    watch = ed.watch_messages(80, 24)
    open_in(ed, project)
    ed.cmd("HybridChat look at #buffer and #file:notes/todo.txt")
    lines = ed.wait_answer()
    ed.lua(f"vim.api.nvim_win_set_cursor(0, {{ {lines.index(attachment_lines(ed)[0]) + 1}, 0 }})")
    ed.nvim.input("K")
    ed.wait(lambda: ed.lua("return vim.api.nvim_win_get_config(0).relative") == "editor", what="the preview")
    ed.nvim.input("q")
    ed.wait(lambda: ed.lua("return vim.api.nvim_win_get_config(0).relative") == "", what="the preview closed")
    ed.lua(f"vim.api.nvim_win_set_cursor(0, {{ {lines.index('    return x+2') + 1}, 0 }})")
    ed.nvim.input("ga")
    ed.wait(lambda: ed.status()["pending_edit"], what="the review")
    ed.nvim.input("ga")
    ed.wait(lambda: not ed.status()["pending_edit"], what="applied")
    assert ed.messages() == []
    assert watch.prompts == []


def test_a_path_with_a_space_is_written_with_a_backslash(editor, ollama, project):
    (project / "my notes.txt").write_text("spaced out\n")
    ed = editor(config(ollama))
    open_in(ed, project)
    assert ed.lua("return require('hybrid.chat.attach_picker').omnifunc(0, '#file:my')") == ["#file:my\\ notes.txt"]
    ed.cmd("HybridChat read #file:my\\ notes.txt.")
    ed.wait_answer()
    assert '<attachment name="#file:my notes.txt" path="my notes.txt">\n```\nspaced out\n```' in last_user(ollama)
    assert ed.lua("return require('hybrid.attach').parse('a #file:x.py, #buffer. (#diff:repo) `#quickfix` #files "
                  "#selection!\\n```\\n#buffer\\n```')") == [
        {"kind": "file", "arg": "x.py", "name": "#file:x.py"}, {"kind": "buffer", "name": "#buffer"},
        {"kind": "diff", "arg": "repo", "name": "#diff:repo"}, {"kind": "selection", "name": "#selection"}]
