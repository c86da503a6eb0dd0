"""Incremental decoders for the two streaming formats: Ollama's NDJSON and OpenAI's SSE.

Both take raw bytes in chunks of any size (a chunk may end mid-line or mid UTF-8
character) and return only complete items; neither does I/O.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

# A line (or an SSE event) longer than this is an unreadable server, not an answer; we stop
# rather than let one line take all memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
# Decoded bytes handed to a decoder at once: a small gzip chunk can inflate to gigabytes, and
# the caller yields to its loop between pieces, so a cancel never waits on a whole chunk.
READ_BYTES = 64 * 1024
EVENT_LINE_COST = 64  # what one `data:` line costs in memory beyond its text (the str object)
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
        end = self._buf.rfind(b"\n")
        if end < 0:
            _check_unfinished(self._buf)
            return []
        block = bytes(self._buf[:end])
        del self._buf[: end + 1]
        # Split in one go; blank lines (a flood of newlines, say) cost next to nothing.
        out = [self._parse(line) for line in block.split(b"\n") if line and not line.isspace()]
        _check_unfinished(self._buf)
        return [obj for obj in out if obj is not None]

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
    An event may not grow past MAX_LINE_BYTES, as a line may not.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._data: list[str] = []
        self._size = 0  # memory the event's data lines take so far
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
        if self._size > MAX_LINE_BYTES:
            raise StreamFormatError(f"an event longer than {MAX_LINE_BYTES} bytes (no blank line ends it)")
        return out

    def _feed_lf(self, end: int) -> list[SSEEvent]:
        """The usual case, every line ending in LF: the complete lines are decoded and split
        in one go (an LF never falls inside a UTF-8 sequence), not a line at a time."""
        block = _decode(bytes(self._buf[:end]))
        del self._buf[: end + 1]
        out: list[SSEEvent] = []
        data = self._data
        size = self._size
        for line in block.split("\n"):
            if line.startswith("data: "):
                data.append(line[6:])  # most lines: no need for the general parse
                size += len(line) + EVENT_LINE_COST
            elif line or data or self._event:
                self._size = size
                event = self._line(line)
                data, size = self._data, self._size
                if event is not None:
                    out.append(event)
            # else: a blank line with no event to end (a flood of newlines): nothing to do
        self._size = size
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
        self._data, self._event, self._size = [], "", 0
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
            self._size += len(value) + EVENT_LINE_COST
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
        self._data, self._event, self._size = [], "", 0
        return event


class BodyDecoder:
    """Undoes a body's Content-Encoding (gzip, deflate) in pieces of at most READ_BYTES, so a
    small compressed chunk that inflates to gigabytes is read a piece at a time, never whole.
    An uncompressed body is cut into pieces of the same size."""

    def __init__(self, content_encoding: str = ""):
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._z = None
        self._deflate = False  # zlib-wrapped or raw: told by its first bytes
        if codings in (["gzip"], ["x-gzip"]):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif codings == ["deflate"]:
            self._deflate = True
        elif codings:
            raise StreamFormatError(f"the body is compressed with {content_encoding!r}, which cannot be read here")

    def pieces(self, data: bytes) -> Iterator[bytes]:
        if self._deflate and self._z is None and data:
            zlib_header = len(data) > 1 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        z = self._z
        if z is None:
            for at in range(0, len(data), READ_BYTES):
                yield data[at:at + READ_BYTES]
            return
        try:
            while not z.eof:  # (bytes after the end of the compressed body are ignored)
                out = z.decompress(data, READ_BYTES)
                data = z.unconsumed_tail
                if out:
                    yield out
                if not data and len(out) < READ_BYTES:
                    return
        except zlib.error:
            raise StreamFormatError("the compressed body is damaged") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def repaired(text: str) -> str:
    """`text` fit to encode as UTF-8: surrogate pairs joined into their character, a lone half
    (a JSON escape cut in two, or a byte Neovim could not decode) replaced by U+FFFD."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class TextRepair:
    """Streamed text made fit for UTF-8. Servers send an emoji as two JSON escapes, and may send
    them in two events ("\\ud83d" then "\\ude00"): a high half at the end of a piece waits for
    the next piece, so the pair becomes its character; a half left alone becomes U+FFFD."""

    def __init__(self) -> None:
        self._high = ""

    def feed(self, text: str) -> str:
        if self._high:
            text, self._high = self._high + text, ""
        elif text.isascii():
            return text
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._high = text[:-1], text[-1]
        return repaired(text)

    def close(self) -> str:
        """The end of the stream: a half still waiting becomes U+FFFD."""
        text, self._high = self._high, ""
        return repaired(text)
