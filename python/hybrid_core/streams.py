"""Incremental decoders for the two streaming formats: Ollama's NDJSON and OpenAI's SSE.

Both take raw bytes in chunks of any size (a chunk may end mid-line or mid UTF-8
character) and return only complete items; neither does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

# A line longer than this is an unreadable server, not an answer; we stop rather than
# let one line take all memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
SAMPLE_CHARS = 1024  # of a bad line, kept for the message (masked, then cut to 80)


def _cut(text: str, limit: int) -> str:
    return text[:limit]


class StreamFormatError(ValueError):
    """The bytes are not the format they claim to be. `sample` is the offending text, kept whole
    enough that a key in it can be masked before it is cut for the message."""

    def __init__(self, what: str, sample: str = ""):
        super().__init__(what)
        self.what = what
        self.sample = sample[:SAMPLE_CHARS]

    def describe(self, clip: Callable[[str, int], str] = _cut) -> str:
        return f"{self.what}: {clip(self.sample, 80)!r}" if self.sample else self.what

    def __str__(self) -> str:
        return self.describe()


def _decode(line: bytes) -> str:
    # Split points are ASCII newlines, which never fall inside a UTF-8 sequence, so a
    # complete line decodes on its own; invalid bytes become U+FFFD instead of an error.
    return line.decode("utf-8", errors="replace")


def _check_unfinished(buf: bytearray) -> None:
    """What is left after the complete lines is one unfinished line: it may not grow forever."""
    if len(buf) > MAX_LINE_BYTES:
        raise StreamFormatError(f"a line longer than {MAX_LINE_BYTES} bytes")


class NDJSONDecoder:
    """Newline-delimited JSON: one object per line."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[dict]:
        self._buf += data
        out: list[dict] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                break
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            obj = self._parse(line)
            if obj is not None:
                out.append(obj)
        _check_unfinished(self._buf)
        return out

    def close(self) -> list[dict]:
        """End of stream: a last line without its newline still counts."""
        rest, self._buf = bytes(self._buf), bytearray()
        obj = self._parse(rest)
        return [obj] if obj is not None else []

    @staticmethod
    def _parse(line: bytes) -> dict | None:
        text = _decode(line).strip()
        if not text:
            return None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            raise StreamFormatError("not JSON", text) from None
        if not isinstance(obj, dict):
            raise StreamFormatError("expected a JSON object, got", text)
        return obj


class SSEEvent(NamedTuple):
    # A tuple, not a dataclass: one is made per token, and a tuple is made fastest.
    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Server-sent events as the WHATWG spec reads them.

    Lines end in LF, CRLF or CR; `:` starts a comment (OpenRouter's keep-alives);
    several `data:` lines join with newlines; a blank line dispatches the event; an
    event not closed by a blank line when the stream ends is dropped, as the spec says.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._started = False

    def feed(self, data: bytes) -> list[SSEEvent]:
        self._buf += data
        if not self._started and self._buf:
            if len(self._buf) < 3 and b"\xef\xbb\xbf".startswith(bytes(self._buf)):
                return []
            if self._buf.startswith(b"\xef\xbb\xbf"):
                del self._buf[:3]
            self._started = True
        end = self._buf.rfind(b"\n")
        out = self._feed_lf(end) if end >= 0 and b"\r" not in self._buf else self._feed_any()
        _check_unfinished(self._buf)
        return out

    def _feed_lf(self, end: int) -> list[SSEEvent]:
        """The usual case, every line ending in LF: the complete lines are decoded and split
        in one go (an LF never falls inside a UTF-8 sequence), not a line at a time."""
        block = _decode(bytes(self._buf[:end]))
        del self._buf[: end + 1]
        out: list[SSEEvent] = []
        for line in block.split("\n"):
            if line.startswith("data: "):
                self._data.append(line[6:])  # most lines: no need for the general parse
            else:
                event = self._line(line)
                if event is not None:
                    out.append(event)
        return out

    def _feed_any(self) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        start = 0
        buf = self._buf
        n = len(buf)
        while start < n:
            lf = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, lf if lf >= 0 else n)
            if cr >= 0:
                if cr + 1 == n:
                    break  # a CR at the end may be the first half of CRLF: wait
                end, nxt = cr, cr + 2 if buf[cr + 1] == 0x0A else cr + 1
            elif lf >= 0:
                end, nxt = lf, lf + 1
            else:
                break
            event = self._line(_decode(bytes(buf[start:end])))
            if event is not None:
                out.append(event)
            start = nxt
        del self._buf[:start]
        return out

    def close(self) -> list[SSEEvent]:
        """End of stream. A trailing CR still ends its line; an unterminated event is dropped."""
        out: list[SSEEvent] = []
        if self._buf.endswith(b"\r"):
            self._buf += b"\n"
            out = self.feed(b"")
        self._buf.clear()
        self._data, self._event = [], ""
        return out

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
        self._data, self._event = [], ""
        return event
