"""What each secret rule's regex needs, read off its parse tree (for the fast scan in `fast.py`).

A rule's regex is only ever run where it could match, and these facts say where that is:
  - `starts`: literal strings, each with the offsets its match may start at relative to where the
    string sits (every match holds one of them), so the regex is tried only at those offsets;
  - `runs`: the regex matches nothing but "run" characters (letters, digits, _-.+/=~%:&;), at
    least RUN_MIN of them: any match lies inside a long run of such characters, and the runs
    of a text stand in for the text ("regex": search them with the regex, which looks no
    further than RUN_REACH from where it starts; "literals": its literals must be in them);
  - `needs`: sets of characters of which the text must hold one each (the `=` of `key=`).
Everything is derived, none of it written by hand, so a new rule gets it too; a regex this
code does not understand gets none of it and is run over the whole text, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # Python 3.11 renamed the parser modules
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover (3.10)
    import sre_constants as C
    import sre_parse

INF = float("inf")
RUN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/=~%:&;")
RUN_MIN = 20      # a rule matching shorter strings is not looked for in the runs
RUN_REACH = 512   # how far past its start a run rule may look (the overlap of long-run chunks)
MAX_LITERALS = 64
MAX_SPREAD = 24   # a literal whose match may start over more offsets than this is no use
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT) + ((C.POSSESSIVE_REPEAT,) if hasattr(C, "POSSESSIVE_REPEAT") else ())


class Unknown(Exception):
    """A construct the analysis does not model: the rule gets no fast path."""


@dataclass(frozen=True)
class Plan:
    starts: dict[str, tuple[int, ...]] | None  # literal -> offsets of the match start before it
    runs: str | None  # "regex" or "literals", see above
    needs: tuple[frozenset[str], ...]
    min_width: int
    branches: tuple[str, ...] | None = None  # (?:A|B)T as (?:A)T and (?:B)T, see `branches`
    prefixed: bool = False  # it (or each branch) opens with a literal, which the engine scans for fast


def _chars(op, av) -> frozenset[str] | None:
    """The characters one consuming item matches, or None (too many to say: \\s, [^x], .)."""
    if op is C.LITERAL:
        return frozenset(chr(av))
    if op is C.IN:
        out: set[str] = set()
        for o, a in av:
            if o is C.LITERAL:
                out.add(chr(a))
            elif o is C.RANGE and a[1] - a[0] < 128:
                out.update(map(chr, range(a[0], a[1] + 1)))
            else:  # NEGATE, CATEGORY (\d is every Unicode digit), big ranges
                return None
        return frozenset(out)
    return None


def _width(items, groups) -> tuple[int, float]:
    lo, hi = 0, 0
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY):
            a, b = 1, 1
        elif op is C.SUBPATTERN:
            a, b = _width(av[-1].data, groups)
            if av[0] is not None:
                groups[av[0]] = (a, b)
        elif op is C.BRANCH:
            ws = [_width(alt.data, groups) for alt in av[1]]
            a, b = min(w[0] for w in ws), max(w[1] for w in ws)
        elif op in _REPEATS:
            a, b = _width(av[2].data, groups)
            a, b = av[0] * a, (INF if av[1] == C.MAXREPEAT else av[1] * b)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            _width(av[1].data, groups)  # for the groups it defines
            a, b = 0, 0
        elif op is C.AT:
            a, b = 0, 0
        elif op is C.GROUPREF and av in groups:
            a, b = groups[av]
        else:
            raise Unknown(op)
        lo, hi = lo + a, hi + b
    return lo, hi


def _reach(items, groups) -> float:
    """An upper bound on how far past the start the matcher reads (lookaheads included, and the
    character a repeat stops at)."""
    return _extent(items, groups) + 1


def _extent(items, groups) -> float:
    total = 0
    for op, av in items:
        if op in (C.ASSERT, C.ASSERT_NOT):
            if av[0] < 0:
                raise Unknown("lookbehind")
            total += _extent(av[1].data, groups)
        elif op is C.SUBPATTERN:
            total += _extent(av[-1].data, groups)
        elif op is C.BRANCH:
            total += max(_extent(alt.data, groups) for alt in av[1])
        elif op in _REPEATS:
            total += INF if av[1] == C.MAXREPEAT else av[1] * _extent(av[2].data, groups)
        else:
            total += _width([(op, av)], groups)[1]
    return total


def _run_only(items) -> bool:
    """Does every item (lookaheads too) match only run characters, with nothing like ^ or \\b?"""
    for op, av in items:
        if op in (C.SUBPATTERN,):
            ok = _run_only(av[-1].data)
        elif op is C.BRANCH:
            ok = all(_run_only(alt.data) for alt in av[1])
        elif op in _REPEATS:
            ok = _run_only(av[2].data)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            ok = av[0] > 0 and _run_only(av[1].data)
        elif op is C.GROUPREF:
            ok = True  # the group's own items were checked
        else:
            chars = _chars(op, av)
            ok = chars is not None and chars <= RUN_CHARS
        if not ok:
            return False
    return True


def _literals(items) -> tuple[set[str], bool]:
    """Strings one of which every match of `items` starts with, and whether each of them is a
    whole match (so the next item's strings can be appended)."""
    acc, exact = {""}, True
    for op, av in items:
        if op is C.LITERAL:
            nxt, whole = {chr(av)}, True
        elif op is C.IN:
            chars = _chars(op, av)
            if chars is None or len(chars) > 6:
                return acc, False
            nxt, whole = set(chars), True
        elif op is C.SUBPATTERN:
            nxt, whole = _literals(av[-1].data)
        elif op is C.BRANCH:
            parts = [_literals(alt.data) for alt in av[1]]
            nxt, whole = set().union(*(p[0] for p in parts)), all(p[1] for p in parts)
        elif op in _REPEATS and av[:2] == (0, 1):
            inner, whole = _literals(av[2].data)
            if not whole:
                return acc, False
            nxt = inner | {""}
        elif op in _REPEATS and av[0] >= 1:
            nxt, whole = _literals(av[2].data)
            whole = whole and av[0] == av[1] == 1
        else:
            return acc, False
        if not nxt:
            return acc, False
        if "" in nxt and not whole or len(acc) * len(nxt) > MAX_LITERALS:
            return acc, False
        acc = {a + b for a in acc for b in nxt}
        if not whole:
            return acc, False
    return acc, exact


def _factor(items, groups) -> list[tuple[str, int, int]] | None:
    """(literal, lo, hi): every match holds one of the literals, starting lo..hi past its start."""
    best, best_score = None, None
    lo, hi = 0, 0
    for i, (op, av) in enumerate(items):
        found = None
        lits, _ = _literals(items[i:])
        if lits and min(map(len, lits)) >= 2:
            found = [(s, lo, hi) for s in lits]
        elif op in (C.SUBPATTERN, C.BRANCH):
            alts = av[1] if op is C.BRANCH else [av[-1]]
            if op is C.SUBPATTERN and len(av[-1].data) == 1 and av[-1].data[0][0] is C.BRANCH:
                alts = av[-1].data[0][1][1]
            parts = [_factor(alt.data, dict(groups)) for alt in alts]
            if all(parts):
                found = [(s, lo + a, hi + b) for part in parts for s, a, b in part]
        if found and hi - lo <= MAX_SPREAD:
            shortest = min(len(s) for s, _, _ in found)  # long, then at one offset, then few
            score = (min(shortest, 4), -max(b - a for _, a, b in found), min(shortest, 8), -len(found))
            if best_score is None or score > best_score:
                best, best_score = found, score
        a, b = _width([(op, av)], groups)
        lo, hi = lo + a, hi + b
        if hi - lo > MAX_SPREAD:
            break
    return best


def _branch_need(alts) -> frozenset[str] | None:
    """One string of each branch: its literal when that is all it starts with, or a character
    it needs. Literals are kept only beside a single character (`client-key-data` or a
    newline): a set of words alone would cost a search through the text per word."""
    words, chars = set(), set()
    for alt in alts:
        lits, _ = _literals(alt.data)
        sub = _needs(alt.data)
        if not sub or max(map(len, sub[0])) > 1:
            return None
        chars |= sub[0]
        words |= lits if lits and min(map(len, lits)) >= 2 and len(lits) <= 2 else sub[0]
    words = {w for w in words if not any(o != w and o in w for o in words)}  # the shorter suffices
    return frozenset(words) if min(map(len, words)) == 1 and len(words) <= 8 else frozenset(chars)


def _needs(items) -> tuple[frozenset[str], ...]:
    """Sets of strings a match must each hold one of: its small character classes, and for an
    alternation the literal of each branch (kind: either `client-key-data` or a newline)."""
    out = []
    for op, av in items:
        if op is C.SUBPATTERN:
            out.extend(_needs(av[-1].data))
        elif op in _REPEATS and av[0] >= 1:
            out.extend(_needs(av[2].data))
        elif op is C.BRANCH:
            need = _branch_need(av[1])
            if need:
                out.append(need)
        else:
            chars = _chars(op, av)
            if chars is not None and len(chars) <= 8:
                out.append(chars)
    # The cheap ones first: a missing character costs one memchr, a missing word a search.
    return tuple(sorted(dict.fromkeys(out), key=lambda need: max(map(len, need))))


def plan(pattern: str) -> Plan | None:
    """The facts for one rule's regex (None when any part of it is beyond this analysis)."""
    try:
        items = sre_parse.parse(pattern).data
        groups: dict = {}
        min_width, _ = _width(items, groups)
        reach = _reach(items, groups)
        factor = _factor(items, groups)
    except (Unknown, RecursionError):
        return None
    if min_width < 1:
        return None
    starts: dict[str, set[int]] = {}
    for lit, lo, hi in factor or ():
        starts.setdefault(lit, set()).update(range(lo, hi + 1))
    runs = None
    if _run_only(items) and min_width >= RUN_MIN:
        runs = "regex" if reach <= RUN_REACH else "literals" if starts and max(map(len, starts)) <= RUN_REACH else None
    split = branches(pattern)
    prefixed = _prefixed(items) or bool(split) and all(_prefixed(sre_parse.parse(b).data) for b in split)
    return Plan({k: tuple(sorted(v)) for k, v in starts.items()} or None, runs, _needs(items), min_width,
                split, prefixed)


def _prefixed(items) -> bool:
    """Does the regex open with two literal characters or more? The engine then finds them for
    itself (one character, like the p of (?:password|pwd), it finds nearly everywhere)."""
    while items and items[0][0] is C.SUBPATTERN:
        items = items[0][1][-1].data
    return len(items) >= 2 and items[0][0] is C.LITERAL and items[1][0] is C.LITERAL


def _tree(items) -> tuple:
    """A parse tree as plain tuples, to compare two of them."""
    def item(x):
        if isinstance(x, sre_parse.SubPattern):
            return ("sub", _tree(x.data))
        if isinstance(x, (list, tuple)):
            return tuple(item(y) for y in x)
        return str(x) if isinstance(x, C._NamedIntConstant) else x
    return tuple(item(pair) for pair in items)


def branches(pattern: str, most: int = 4) -> tuple[str, ...] | None:
    """A pattern that opens with an alternation, (?:A|B)T, as one pattern a branch, (?:A)T and
    (?:B)T. Tried in order at a place, they match what the whole does there, and each starts
    with its literal, which the regex engine looks for fast (the whole, with a choice of first
    characters, is tried at every place holding one of them). None when the branches hold groups
    of their own (that would renumber the rest) or the parse trees disagree."""
    opener = "(?:" if pattern.startswith("(?:") else "(" if pattern[:1] == "(" and pattern[1:2] != "?" else None
    if opener is None:
        return None
    depth, bars, i, close = 0, [], 0, None
    while i < len(pattern) and close is None:
        ch = pattern[i]
        if ch == "\\":
            i += 1
        elif ch == "[":  # a class: skip to its end (a ] first in it is a literal)
            i = pattern.index("]", i + 2 if pattern[i + 1:i + 2] != "^" else i + 3)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            close = i if depth == 0 else None
        elif ch == "|" and depth == 1:
            bars.append(i)
        i += 1
    if close is None or not bars or len(bars) >= most:
        return None
    cuts = [len(opener) - 1, *bars, close]
    alts = [pattern[a + 1:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    out = tuple(opener + alt + ")" + pattern[close + 1:] for alt in alts)
    try:
        whole = sre_parse.parse(pattern)
        op, av = whole.data[0]
        if op is C.SUBPATTERN and len(av[-1].data) == 1:  # (A|B)
            op, av = av[-1].data[0]
        if op is not C.BRANCH:  # (?:A|B) is parsed as the branch itself
            return None
        for alt, sub, branch in zip(alts, out, av[1], strict=True):
            parsed = sre_parse.parse(sub)
            if sre_parse.parse(alt).state.groups != 1 or parsed.state.groups != whole.state.groups:
                return None
            if parsed.getwidth()[0] < 1:  # an empty match would not move the search on
                return None
            if _tree(sre_parse.parse(alt).data) != _tree(branch.data):
                return None
    except (ValueError, IndexError, re.error):
        return None
    return out


# (offset of the literal before the searched one, the literals to confirm there or None, the
# offsets of the match start before the literal)
Trigger = tuple[int, tuple[str, ...] | None, tuple[int, ...]]


def triggers(rules: list[tuple[Plan | None, tuple[str, ...]]]) -> list[dict[str, tuple[Trigger, ...]] | None]:
    """What to search for each rule's literals, shared between rules: a literal holding a shorter
    one (another rule's, an anchor, or a part several literals have, like `auth`) is found by
    that one and confirmed in place (`key` finds api_key, private-key, -key and key=). Rules come
    as (plan, anchors), all of one case."""
    pool = {a for _, anchors in rules for a in anchors if len(a) >= 3}
    pool |= {lit for p, _ in rules if p and p.starts for lit in p.starts if len(lit) >= 3}
    pool = {lit for lit in pool if lit.isascii() and "?" not in lit}
    left = set(pool)
    while True:  # a part of four or more characters in two or more literals stands for them
        parts: dict[str, int] = {}
        for lit in left:
            for part in {lit[i:j] for i in range(len(lit)) for j in range(i + 4, len(lit) + 1)}:
                parts[part] = parts.get(part, 0) + 1
        best = max(parts.items(), key=lambda kv: (kv[1], len(kv[0])), default=("", 0))
        if best[1] < 2:
            break
        pool.add(best[0])
        left = {lit for lit in left if best[0] not in lit}
    out: list[dict[str, tuple[Trigger, ...]] | None] = []
    for p, _ in rules:
        if not (p and p.starts and all(lit.isascii() for lit in p.starts)):
            out.append(None)
            continue
        found: dict[str, dict[tuple[int, tuple[int, ...]], set[str]]] = {}
        for lit, offsets in p.starts.items():
            key = min((k for k in pool if k in lit), key=len, default=lit)
            found.setdefault(key, {}).setdefault((lit.index(key), offsets), set()).add(lit)
        out.append({key: tuple((at, None if key in lits else tuple(sorted(lits)), offsets)
                               for (at, offsets), lits in groups.items())
                    for key, groups in found.items()})
    return out
