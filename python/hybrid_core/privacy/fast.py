"""The secret rules over a long text, each regex run only where it could match (issue 15).

Running ~80 regexes over 1 MB costs ~80 passes; this runs the cheap passes once for all rules
and each regex only at the places `plan.py` says a match could start:
  - an ASCII copy of the text (and of its lower-cased copy) that `bytes` searches scan fast;
  - a rule whose characters must appear (`needs`) is skipped when one never does;
  - a rule that only matches long runs of key characters is first searched for in the text's
    long runs alone, each distinct one once (1 MB of code holds ~60 KB of them, and 1 MB of
    `key-key-…` a few KB): no match there, no match in the text;
  - a rule's anchors, as before;
  - then the regex is tried at the offsets its literals give (`str.find` finds them), or over
    the whole text like before when those literals are too many to visit one by one;
  - a rule that opens with a common character (the `:` of host:5432:db:user:) names the shapes
    its matches start with, digits read as 0 (":0000:"): in a text dense with that character
    they are searched in a digit-folded copy, where the regex would stop at every one.
Each step only drops places where the regex cannot match, and the regex is tried at the rest
in order, resuming after each match as `finditer` does: the rule yields the very same matches
(tests/test_privacy_speedpath.py compares the two on the corpus and on random texts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from .plan import RUN_CHARS, RUN_MIN, RUN_REACH, Plan, Trigger, plan, triggers
from .secrets import SecretRule

DENSE = 4000      # more places than this for one literal: run the regex over the whole text
SPARSE = 200      # as many for a regex the engine scans fast for itself (it opens with a literal)
SHAPED = 50_000   # more of a shape's first character than this: fold the digits (the regex stops at each)
CHUNK = 4096      # a longer run is looked at in chunks overlapping by RUN_REACH (dedupes key-key-…)
_RUN_CLASS = bytes(ord("a") if chr(c) in RUN_CHARS else ord(" ") for c in range(256))
_LONG_RUN = re.compile(b" " + b"a" * RUN_MIN + b"a*")
_DIGITS_AS_0 = bytes.maketrans(b"123456789", b"000000000")


def lower(text: str) -> str:
    """A lower-cased copy with the same length, so offsets carry over to the original."""
    low = text.lower()
    if len(low) != len(text):  # a few characters (İ) lower to two; keep the ASCII rules exact
        low = text.encode("ascii", "replace").decode("ascii").lower()
    return low


@lru_cache(maxsize=1024)
def rule_plan(rule: SecretRule) -> Plan | None:
    if rule.regex.flags & ~re.UNICODE:
        return None
    return plan(rule.regex.pattern)


class _Text:
    """One text's views, each made when first needed."""

    def __init__(self, text: str):
        self.text = text
        self.ascii = text.isascii()
        # Non-ASCII characters become "?": an ASCII literal is in `asc` where it is in the text.
        self.asc = text.encode("ascii") if self.ascii else text.encode("ascii", "replace")
        # The Kelvin sign lowers to an ASCII k: then the ASCII copy of the lower case is taken
        # from the lower case itself (and the runs, cut from the original, do not stand for it).
        self.kelvin = not self.ascii and "\u212a" in text
        self._low: str | None = None
        self._alow: bytes | None = None
        self._runs: tuple[str, str] | None = None
        self._shaped: bytes | None = None
        self._counts: dict[str, int] = {}
        self._found: dict[tuple[str, bool], list[int] | None] = {}
        self._has: dict[tuple[bytes, bool], bool] = {}

    @property
    def low(self) -> str:
        if self._low is None:
            self._low = self.text.lower() if self.ascii else self._stitched_low()
        return self._low

    def _stitched_low(self) -> str:
        """`lower(text)`, at a fraction of its cost on mostly-ASCII text (str.lower on a wide
        string is slow): the ASCII copy lowered, each non-ASCII character lowered on its own.
        Σ lowers by its neighbours and İ to two characters: those take `lower` itself."""
        asc, pieces, done = self.asc, [], 0
        base = (asc.lower() if self.kelvin else self.ascii_copy(True)).decode("ascii")
        at = asc.find(b"?")
        while at >= 0:
            ch = self.text[at]
            if ch != "?":
                low = ch.lower()
                if len(pieces) > 2 * DENSE or len(low) != 1 or ch == "\u03a3":
                    return lower(self.text)
                pieces += (base[done:at], low)
                done = at + 1
            at = asc.find(b"?", at + 1)
        pieces.append(base[done:])
        return "".join(pieces)

    def haystack(self, low: bool) -> str:
        return self.low if low else self.text

    def ascii_copy(self, low: bool) -> bytes:
        if not low:
            return self.asc
        if self._alow is None:
            self._alow = self.low.encode("ascii", "replace") if self.kelvin else self.asc.lower()
        return self._alow

    def has(self, needle: str, low: bool) -> bool:
        """Is `needle` in the text (or its lower case)? Exact for ASCII needles without "?"."""
        if not needle.isascii() or "?" in needle:
            return needle in self.haystack(low)
        key = (needle.encode("ascii"), low)
        if key not in self._has:
            found = self._found.get((needle, low), False)
            self._has[key] = bool(found) or found is None or key[0] in self.ascii_copy(low)
        return self._has[key]

    def cost(self, needles, low: bool, shares: dict | None = None) -> float:
        """What looking for these costs, about: the text's length over a needle's (the search
        skips ahead by about that), for those not looked for yet, shared by the rules that do."""
        return sum(1 / len(n) / (shares or {}).get((n, low), 1) for n in needles
                   if (n, low) not in self._found and (n.encode(), low) not in self._has)

    def runs(self, low: bool) -> str:
        """The text's long runs of RUN_CHARS, each distinct one once, one a line. A run longer
        than CHUNK is cut into chunks overlapping by RUN_REACH, so a match (which looks no
        further than RUN_REACH) lies whole in one of them; a repetitive run has few distinct ones."""
        if self._runs is None:
            asc = self.asc
            spans = [m.span() for m in _LONG_RUN.finditer(b" " + asc.translate(_RUN_CLASS))]
            pieces = {asc[start:end - 1] for start, end in spans if end - start <= CHUNK + 1}
            for start, end in [span for span in spans if span[1] - span[0] > CHUNK + 1]:
                for at in range(start, end - 1, CHUNK - RUN_REACH):
                    pieces.add(asc[at:min(end - 1, at + CHUNK)])
                    if at + CHUNK >= end - 1:
                        break
            joined = b"\n".join(pieces).decode("ascii")
            self._runs = (joined, joined.lower())
        return self._runs[low]

    def count(self, char: str) -> int:
        if char not in self._counts:
            self._counts[char] = self.asc.count(char.encode("ascii"))
        return self._counts[char]

    def shape_places(self, shapes: tuple[str, ...]) -> list[int] | None:
        """Where any of `shapes` is, every ASCII digit read as 0 (None when there are over DENSE)."""
        if self._shaped is None:
            self._shaped = self.asc.translate(_DIGITS_AS_0)
        found: set[int] = set()
        for shape in shapes:
            needle = shape.encode("ascii")
            at = self._shaped.find(needle)
            while at >= 0:
                found.add(at)
                if len(found) > DENSE:
                    return None
                at = self._shaped.find(needle, at + 1)
        return sorted(found)

    def places(self, literal: str, low: bool) -> list[int] | None:
        """Where `literal` is (in the lower case if `low`), or None when there are over DENSE."""
        key = (literal, low)
        if key not in self._found:
            found: list[int] | None = []
            hay, needle = self.ascii_copy(low), literal.encode("ascii")
            at = hay.find(needle)
            while at >= 0:
                found.append(at)
                if len(found) > DENSE:
                    found = None
                    break
                at = hay.find(needle, at + 1)
            self._found[key] = found
        return self._found[key]


