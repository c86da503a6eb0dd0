"""The fast scan (privacy/fast.py, issue 15) finds what the plain rule-by-rule loop finds: the
same matches of the same rules in the same order (so the same findings, the same first label
and the same fail-closed point), on the corpus and on random texts built around it."""

import json
import os
import random
import re

import pytest

from hybrid_core.privacy import PrivacyRules, findings, plain_matches
from hybrid_core.privacy import values as v
from hybrid_core.privacy.fast import CHUNK, SHAPED, rule_matches
from hybrid_core.privacy.plan import RUN_REACH, branches, plan
from hybrid_core.privacy.secrets import RULES

CORPUS = os.path.join(os.path.dirname(__file__), "privacy_corpus")


def rows(name):
    with open(os.path.join(CORPUS, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


SECRETS = rows("secrets.jsonl")
CLEAN = rows("clean.jsonl")


def trace(matches, most=5000):
    """Each match as (rule, span of every group), up to `most` of them."""
    out = []
    for rule, m in matches:
        out.append((rule.label, rule.regex.pattern, m.regs))
        if len(out) >= most:
            break
    return out


def same(text, rules=RULES):
    assert trace(rule_matches(text, rules)) == trace(plain_matches(text, rules)), text[:200]


def test_the_corpus_rows_give_the_same_matches():
    for row in SECRETS + CLEAN:
        same(row["text"])
        same(row.get("secret") or "")


# Noise with what the fast path treats specially: keywords the rules look for, characters that
# lower to ASCII (the Kelvin sign) or to two characters (İ), Σ (lowered by its neighbours),
# Unicode spaces and digits, "?" (what non-ASCII becomes in the ASCII copy), long runs.
WORDS = ("password", "passwd", "pass", "pwd", "token", "api_key", "-key", "_key", "secret", "credential", "--auth",
         "value", "default", "bearer", "Authorization:", "auth", '"auth"', "_auth", "kind: Secret", "client-key-data",
         "sk-", "eyJ", "://", "@", "BEGIN", "PRIVATE KEY", "sig=", "key=", "AKIA", "ghp_", "xoxb-", "Q~", "-us1",
         "type", "service_account", "hooks.slack.com/", "pat", "\u212aey", "\u0130", "\u03a3", "\u00a0", "\u3000", "٣",
         "é", "日本", "?", "=", ":", ": ", " = ", ",", "'", '"', "\n", "\t", " ", "\n  ", "(", ")", "{{", "x", "Ab3",
         ":5432:", ":*:", "12345", "@tcp(", "@unix(", "Basic ", ";Pwd=", "define( '", "data:", "\n---\n", "${")


def noise(rnd, size):
    parts, n = [], 0
    while n < size:
        pick = rnd.random()
        if pick < 0.55:
            part = rnd.choice(WORDS)
        elif pick < 0.85:
            part = "".join(rnd.choice("abcdefXYZ0123456789_-./+=") for _ in range(rnd.randint(1, 40)))
        else:  # a long run of key characters, now and then past the chunk size of the runs
            part = "".join(rnd.choice("ABCDEFabcdef0123456789+/") for _ in range(rnd.choice((30, 300, CHUNK + 700))))
        parts.append(part)
        n += len(part)
    return "".join(parts)


def embedded(rnd, size):
    text = noise(rnd, size)
    for _ in range(rnd.randint(1, 6)):
        row = rnd.choice(SECRETS)
        secret = row["text"] if rnd.random() < 0.6 else row["secret"]
        at = rnd.randrange(len(text) + 1)
        glue = rnd.choice(("", " ", "\n", "x"))
        text = text[:at] + glue + secret + glue + text[at:]
    return text


@pytest.mark.parametrize("seed", range(8))
def test_random_texts_with_secrets_give_the_same_matches(seed):
    rnd = random.Random(seed)
    for _ in range(12):
        same(embedded(rnd, rnd.choice((200, 3000, 20000))))


def test_concatenated_secrets_give_the_same_matches():
    rnd = random.Random(99)
    for _ in range(20):
        same("".join(rnd.choice(SECRETS)["secret"] + rnd.choice(("", "\n", " ", "-")) for _ in range(60)))


def test_a_secret_in_a_run_longer_than_a_chunk_is_found_wherever_it_sits():
    # The runs are searched in chunks overlapping by RUN_REACH: put a key around every boundary.
    key = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c"
    filler = "QmFzZTY0" * (3 * CHUNK // 8)
    step = CHUNK - RUN_REACH
    for at in sorted({step * k + d for k in (1, 2) for d in (-len(key), -20, -1, 0, 1, RUN_REACH - len(key))}):
        text = filler[:at] + key + filler[at:]
        assert trace(rule_matches(text, RULES)) == trace(plain_matches(text, RULES))
        assert any(label == "a GitHub token" for label, _ in findings(text, fast=True))


@pytest.mark.parametrize("unit", ["key-", "secret_", "task-", "pass ", "password=changeme ", "token: abc ", "bearer ",
                                  "12:30:45 ", ":", "h:5432:d:u: ", "u:p@tcp(", "Basic dXNlcjpwYXNz ", ";Password=x",
                                  "eyJabcdefghij.", "-----BEGIN RSA PRIVATE KEY-----\n", "?sig=", ":AA", "://a:b@",
                                  "kind: Secret\n", "A", "日本語のテキスト", "\u212aey=Zx9#kq2!v "])
def test_repetitive_texts_give_the_same_findings(unit):
    text = (unit * (65536 // len(unit) + 1))[:65536]
    same(text)
    assert list(findings(text, fast=True)) == list(findings(text, fast=False))


def test_the_users_own_patterns_give_the_same_matches():
    rules = PrivacyRules(patterns=[r"(?i)internal-[a-z]{4}", r"ACME_[0-9]{6}", r"x*", r"(?:foo|bar)baz\d"]).patterns
    rnd = random.Random(7)
    for _ in range(10):
        text = embedded(rnd, 5000) + " Internal-abcd ACME_123456 foobaz1 barbaz2 "
        same(text, rules)


def test_an_alternation_is_split_only_where_that_keeps_the_groups():
    assert branches(r"(?:ab|cd)e(f)") == ("(?:ab)e(f)", "(?:cd)e(f)")
    assert branches(r"(ab|cd)e") == ("(ab)e", "(cd)e")
    assert branches(r"(?:[|)]x|y)z") == ("(?:[|)]x)z", "(?:y)z")
    assert branches(r"(a|b(c))d") is None  # the second branch's group would be renumbered
    assert branches(r"(?=a|b)c") is None
    assert branches(r"(?:a|)") is None  # an empty match would not move the search on
    for pattern in (r"(?:ab|cd)e(f)", r"(ab|cd)e", r"(?:[|)]x|y)z"):
        whole, parts = re.compile(pattern), [re.compile(b) for b in branches(pattern)]
        for text in ("abef", "cdef", "]xz", "yz", "cde"):
            m = whole.match(text)
            firsts = [p.match(text) for p in parts]
            first = next((f for f in firsts if f), None)
            assert (m and m.regs) == (first and first.regs)


def test_the_analysis_reads_what_a_match_needs():
    p = plan(r"(?:client-key-data|\n\s{0,20}token):\s{0,9}([A-Za-z0-9+/=._-]{20,8000})")
    assert p.starts == {"client-key-data": (0,), "token": tuple(range(1, 22))}
    assert frozenset({"\n", "client-key-data"}) in p.needs
    assert plan(r"AKID[A-Za-z0-9]{32}").runs == "regex"
    assert plan(r"sk\.eyJ[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{20,}").runs == "literals"
    assert plan(r"/api/webhooks/\d{5,25}/[A-Za-z0-9_-]{30,100}").runs is None  # \d is any Unicode digit
    assert plan(r"x*") is None  # matches the empty string: left to the plain loop


def test_a_rule_with_shapes_matches_only_where_one_is():
    # The fast path tries such a rule only where a shape is (digits read as 0, in the ASCII copy):
    # every match of its regex must start there, on texts made of what the shapes are about.
    rnd = random.Random(5)
    fields = ("1", "5432", "65535", "123", "*", "db", "a_b", "٣", "K", "")
    fold = bytes.maketrans(b"123456789", b"000000000")
    shaped_rules = [rule for rule in RULES if rule.shapes]
    assert shaped_rules
    for rule in shaped_rules:
        matched = 0
        for _ in range(400):
            text = "".join(rnd.choice(fields) + rnd.choice((":", ":", ":", " ", "\n")) for _ in range(30))
            shaped = text.encode("ascii", "replace").translate(fold).decode()
            for m in rule.regex.finditer(text):
                matched += 1
                assert any(shaped.startswith(shape, m.start()) for shape in rule.shapes), (rule.label, text)
            same(text, (rule,))
        assert matched > 50, rule.label
    # Past SHAPED of the shapes' first character the fast path looks for the shapes themselves.
    logins = "\n".join(row["text"] for row in SECRETS if row["family"] == "pgpass_line")
    dense = ":" * (SHAPED + 1) + logins + "".join(rnd.choice(fields) + ":" for _ in range(3000)) + logins
    same(dense)
    assert "a .pgpass line" in [label for label, _ in findings(dense, fast=True)]


def test_the_checks_character_tests_agree_with_the_loops_they_replace():
    rnd = random.Random(3)
    alphabet = "aZ09_-.()[]{}é²ΣK \t$%"
    for _ in range(20000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
        assert v.has_upper(s) == any(c.isupper() for c in s)
        assert v.has_lower(s) == any(c.islower() for c in s)
        assert v.has_digit(s) == any(c.isdigit() for c in s)
        assert v.has_other(s) == any(not c.isalnum() for c in s)
