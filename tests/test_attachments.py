"""Attachments in the core: how they read to the model, reading files and diffs, and what the
editor or a saved chat may hand over."""

import asyncio
import os
import subprocess

import pytest

from hybrid_core.attachments import MAX_BYTES, Attachment, resolve, with_attachments


def read(items, cwd):
    return asyncio.run(resolve(items, str(cwd), lambda *texts: list(texts)))


def test_a_block_names_path_filetype_and_range_and_fences_past_any_fence_inside():
    a = Attachment("#selection", "selection", path="/p/a.md", display="a.md", filetype="markdown",
                   text="intro\n````python\nx = 1\n````", first=7)
    assert a.block() == ('<attachment name="#selection" path="a.md" filetype="markdown" lines="7-10">\n'
                         "`````markdown\nintro\n````python\nx = 1\n````\n`````\n</attachment>")
    note = Attachment("#diff", "diff", display="a.py", note="no changes against HEAD")
    assert note.block() == '<attachment name="#diff" path="a.py">\n(no changes against HEAD)\n</attachment>'
    assert with_attachments("why?", [note]) == "why?\n\n" + note.block()
    assert a.lines == 4 and a.tokens > 10


def test_records_from_the_editor_or_a_file_drop_what_has_the_wrong_type():
    a = Attachment.from_record({"name": "#file:x.py", "kind": "file", "path": 3, "text": ["no"], "first": True,
                                "paths": ["/a", 2], "local_only": "editor cannot say this"})
    assert (a.path, a.text, a.first, a.paths) == (None, "", None, ("/a",))
    assert Attachment.from_record({"name": "#x", "kind": "nope"}) is None
    assert Attachment.from_record({"kind": "file"}) is None
    # What a saved chat keeps comes back the same.
    b = Attachment("#buffer", "buffer", path="/p/a.py", display="a.py", filetype="python", text="x", paths=("/q",))
    assert Attachment.from_record(b.record()) == b


def test_files_are_read_whole_relative_to_the_editor_directory(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\r\ny = 2\n")
    got, = read([{"name": "#file:a.py", "kind": "file", "path": "a.py"}], tmp_path)
    assert (got.text, got.path, got.display, got.error) == ("x = 1\ny = 2", str(tmp_path / "a.py"), "a.py", None)


def test_files_that_cannot_be_attached_say_why(tmp_path):
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01abc")
    (tmp_path / "big.log").write_bytes(b"x" * (MAX_BYTES + 1))
    (tmp_path / "dir").mkdir()
    items = [{"name": f"#file:{n}", "kind": "file", "path": n} for n in ("bin.dat", "big.log", "dir", "nope.py")]
    errors = [a.error for a in read(items, tmp_path)]
    assert errors == ["#file:bin.dat is a binary file; only text can be attached",
                      "#file:big.log is 2.1 MB; an attachment may have up to 2 MB (attach a #selection of it)",
                      "#file:dir is a directory; attach files one by one",
                      f"#file:nope.py: no such file ({tmp_path}/nope.py)"]
    huge, = read([{"name": "#buffer", "kind": "buffer", "text": "y" * (MAX_BYTES + 1)}], tmp_path)
    assert huge.error.startswith("#buffer is 2.1 MB") and huge.text == ""


def test_a_repository_diff_names_every_file_it_touches(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / ".env").write_text("X=1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    (tmp_path / "a.py").write_text("b\n")
    (tmp_path / ".env").write_text("X=2\n")
    repo, one = read([{"name": "#diff:repo", "kind": "diff", "repo": True},
                      {"name": "#diff", "kind": "diff", "path": str(tmp_path / "a.py")}], tmp_path)
    real = os.path.realpath(tmp_path)
    assert set(repo.paths) == {f"{real}/a.py", f"{real}/.env"} and "+X=2" in repo.text
    assert one.paths == (f"{real}/a.py",) and "-a\n+b" in one.text and ".env" not in one.text
    assert one.display == "a.py"


def test_a_saved_turn_keeps_its_attachments_and_the_history_resends_them():
    import json

    from hybrid_core.conversation import Conversation
    from hybrid_core.saved_chats import parse

    a = Attachment("#file:a.py", "file", path="/p/a.py", display="a.py", filetype="python", text="x = 1")
    records = [{"t": "user", "text": "look at #file:a.py", "attachments": [a.record(), "junk", {"name": 3}]},
               {"t": "text", "text": "ok"}, {"t": "end", "status": "complete"},
               {"t": "user", "text": "and?", "attachments": "not a list"}]
    saved = parse("c", "".join(json.dumps(r) + "\n" for r in records).encode())
    assert saved.turns[0].attachments == [a.record(), {"name": 3}] and saved.turns[1].attachments == []
    conv = Conversation.from_saved(saved)
    assert conv.turns[0].attachments == [a]
    assert conv.messages()[1]["content"] == "look at #file:a.py\n\n" + a.block()


@pytest.mark.in_memory
def test_a_retry_resends_the_attachments_as_they_were_sent(ollama, start_engine, tmp_path):
    (tmp_path / "a.py").write_text("first version\n")
    ollama.mode, ollama.fail_first = "status", 3  # the first try fails (3 attempts)
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n")
    eng.chat_send("c", "read #file:a.py", {"attachments": [{"kind": "file", "name": "#file:a.py", "path": "a.py"}],
                                          "cwd": str(tmp_path)})
    sink.wait(lambda s: s.of("turn_end"))
    (tmp_path / "a.py").write_text("changed since\n")
    eng.retry("c")
    sink.wait(lambda s: len(s.of("turn_end")) == 2)
    assert sink.of("turn_end")[1]["status"] == "complete"
    sent = ollama.chat_requests()[-1]["json"]["messages"]
    assert len(sent) == 2 and "```\nfirst version\n```" in sent[1]["content"]
    assert len(sink.of("attachments")) == 1  # the retry adds no second line under the message