@lru_cache(maxsize=64)
def _triggers(rules: tuple[SecretRule, ...]) -> tuple[dict[str, tuple[Trigger, ...]] | None, ...]:
    out: list = [None] * len(rules)
    for low in (False, True):
        mine = [i for i, rule in enumerate(rules) if rule.lower == low]
        for i, found in zip(mine, triggers([(rule_plan(rules[i]), rules[i].anchors) for i in mine]), strict=True):
            out[i] = found and {key: tuple((at, lits and tuple(lit.encode("ascii") for lit in lits), offsets)
                                           for at, lits, offsets in entries) for key, entries in found.items()}
    return tuple(out)  # the literals to confirm as bytes: they are looked at in the ASCII copy


@lru_cache(maxsize=64)
def _shares(rules: tuple[SecretRule, ...]) -> dict[tuple[str, bool], int]:
    """How many rules look for each literal: its search costs each of them a share."""
    out: dict[tuple[str, bool], int] = {}
    for rule, found in zip(rules, _triggers(rules), strict=True):
        for key in found or ():
            out[key, rule.lower] = out.get((key, rule.lower), 0) + 1
    return out


@lru_cache(maxsize=1024)
def _ascii_needs(rule: SecretRule) -> tuple[tuple[str, ...], ...]:
    """The rule's needs that `has` answers exactly (ASCII), each shortest first."""
    return tuple(tuple(sorted(need, key=len)) for need in rule_plan(rule).needs if all(s.isascii() for s in need))


