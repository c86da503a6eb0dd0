"""The chat file format: readable after a crash at any byte, keys never written."""

import json
import os

from hybrid_core.conversation import Conversation
from hybrid_core.redact import Redactor
from hybrid_core.saved_chats import ChatStore, parse, valid_id


def write_chat(tmp_path, redact=None):
    store = ChatStore(str(tmp_path / "chats"), redact or Redactor())
    for rec in ({"t": "user", "text": "first"}, {"t": "who", "backend": "ollama", "model": "m", "kind": "local",
                                                  "reason": "fixed backend"},
                {"t": "text", "text": "one "}, {"t": "text", "text": "two"}, {"t": "end", "status": "complete"},
                {"t": "user", "text": "second"}, {"t": "text", "text": "partial"}):
        store.append("c1", rec)
    store.flush()
    store.close()
    return (tmp_path / "chats" / "c1.jsonl").read_bytes()


def test_text_records_are_joined_and_an_unended_turn_reads_as_interrupted(tmp_path):
    data = write_chat(tmp_path)
    assert sum(1 for line in data.splitlines() if json.loads(line)["t"] == "text") <= 3
    chat = parse("c1", data)
    assert [(t.user, t.answer, t.status) for t in chat.turns] == [("first", "one two", "complete"),
                                                                  ("second", "partial", "interrupted")]
    assert chat.turns[0].who == {"backend": "ollama", "model": "m", "kind": "local", "reason": "fixed backend"}


def test_a_crash_at_any_byte_leaves_a_readable_prefix(tmp_path):
    data = write_chat(tmp_path)
    whole = parse("c1", data)
    for cut in range(len(data) + 1):
        chat = parse("c1", data[:cut])  # never raises
        assert len(chat.turns) <= len(whole.turns)
        for got, full in zip(chat.turns, whole.turns, strict=False):
            assert got.user == full.user and full.answer.startswith(got.answer)
        assert chat.torn == (cut > 0 and data[cut - 1:cut] != b"\n")


def test_a_retried_turn_is_shown_but_not_resent(tmp_path):
    lines = [{"t": "user", "text": "q"}, {"t": "text", "text": "bad"}, {"t": "end", "status": "error", "message": "x"},
             {"t": "user", "text": "q", "retry": True}, {"t": "text", "text": "good"}, {"t": "end", "status": "complete"},
             {"t": "sensitive", "rule": "an AWS access key in the text"}]
    saved = parse("c", "".join(json.dumps(r) + "\n" for r in lines).encode())
    conv = Conversation.from_saved(saved)
    assert [m["content"] for m in conv.messages()[1:]] == ["q", "good"]
    assert conv.sensitive.rule == "an AWS access key in the text"


def test_keys_are_masked_in_chat_files(tmp_path):
    redact = Redactor()
    redact.add("sk-test-123456789")
    store = ChatStore(str(tmp_path / "chats"), redact)
    store.append("c", {"t": "user", "text": "my key sk-test-123456789 leaked"})
    store.flush()
    assert b"sk-test" not in (tmp_path / "chats" / "c.jsonl").read_bytes()


def test_chat_ids_cannot_leave_the_folder(tmp_path):
    assert valid_id("20261121-101500-4242-1")
    for bad in ("../x", "a/b", "", ".hidden", "x" * 81, "a\nb"):
        assert not valid_id(bad)
    store = ChatStore(str(tmp_path / "chats"))
    store.append("../escape", {"t": "user", "text": "x"})
    store.flush()
    assert not os.path.exists(tmp_path / "escape.jsonl")


# -- issue 16: a bad record never stops the chat from opening, nor the writer from writing ----

GOOD = [{"t": "user", "text": "first"}, {"t": "who", "backend": "o", "model": "m", "kind": "local", "reason": "r"},
        {"t": "text", "text": "answer"}, {"t": "end", "status": "complete"}]
ODD_VALUES = [None, True, 7, 1.5, "s", [], ["x"], {}, {"a": 1}]


