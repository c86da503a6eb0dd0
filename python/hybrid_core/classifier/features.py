"""Text -> hashed features, the same for training (router/train.py) and for routing.

Words and word pairs carry the meaning ("p95 tripled", "never touched"); character 4-grams
inside words carry spelling variants, typos and inflections ("memory-leak", "leaking",
"wierd"). Each feature is hashed into one of `buckets` slots with CRC-32, which is stable
across Python runs and machines (hash() is not).
"""

from __future__ import annotations

import re
import zlib

BUCKETS = 1 << 18
READ_CHARS = 2000      # the request's own words beyond this do not change its kind
CODE_LINES_MANY = 150  # lines of pasted code that make "explain" a big job

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_NUMBER = re.compile(r"\d+")


def words_and_code(text: str) -> tuple[str, int]:
    """The request's own words (fenced code left out, capped) and how many lines of code it carries.
    Plain `find`/`count`, so a 100 KB paste costs little."""
    text = text[:200_000]
    if "```" not in text:
        return text[:READ_CHARS], 0
    parts, code_lines, at = [], 0, 0
    while True:
        start = text.find("```", at)
        if start < 0:
            parts.append(text[at:])
            break
        parts.append(text[at:start])
        end = text.find("```", start + 3)
        code_lines += text.count("\n", start, end if end >= 0 else len(text))
        if end < 0:
            break
        at = end + 3
    return " ".join(parts)[:READ_CHARS], code_lines


def features(text: str, code_lines: int = 0) -> list[str]:
    low = _NUMBER.sub("0", text.lower())
    tokens = _WORD.findall(low)
    out = [f"w:{t}" for t in tokens]
    out += [f"b:{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    for t in tokens:
        if len(t) > 3:
            padded = f"<{t}>"
            out += [f"c:{padded[i:i + 4]}" for i in range(len(padded) - 3)]
    n = len(tokens)
    out.append("len:" + ("short" if n < 8 else "medium" if n < 40 else "long"))
    if code_lines:
        out.append("code:" + ("many" if code_lines > CODE_LINES_MANY else "some"))
    return out


def hashed(text: str, code_lines: int = 0) -> dict[int, float]:
    """Bucket -> weight, each feature counted once (presence), scaled so long texts do not shout."""
    feats = set(features(text, code_lines))
    if not feats:
        return {}
    scale = 1.0 / len(feats) ** 0.5
    out: dict[int, float] = {}
    for f in feats:
        b = zlib.crc32(f.encode()) % BUCKETS
        out[b] = out.get(b, 0.0) + scale
    return out
