"""Saved chats in real Neovim processes: kill -9 mid-answer, reopen, list, delete, retry."""

import contextlib
import json
import os
import shutil
import signal
import subprocess

import pytest

pytestmark = pytest.mark.nvim


def ollama_only(url):
    return f"backend:\n  ollama: {{type: ollama, base_url: '{url}', default_model: fake-model}}\n"


def two(ollama, openai):
    return (ollama_only(ollama.url)
            + f"  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, local: false}}\n")


def chat_files(tmp_path):
    folder = tmp_path / "data" / "chats"
    return sorted(folder.iterdir()) if folder.exists() else []


def wait_retried(ed, answer):
    """Until the redone turn has finished (a retry adds an answer, not a question)."""
    return ed.wait(lambda: (ls := ed.chat_lines()) and answer in ls and ls[-2:] == ["## You", ""]
                   and not ed.status()["busy"] and ls, what="the retried answer")


def test_kill_9_mid_answer_then_the_next_chat_reopens_it(editor, ollama, tmp_path):
    ollama.reply = "The first answer."
    first = editor(ollama_only(ollama.url))
    first.cmd("HybridChat first question")
    first.wait_answer()
    ollama.reply, ollama.chunk_size, ollama.delay = "word " * 400, 5, 0.02  # about 8 s of streaming
    first.cmd("HybridChat second question")
    first.wait(lambda: any(line.startswith("word word word") for line in first.chat_lines()), what="streaming")
    pid = first.lua("return vim.fn.getpid()")
    os.kill(pid, signal.SIGKILL)

    second = editor(ollama_only(ollama.url))
    second.cmd("HybridChat")
    lines = second.wait(lambda: (ls := second.chat_lines()) and "first question" in ls and ls, what="the saved chat")
    assert lines[:5] == ["## You", "first question", "", "## local · ollama · fake-model · fixed backend",
                         "The first answer."]
    assert lines[6:9] == ["## You", "second question", ""]
    partial = lines[10]
    assert partial.startswith("word word") and ("word " * 400).startswith(partial)
    assert any(line.startswith("_[interrupted") for line in lines)
    assert lines[-2:] == ["## You", ""]
    # The reopened chat goes on with its history, the partial answer included.
    ollama.reply, ollama.delay = "third answer", 0
    second.cmd("HybridChat third question")
    second.wait(lambda: "third answer" in second.chat_lines(), what="the third answer")
    sent = ollama.chat_requests()[-1]["json"]["messages"]
    assert [m["content"] for m in sent[1:4]] == ["first question", "The first answer.", "second question"]
    assert sent[4]["content"].startswith("word word") and sent[5]["content"] == "third question"


def test_every_line_of_a_chat_file_is_whole_json(editor, ollama, tmp_path):
    ollama.reply, ollama.chunk_size = "streamed " * 50, 3
    ed = editor(ollama_only(ollama.url))
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    ed.lua("require('hybrid').stats()")  # a round trip: the host has flushed what it queued before
    (path,) = chat_files(tmp_path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["t"] for r in records][:2] == ["user", "who"] and records[-1] == {"t": "end", "status": "complete"}
    assert "".join(r["text"] for r in records if r["t"] == "text") == ollama.reply
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_new_chat_list_reopen_and_delete(editor, ollama, tmp_path):
    ollama.reply = "answer one"
    ed = editor(ollama_only(ollama.url))
    ed.cmd("HybridChat the first chat")
    ed.wait_answer()
    ed.cmd("HybridChat new")
    assert ed.chat_lines() == ["## You", ""]
    ollama.reply = "answer two"
    ed.cmd("HybridChat the second chat")
    ed.wait_answer()
    assert "the first chat" not in ed.chat_lines()
    assert len(chat_files(tmp_path)) == 2
    # :HybridChats lists them newest first; pick the older one and open it.
    ed.lua("""
      _G.picked = {}
      vim.ui.select = function(items, opts, on_choice)
        table.insert(_G.picked, { prompt = opts.prompt, labels = vim.tbl_map(opts.format_item or tostring, items) })
        on_choice(items[_G.choose[#_G.picked]])
      end
      _G.choose = { 2, 1 }
    """)
    ed.cmd("HybridChats")
    ed.wait(lambda: "the first chat" in ed.chat_lines(), what="the older chat reopened")
    picked = ed.lua("return _G.picked")
    assert [label[18:] for label in picked[0]["labels"]] == ["the second chat", "the first chat"]
    assert picked[1]["labels"] == ["Open", "Delete"]
    assert ed.chat_lines()[:5] == ["## You", "the first chat", "", "## local · ollama · fake-model · fixed backend",
                                   "answer one"]
    # Delete it: the file goes, and so does its buffer.
    ed.lua("_G.picked = {}; _G.choose = { 2, 2 }")
    ed.cmd("HybridChats")
    ed.wait(lambda: len(chat_files(tmp_path)) == 1, what="the file deleted")
    ed.wait(lambda: any("deleted the chat" in m for m in ed.messages("info")), what="the notice")
    assert "the second chat" in chat_files(tmp_path)[0].read_text()


