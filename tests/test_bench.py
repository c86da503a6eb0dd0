"""The streaming bench's own arithmetic and its answer (bench/stream.py): figures nobody can
trust are worse than none."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import stream  # noqa: E402
from loopback import p99  # noqa: E402


def test_p99_of_no_samples_is_said_not_a_crash():
    # A stream that ended before the probe's first round trip left an empty list: IndexError once.
    assert math.isnan(p99([]))
    assert stream.ms(p99([])) == "no samples"
    assert p99([0.002]) == 0.002
    assert p99([i / 1000 for i in range(1, 101)]) == 0.09901


def test_the_answer_is_markdown_with_a_newline_every_dozen_chunks():
    text = stream.answer(stream.CHUNKS)
    assert len(text) == 4 * stream.CHUNKS
    chunks = [text[i:i + 4] for i in range(0, len(text), 4)]
    assert chunks[0] == stream.FIRST and chunks[-1] == stream.LAST
    assert text.count(stream.FIRST) == text.count(stream.LAST) == 1  # the end check sees only the end
    assert 10 <= stream.CHUNKS / text.count("\n") <= 14
    assert "```lua" in text and "**" in text and "\n## " in text
