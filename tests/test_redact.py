"""Masking keys: the whole key, any run of 8 of its characters, and a key split across pieces."""

import random

import pytest

from hybrid_core.backends.base import error_text
from hybrid_core.redact import MASK, Redactor, clipped, mask

KEY = "sk-proj-Qm8vT2xLp9RzK4wN7cYb1HdF6gJ3"


def runs_of(key, text, n=8):
    return [key[i:i + n] for i in range(len(key) - n + 1) if key[i:i + n] in text]


def test_the_whole_key_and_any_run_of_8_of_its_characters_are_masked():
    assert mask(f"Bearer {KEY}.", KEY) == f"Bearer {MASK}."
    assert mask(f"cut: {KEY[:32]}", KEY) == f"cut: {MASK}"
    assert mask(f"middle {KEY[10:18]} end", KEY) == f"middle {MASK} end"
    assert mask(f"short {KEY[10:17]} stays", KEY) == f"short {KEY[10:17]} stays"  # 7 characters
    assert mask(f"{KEY}{KEY} {KEY[3:20]}", KEY) == f"{MASK} {MASK}"
    assert mask("nothing here", KEY) == "nothing here"


def test_a_short_secret_is_masked_whole_only():
    assert mask("pw abc123 and abc12", "abc123") == f"pw {MASK} and abc12"


@pytest.mark.parametrize("seed", range(20))
def test_no_run_of_8_survives_in_random_text(seed):
    rng = random.Random(seed)
    parts = []
    for _ in range(30):
        start = rng.randrange(len(KEY))
        parts.append(KEY[start:start + rng.randrange(1, 20)])
        parts.append(rng.choice([" ", "x", "sk-", "Q", "\n", "é"]))
    text = "".join(parts)
    assert runs_of(KEY, mask(text, KEY)) == []


def test_the_cut_comes_after_the_mask():
    text = "x" * 190 + " " + KEY
    assert clipped(text, 200, KEY) == "x" * 190 + " " + MASK[:9]
    body = ('{"error": {"message": "' + "y" * 268 + f"Bearer {KEY}" + '"}}').encode()
    said = error_text(body, KEY)
    assert runs_of(KEY, said) == [] and len(said) <= 300
    assert runs_of(KEY, error_text(("z" * 180 + f" Bearer {KEY}").encode(), KEY)) == []


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 40])
def test_a_key_split_across_streamed_pieces_is_masked(size):
    redact = Redactor()
    redact.add(KEY)
    text = f"a {KEY} b {KEY[4:24]} c {KEY[:7]}d"
    stream = redact.stream()
    out = "".join(stream.feed(text[i:i + size]) for i in range(0, len(text), size)) + stream.flush()
    assert out == f"a {MASK} b {MASK} c {KEY[:7]}d"


def test_a_stream_without_keys_is_passed_on_as_it_comes():
    stream = Redactor().stream()
    assert [stream.feed(p) for p in ("He", "llo")] == ["He", "llo"]
    assert stream.flush() == ""