def test_retry_after_a_mid_stream_failure_on_another_backend(editor, ollama, openai, tmp_path):
    ollama.reply, ollama.mode = "half an ans", "cut"
    openai.reply = "a whole answer"
    ed = editor(two(ollama, openai), env={"GROQ_API_KEY": "test-key-sessions"})
    ed.cmd("HybridChat explain monads")
    lines = ed.wait_answer()
    assert "half an ans" in lines and any(":HybridRetry" in line for line in lines)
    assert len(ollama.chat_requests()) == 1  # text had arrived: no automatic retry
    ed.cmd("HybridRetry groq")
    lines = wait_retried(ed, "a whole answer")
    assert lines.count("explain monads") == 1  # the question is not repeated
    assert "half an ans" in lines and "a whole answer" in lines  # the failed try stays visible
    assert "## cloud · groq · fake-model · retry on groq" in lines
    sent = openai.chat_requests()[0]["json"]["messages"]
    assert [m["content"] for m in sent[1:]] == ["explain monads"]  # the failed answer is not resent
    # The redo replaces the failed turn in the history that later turns send.
    openai.reply = "next"
    ed.cmd("HybridBackend groq")
    ed.cmd("HybridChat and then?")
    ed.wait_answer(2)
    sent = openai.chat_requests()[-1]["json"]["messages"]
    assert [m["content"] for m in sent[1:]] == ["explain monads", "a whole answer", "and then?"]


def test_retry_of_a_sensitive_chat_stays_local(editor, ollama, openai):
    ollama.mode = "cut"
    ed = editor(two(ollama, openai), env={"GROQ_API_KEY": "test-key-sessions"})
    ed.cmd("HybridChat my key is AKIAZ3MHQ7RXWP4LK2NB, why is it refused?")
    ed.wait_answer()
    ollama.mode, ollama.reply = "normal", "kept local"
    ed.cmd("HybridRetry groq")
    lines = wait_retried(ed, "kept local")
    assert "## local · ollama · fake-model · an AWS access key in the text" in lines
    assert openai.chat_requests() == []
    assert any("not groq" in m for m in ed.messages("warn"))


def test_a_chat_started_while_the_restore_is_on_its_way_is_not_taken_over(editor, ollama):
    ed = editor(ollama_only(ollama.url))
    ed.cmd("HybridChat")  # starts the host; nothing saved yet
    ed.wait(lambda: ed.status().get("backend"), what="the host")
    ed.cmd("bwipeout!")  # as if this were a fresh session: the next :HybridChat restores
    # Hold the restore's reply back until a second chat has streamed and been saved.
    ed.lua("""
      local host = require('hybrid.host')
      local request = host.request
      host.request = function(method, cb, ...)
        if method == 'hybrid_chat_open' then
          _G.held = function() request(method, cb, nil, {}) end
          host.request = request
          return
        end
        return request(method, cb, ...)
      end
      package.loaded['hybrid.chat'] = nil  -- a new session's chat module
    """)
    ed.cmd("HybridChat alpha")
    first = ed.lua("return require('hybrid.chat').id()")
    ed.cmd("HybridChat new")
    ed.cmd("HybridChat beta")
    ed.wait_answer()
    second = ed.lua("return require('hybrid.chat').id()")
    ed.lua("_G.held()")  # the newest saved chat is now beta's, open here: not restored into alpha's
    ed.wait(lambda: ed.lua("local b = require('hybrid.chat').buffers()[...]; "
                           "return b and vim.tbl_contains(vim.api.nvim_buf_get_lines(b, 0, -1, false), 'alpha')", first),
            what="alpha sent in its own chat")
    bufs = ed.lua("return require('hybrid.chat').buffers()")
    assert set(bufs) == {first, second}
    assert "beta" not in ed.lua("return vim.api.nvim_buf_get_lines(..., 0, -1, false)", bufs[first])


