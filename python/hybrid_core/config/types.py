"""The kinds of value setup.yaml holds. Each one names itself for :help hybrid (`label`) and
checks a value (`check`), raising through `fail(key, what)` with the text that follows the key in
the one-line error: `setup.yaml: retry.max_wait: expected a positive number of seconds, got 0`.

`Custom` marks a value whose check needs more than the value (the other backends, the backend's
type): validate.py checks those itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Fail = Callable[[str, str], None]  # fail(key, what) raises ConfigError


def show(value) -> str:
    """A value as an error message quotes it: text in quotes, anything long cut short."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def alternatives(values) -> str:
    """'a or b', 'a, b or c'."""
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Type:
    label = ""

    def check(self, value, key: str, fail: Fail):
        """The value as the typed section keeps it; `fail` when it is wrong."""
        return value


class Custom(Type):
    """Checked by validate.py's own code; only the label is the schema's."""

    def __init__(self, label: str):
        self.label = label


class Positive(Type):
    """A positive number of `unit`: seconds and MB are kept as floats, a whole count as it is."""

    def __init__(self, unit: str = "seconds", *, whole: bool = False):
        self.unit, self.whole = unit, whole
        self.label = f"{unit} (whole number)" if whole else unit

    def check(self, value, key, fail):
        wrong_kind = not isinstance(value, int) or isinstance(value, bool) if self.whole else not is_number(value)
        if wrong_kind or value <= 0:
            fail(key, f"expected a positive number of {self.unit}, got {show(value)}")
        return value if self.whole else float(value)


class WholeNumber(Type):
    def __init__(self, low: int, high: int, low_means: str = ""):
        self.low, self.high, self.low_means = low, high, low_means
        self.label = f"{low} to {high}"

    def check(self, value, key, fail):
        if not isinstance(value, int) or isinstance(value, bool) or not self.low <= value <= self.high:
            low = f"{self.low} ({self.low_means})" if self.low_means else str(self.low)
            fail(key, f"expected a whole number from {low} to {self.high}, got {show(value)}")
        return int(value)


class Amount(Type):
    label = "USD"

    def check(self, value, key, fail):
        if not is_number(value) or value < 0:
            fail(key, f"expected an amount in USD, got {show(value)}")
        return value  # as written: 20 stays 20 (checkhealth shows $20, not $20.0)


class Flag(Type):
    label = "`true` or `false`"

    def __init__(self, *, strict: bool = True):
        # strict=False: context.summarize has always taken what equals true or false (1, 0),
        # and only true itself turns it on.
        self.strict = strict

    def check(self, value, key, fail):
        ok = isinstance(value, bool) if self.strict else value in (True, False)
        if not ok:
            fail(key, f"expected true or false, got {show(value)}")
        return value is True


class OneOf(Type):
    def __init__(self, values: tuple[str, ...], verb: str = "must be"):
        self.values, self.verb = values, verb
        self.label = alternatives(f"`{v}`" for v in values)

    def check(self, value, key, fail):
        if value not in self.values:
            fail(key, f"{self.verb} {alternatives(self.values)}, got {show(value)}")
        return value


class Text(Type):
    def __init__(self, *, required: bool = False, label: str = "text"):
        self.required, self.label = required, label

    def check(self, value, key, fail):
        if value is None:
            if self.required:
                fail(key, "missing")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            fail(key, f"expected text, got {show(value)}")
        if not isinstance(value, str):
            fail(key, f"expected text, got {show(value)} (quote it if you mean text)")
        if self.required and not value.strip():
            fail(key, "must not be empty")
        return value


class TextList(Type):
    """A list of text (each a regex, with regex=True); with one_ok, one text stands for a list of one."""

    def __init__(self, label: str, *, regex: bool = False, one_ok: bool = False):
        self.label, self.regex, self.one_ok = label, regex, one_ok

    def check(self, value, key, fail):
        items = value or []
        if self.one_ok and isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            fail(key, f"expected text or a list of text, got {show(items)}" if self.one_ok
                 else f"expected a list, got {show(items)}")
        for i, item in enumerate(items):
            Text(required=True).check(item, f"{key}[{i}]", fail)
            if self.regex:
                try:
                    re.compile(item)
                except re.error as e:
                    fail(f"{key}[{i}]", f"not a valid regex ({e})")
        return tuple(items)