def _may_match(rule: SecretRule, p: Plan, t: _Text) -> bool:
    for need in _ascii_needs(rule):
        if not any(t.has(s, rule.lower) for s in need):
            return False
    if not p.runs or rule.lower and t.kelvin:
        return True
    runs = t.runs(rule.lower)
    # A literal is looked for first: `in` skips ahead where the regex engine reads every character.
    if (p.runs == "literals" or p.starts) and not any(lit in runs for lit in p.starts or ()):
        return False
    if p.runs == "literals":
        return True
    return any(r.search(runs) for r in _compiled(p.branches or (rule.regex.pattern,)))


@lru_cache(maxsize=256)
def _compiled(branches: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(map(re.compile, branches))


def _starts(found: dict[str, tuple[Trigger, ...]] | None, t: _Text, low: bool, most: int) -> list[int] | None:
    """Every offset a match could start at, in order (None: over `most` places, or not known)."""
    if found is None:
        return None
    out: set[int] = set()
    hay = t.ascii_copy(low)
    for key, entries in found.items():
        places = t.places(key, low)
        if places is None or len(places) > most:
            return None
        for before, literals, offsets in entries:
            for at in places:
                at -= before
                if at >= 0 and (literals is None or hay.startswith(literals, at)):
                    out.update(at - d for d in offsets if at >= d)
    return sorted(out)


def _branch_matches(branches: tuple[str, ...], hay: str) -> Iterator[re.Match]:
    """`finditer` of (?:A|B)T from those of (?:A)T and (?:B)T: the leftmost match next, the
    first branch's where two start at one place (the order the alternation tries them in)."""
    regexes = _compiled(branches)
    ahead = [r.search(hay) for r in regexes]
    while True:
        best = None
        for m in ahead:
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        if best is None:
            return
        yield best
        end = best.end()
        ahead = [r.search(hay, end) if m is not None and m.start() < end else m for r, m in zip(regexes, ahead, strict=True)]


def rule_matches(text: str, rules: tuple[SecretRule, ...]) -> Iterator[tuple[SecretRule, re.Match]]:
    """The matches of each rule in turn, as `rule.regex.finditer` over the haystack gives them."""
    t = _Text(text)
    shares = _shares(rules)
    for rule, found in zip(rules, _triggers(rules), strict=True):
        p = rule_plan(rule)
        if p is not None and not _may_match(rule, p, t):
            continue
        starts = t.shape_places(rule.shapes) if rule.shapes and t.count(rule.shapes[0][0]) > SHAPED else None
        if starts == []:
            continue
        # The anchors and the literals are both searches through the text: the cheaper first.
        if starts is None and found is not None and t.cost(found, rule.lower, shares) < t.cost(rule.anchors, rule.lower):
            starts = _starts(found, t, rule.lower, SPARSE if p.prefixed else DENSE)
            if starts == []:
                continue  # no place for a match: whatever the anchors say, nothing to find
        if rule.anchors and not any(t.has(a, rule.lower) for a in rule.anchors):
            continue
        if found is not None and starts is None:
            starts = _starts(found, t, rule.lower, SPARSE if p.prefixed else DENSE)
        hay = t.haystack(rule.lower)
        if starts is None:
            matches = _branch_matches(p.branches, hay) if p is not None and p.branches else rule.regex.finditer(hay)
            yield from ((rule, m) for m in matches)
            continue
        end, match = 0, rule.regex.match
        for at in starts:
            if at >= end:
                m = match(hay, at)
                if m:
                    yield rule, m
                    end = m.end()