def test_a_record_with_a_field_of_any_type_leaves_the_rest_readable():
    for index, record in enumerate(GOOD):
        for field in [k for k in record if k != "t"] + ["message", "retry"]:
            for odd in ODD_VALUES:
                damaged = [dict(r) for r in GOOD]
                damaged[index][field] = odd
                lines = [*damaged, {"t": "user", "text": "second"}, {"t": "text", "text": "later"},
                         {"t": "end", "status": "error", "message": "m"}]
                chat = parse("c", "".join(json.dumps(r) + "\n" for r in lines).encode())
                assert chat.turns[-1].user == "second" and chat.turns[-1].answer == "later"
                for turn in chat.turns:  # what the editor is given is always text
                    assert isinstance(turn.user, str) and isinstance(turn.answer, str) and isinstance(turn.status, str)
                    assert turn.message is None or isinstance(turn.message, str)
                    assert all(isinstance(v, str) for v in turn.who.values())


def test_an_end_whose_message_is_an_object_keeps_its_status():
    lines = [*GOOD[:3], {"t": "end", "status": "error", "message": {"code": 500}}]
    chat = parse("c", "".join(json.dumps(r) + "\n" for r in lines).encode())
    assert (chat.turns[0].answer, chat.turns[0].status, chat.turns[0].message) == ("answer", "error", None)


def test_a_sensitive_mark_survives_a_damaged_rule():
    chat = parse("c", b'{"t": "sensitive", "rule": {"x": 1}}\n{"t": "user", "text": "q"}\n')
    assert chat.sensitive and Conversation.from_saved(chat).sensitive


def test_a_lone_surrogate_half_never_stops_the_writer(tmp_path):
    # "\ud83d" alone cannot be encoded as UTF-8: it used to kill the writer thread, and no chat
    # was saved for the rest of the session.
    store = ChatStore(str(tmp_path / "chats"))
    store.append("c", {"t": "user", "text": "q"})
    store.append("c", {"t": "text", "text": "half \ud83d"})
    store.flush()
    store.append("c", {"t": "text", "text": " then more"})
    store.append("d", {"t": "user", "text": "another chat"})
    store.flush()
    store.close()
    assert parse("c", (tmp_path / "chats" / "c.jsonl").read_bytes()).turns[0].answer == "half \ufffd then more"
    assert parse("d", (tmp_path / "chats" / "d.jsonl").read_bytes()).turns[0].user == "another chat"


def test_a_store_whose_folder_is_a_file_reads_as_empty(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file, not a folder")
    store = ChatStore(str(blocker / "chats"))
    assert store.list() == [] and store.load("c") is None
    store.append("c", {"t": "user", "text": "q"})
    store.flush()  # logged, not raised; the writer lives on
    assert store._thread.is_alive()
    store.close()


def test_the_list_of_saved_chats_hides_a_secret_in_a_title(tmp_path):
    # :HybridChats is read on screen: the first question's key must not show there.
    store = ChatStore(str(tmp_path / "chats"), Redactor())
    store.append("s", {"t": "user", "text": "my deploy fails with aws_access_key_id = AKIAQ3EGRT7XZK2LM4PB, why"})
    store.append("p", {"t": "user", "text": "why does my deploy fail on the second run?"})
    store.flush()
    titles = {c["id"]: c["title"] for c in store.list()}
    assert "AKIA" not in titles["s"] and titles["s"].startswith("my deploy fails with")
    assert titles["s"].endswith("[secret hidden]")
    assert titles["p"] == "why does my deploy fail on the second run?"


def test_a_streamed_answer_is_saved_once_per_flush_not_per_token(openai, start_engine, tmp_path):
    # Saving cost the host ~8% of its CPU in a burst, a record (and a lock) per token: the answer's
    # text now goes to the store once per flush, and the file still holds all of it.
    openai.reply, openai.chunk_size, openai.comments = "".join(f"t{i:04d} " for i in range(2000)), 6, False
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, "
                                "local: true}\n")
    appended = []
    store = eng.chats.store
    real_append = store.append
    store.append = lambda chat_id, record: (appended.append(record), real_append(chat_id, record))
    eng.chat_send("c1", "go")
    assert sink.wait(lambda s: s.of("turn_end"), timeout=60)[0]["status"] == "complete"
    store.flush()
    texts = [r for r in appended if r["t"] == "text"]
    assert 0 < len(texts) < 200  # 2,000 tokens
    saved = parse("c1", (tmp_path / "data" / "chats" / "c1.jsonl").read_bytes())
    assert saved.turns[0].answer == openai.reply and saved.turns[0].status == "complete"
