"""Both stream parsers on recorded byte streams, split at every possible point."""

import json

import pytest

from hybrid_core.streams import NDJSONDecoder, SSEDecoder, StreamFormatError

OLLAMA = (
    b'{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"H\xc3\xa9llo"},"done":false}\n'
    b'{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":" w\xf0\x9f\x8c\x8d"},"done":false}\n'
    b'{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,'
    b'"done_reason":"stop","prompt_eval_count":26,"eval_count":2}\n'
)

OPENAI = (
    b": OPENROUTER PROCESSING\r\n\r\n"
    b'data: {"choices":[{"index":0,"delta":{"content":"H\xc3\xa9"},"finish_reason":null}]}\r\n\r\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"llo \xf0\x9f\x8c\x8d"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\r\r'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)


def feed_split(decoder, data: bytes, at: int):
    return decoder.feed(data[:at]) + decoder.feed(data[at:]) + decoder.close()


def test_ndjson_whole():
    objs = NDJSONDecoder().feed(OLLAMA)
    assert "".join(o["message"]["content"] for o in objs) == "Héllo w🌍"
    assert objs[-1]["done"] is True and objs[-1]["eval_count"] == 2


@pytest.mark.parametrize("at", range(len(OLLAMA) + 1))
def test_ndjson_split_anywhere_including_mid_utf8(at):
    objs = feed_split(NDJSONDecoder(), OLLAMA, at)
    assert "".join(o["message"]["content"] for o in objs) == "Héllo w🌍"


def test_ndjson_byte_by_byte():
    d = NDJSONDecoder()
    objs = [o for i in range(len(OLLAMA)) for o in d.feed(OLLAMA[i:i + 1])]
    assert len(objs) == 3


def test_ndjson_truncated_stream_keeps_complete_lines_only():
    cut = OLLAMA[: OLLAMA.index(b'"done":true') - 20]
    d = NDJSONDecoder()
    objs = d.feed(cut)
    assert [o["done"] for o in objs] == [False, False]
    with pytest.raises(StreamFormatError):
        d.close()  # the cut last line is not JSON


def test_ndjson_garbage_is_an_error():
    with pytest.raises(StreamFormatError, match="not JSON"):
        NDJSONDecoder().feed(b"<html>\n")


def sse_text(events):
    text = ""
    for e in events:
        if e.data == "[DONE]":
            continue
        for c in json.loads(e.data)["choices"]:
            text += c["delta"].get("content") or ""
    return text


def test_sse_whole_skips_comments_and_mixed_line_endings():
    events = SSEDecoder().feed(OPENAI)
    assert sse_text(events) == "Héllo 🌍"
    assert events[-1].data == "[DONE]"
    assert len(events) == 5


@pytest.mark.parametrize("at", range(len(OPENAI) + 1))
def test_sse_split_anywhere(at):
    events = feed_split(SSEDecoder(), OPENAI, at)
    assert sse_text(events) == "Héllo 🌍"
    assert [e.data for e in events][-1] == "[DONE]"


def test_sse_multi_line_data_event_and_id_fields():
    events = SSEDecoder().feed(b"event: error\nid: 7\ndata: first\ndata:second\n\n")
    assert events[0].data == "first\nsecond"
    assert events[0].event == "error" and events[0].id == "7"


def test_sse_bom_and_field_without_value():
    events = SSEDecoder().feed(b"\xef\xbb\xbfdata\n\ndata: x\n\n")
    assert [e.data for e in events] == ["", "x"]  # a bare `data` line is an empty event, per the spec


def test_sse_unterminated_event_is_dropped():
    d = SSEDecoder()
    assert d.feed(b'data: {"choices":[]}\n') == []
    assert d.close() == []


def test_sse_crlf_split_between_chunks_is_one_line_end():
    d = SSEDecoder()
    events = d.feed(b"data: a\r") + d.feed(b"\n\r") + d.feed(b"\n")
    assert [e.data for e in events] == ["a"]


# -- issue 16: bounded pieces, capped events, surrogate halves ---------------------------------

def test_a_gzip_body_is_inflated_a_bounded_piece_at_a_time():
    import gzip
    import zlib

    from hybrid_core.streams import READ_BYTES, BodyDecoder
    plain = b"\n" * (8 * 1024 * 1024) + b"end"
    body = gzip.compress(plain)
    decoder = BodyDecoder("gzip")
    pieces = [p for at in range(0, len(body), 4096) for p in decoder.pieces(body[at:at + 4096])]
    assert max(map(len, pieces)) <= READ_BYTES and b"".join(pieces) == plain
    deflated = zlib.compress(b"zlib wrapped")
    assert b"".join(BodyDecoder("deflate").pieces(deflated)) == b"zlib wrapped"
    raw = zlib.compressobj(wbits=-15)
    assert b"".join(BodyDecoder("deflate").pieces(raw.compress(b"raw") + raw.flush())) == b"raw"
    assert b"".join(BodyDecoder("").pieces(b"x" * 200_000)) == b"x" * 200_000
    with pytest.raises(StreamFormatError, match="compressed with 'br'"):
        BodyDecoder("br")
    with pytest.raises(StreamFormatError, match="damaged"):
        list(BodyDecoder("gzip").pieces(b"\x1f\x8b\x08\x00garbage-not-deflate"))


def test_an_sse_event_may_not_grow_past_the_line_bound():
    from hybrid_core.streams import MAX_LINE_BYTES
    d = SSEDecoder()
    chunk = b"data: " + b"x" * 1000 + b"\n"
    with pytest.raises(StreamFormatError, match="an event longer than"):
        for _ in range(MAX_LINE_BYTES // len(chunk) + 2):
            d.feed(chunk * 1)
    # Many small data lines count what they cost in memory, not only their text.
    d = SSEDecoder()
    with pytest.raises(StreamFormatError, match="an event longer than"):
        for _ in range(400):
            d.feed(b"data: x\n" * 1000)


def test_floods_of_blank_lines_end_nothing_and_cost_little():
    assert NDJSONDecoder().feed(b"\n" * 100_000 + b'{"a": 1}\n\r\n') == [{"a": 1}]
    d = SSEDecoder()
    assert d.feed(b"\n" * 100_000) == []
    assert [e.data for e in d.feed(b"data: x\n\n" + b"\n" * 1000)] == ["x"]


def test_a_bad_line_keeps_its_sample_for_a_masked_message():
    with pytest.raises(StreamFormatError) as caught:
        NDJSONDecoder().feed(b"Bearer sk-secret-1234567890 rejected\n")
    assert caught.value.describe(lambda s, n: s.replace("sk-secret-1234567890", "[redacted]")[:n]) == \
        "not JSON: 'Bearer [redacted] rejected'"


@pytest.mark.parametrize("pieces, whole", [
    (["smile \ud83d", "\ude00 done"], "smile 😀 done"),
    (["\ud83d", "", "\ude00"], "😀"),
    (["lone \ud83d", "x"], "lone \ufffdx"),
    (["\ude00 low first"], "\ufffd low first"),
    (["ends high \ud83d"], "ends high \ufffd"),
    (["caf\u00e9 ", "ok"], "caf\u00e9 ok"),
])
def test_surrogate_halves_are_joined_across_pieces(pieces, whole):
    from hybrid_core.streams import TextRepair
    repair = TextRepair()
    out = "".join(repair.feed(p) for p in pieces) + repair.close()
    assert out == whole
    out.encode("utf-8")  # fit to send to Neovim and to write to the chat file