def test_a_reopened_chat_is_laid_out_like_the_live_one(editor, ollama, tmp_path):
    # Errors, cancellations and cut answers, with and without text, spaced the same either way.
    ed = editor(ollama_only(ollama.url) + "retry: {attempts: 1}\n")
    ollama.reply = "a whole answer"
    ed.cmd("HybridChat one")
    ed.wait_answer(1)
    ollama.mode = "status"  # an error before any text
    ed.cmd("HybridChat two")
    ed.wait_answer(2)
    ollama.mode, ollama.reply = "hang", ""  # cancelled before any text
    ollama.stream_started.clear()
    ed.cmd("HybridChat three")
    ed.wait(lambda: ollama.stream_started.is_set(), what="the stream")
    ed.cmd("HybridCancel")
    ed.wait_answer(3)
    ollama.mode, ollama.reply = "cut", "some words\n"  # cut after text ending in a newline
    ed.cmd("HybridChat four")
    ed.wait_answer(4)
    ollama.mode, ollama.reply = "cut", "more words"
    ed.cmd("HybridChat five")
    live = ed.wait_answer(5)
    assert "_[cancelled]_" in live and any(line.startswith("> **error:**") for line in live)
    ed.close()

    again = editor(ollama_only(ollama.url))
    again.cmd("HybridChat")
    reopened = again.wait(lambda: (ls := again.chat_lines()) and "five" in ls and ls, what="the saved chat")
    assert reopened == live


# -- issue 16: bad saved data and a bad data_dir ------------------------------------------------

def test_a_saved_record_of_the_wrong_type_does_not_stop_the_chat_from_opening(editor, ollama, tmp_path):
    folder = tmp_path / "data" / "chats"
    folder.mkdir(parents=True)
    records = [{"t": "user", "text": "first question"},
               {"t": "who", "backend": "ollama", "model": "fake-model", "kind": "local", "reason": "fixed backend"},
               {"t": "text", "text": "The first answer."},
               {"t": "end", "status": "error", "message": {"code": 500, "why": "an object, not text"}},
               {"t": "user", "text": ["not", "text"]},  # skipped
               {"t": "user", "text": "second question"},
               {"t": "who", "backend": "ollama", "model": 7, "kind": "local", "reason": None},
               {"t": "text", "text": "The second answer."},
               {"t": "end", "status": "complete"}]
    (folder / "20250101-120000-1-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    ed = editor(ollama_only(ollama.url))
    ed.cmd("HybridChat")
    lines = ed.wait(lambda: (ls := ed.chat_lines()) and "The second answer." in ls and ls, what="the saved chat")
    assert lines[:5] == ["## You", "first question", "", "## local · ollama · fake-model · fixed backend",
                         "The first answer."]
    assert "second question" in lines and ["not", "text"] not in lines
    assert ed.messages("error") == []
    ollama.reply = "The third answer."
    ed.cmd("HybridChat third question")
    ed.wait(lambda: "The third answer." in ed.chat_lines(), what="the next answer")


def test_a_data_dir_that_is_a_file_is_said_once_and_chatting_goes_on(editor, ollama, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where data_dir should be")
    ollama.reply = "Answered anyway."
    ed = editor(ollama_only(ollama.url), env={"HYBRID_TEST_DATA": str(blocker)})
    ed.cmd("HybridChat hello")
    lines = ed.wait_answer()
    assert "Answered anyway." in lines
    ollama.reply = "And again."
    ed.cmd("HybridChat once more")
    assert "And again." in ed.wait_answer(2)
    assert ed.messages("error") == []
    assert [m for m in ed.messages() if "data_dir" in m] == [
        f"(hybrid) data_dir {blocker} is a file (or inside one), not a folder: chats and usage are not saved "
        "(point setup{ data_dir = ... } at a folder)"]
    assert blocker.read_text() == "a file where data_dir should be"


@contextlib.contextmanager
def unwritable_folder(path):
    """A folder nobody can write to, not even root. A plain user gets chmod 500; root ignores file
    modes, so as root the folder is made immutable (chattr +i, which ext4 and most Linux file
    systems have) and mutable again afterwards. Checked: writing there really fails."""
    path.mkdir()
    if os.geteuid() != 0:
        os.chmod(path, 0o500)
        undo = ["chmod", "700", str(path)]
    else:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("running as root without chattr +i: no way to make a folder unwritable here")
        undo = ["chattr", "-i", str(path)]
    try:
        with pytest.raises(OSError):
            (path / "probe").write_text("x")
        yield path
    finally:
        subprocess.run(undo, check=True)


def test_a_data_dir_that_cannot_be_written_is_said_once(editor, ollama, tmp_path):
    # Everything was answered, nothing saved, and nothing said.
    with unwritable_folder(tmp_path / "readonly") as data_dir:
        ollama.reply = "Answered, not saved."
        ed = editor(ollama_only(ollama.url), env={"HYBRID_TEST_DATA": str(data_dir)})
        ed.cmd("HybridChat hello")
        assert "Answered, not saved." in ed.wait_answer()
        ed.cmd("HybridChat again")
        ed.wait_answer(2)
        warnings = [m for m in ed.messages() if "data_dir" in m]
        assert len(warnings) == 1
        assert warnings[0].startswith(f"(hybrid) data_dir {data_dir} cannot be written (")
        assert warnings[0].endswith("): chats and usage are not saved")
        assert ed.messages("error") == []
        assert list(data_dir.iterdir()) == []
