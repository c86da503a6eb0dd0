"""Is this string a real secret, or a placeholder, a variable or a word? (pure functions)

The rules in `secrets.py` find candidates cheaply; these checks decide on each one. They err
toward "secret": a placeholder we fail to recognise only keeps a request local.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Values people write in examples and templates instead of a real secret.
PLACEHOLDER_WORDS = (
    "xxxx", "****", "....", "…", "${", "{{", "}}", "%(", "%s", "$(", "your", "example", "changeme", "change_me",
    "change-me", "placeholder", "dummy", "redacted", "replace", "insert", "todo", "fixme", "here", "foobar",
    "sample", "fake", "mock", "lorem", "qwerty", "process.env", "os.environ", "getenv", "environ", "env(",
    "settings.", "config.",
)
# Whole values that are never a secret.
NOT_SECRETS = frozenset((
    "none", "null", "nil", "true", "false", "undefined", "str", "string", "bytes", "int", "bool", "optional", "any",
    "required", "default", "empty", "hidden", "masked", "prompt", "input", "stdin", "env", "auto", "off", "on", "yes",
    "no", "test", "tests", "testing", "admin", "root", "user", "guest", "postgres", "mysql", "pass", "pwd", "bearer",
    "basic", "token", "secret", "password", "self", "this", "value", "dict", "list", "object", "function",
))
# Dev-default passwords in connection URLs (postgres://postgres:postgres@localhost).
DEV_DEFAULTS = frozenset(("postgres", "root", "admin", "guest", "test", "user", "pass", "password", "secret",
                          "changeme", "example", "dummy", "foo", "bar", "mysecretpassword", "pwd", "passwd", "redis",
                          "mysql", "mongo", "rabbitmq", "username", "demo", "sample", "default", "1234", "123456", "secret123",
                          "password123"))

# One search for them all: checks run this on thousands of candidates (an `in` per word costs 5x).
_PLACEHOLDER = re.compile("|".join(map(re.escape, PLACEHOLDER_WORDS)))
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOTTED = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+(?:\(.*)?\Z")
_HEX = re.compile(r"[0-9a-fA-F]+\Z")
_UPPER, _LOWER, _DIGIT, _OTHER = map(re.compile, ("[A-Z]", "[a-z]", "[0-9]", "[^A-Za-z0-9]"))
_BRACKET = re.compile(r"[()\[\]{}]")


# A text can hold thousands of candidates, each checked here (up to MAX_REJECTED of them), so
# these take one regex search where a loop over the characters said the same: on ASCII text,
# which is all any rule matches, isupper() is [A-Z], isdigit() is [0-9], isalnum() [A-Za-z0-9].
def has_upper(value: str) -> bool:
    return bool(_UPPER.search(value)) if value.isascii() else any(c.isupper() for c in value)


def has_lower(value: str) -> bool:
    return bool(_LOWER.search(value)) if value.isascii() else any(c.islower() for c in value)


def has_digit(value: str) -> bool:
    return bool(_DIGIT.search(value)) if value.isascii() else any(c.isdigit() for c in value)


def has_other(value: str) -> bool:
    """Anything but a letter or a digit."""
    return bool(_OTHER.search(value)) if value.isascii() else any(not c.isalnum() for c in value)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)  # in first-seen order, as the loop it replaces: the same sum
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def classes(value: str) -> int:
    """How many of lower, upper, digit, other the value mixes."""
    return has_lower(value) + has_upper(value) + has_digit(value) + has_other(value)


def is_placeholder(value: str) -> bool:
    low = value.lower().strip("\"'`")
    if len(low) < 4 or low in NOT_SECRETS:
        return True
    if _PLACEHOLDER.search(low):
        return True
    if low.startswith(("$", "%", "@", "&", "*", "<")) or low.endswith((">", "(", "()")):
        return True  # $VAR, %VAR%, @variable, <your-key>, a call
    if len(set(low)) <= 2:
        return True  # aaaaaaaa, ********, 00000000
    return False


# %s and %( inside a value say nothing when the value is certainly literal (%Sh0p!2023).
_STAND_IN = re.compile("|".join(re.escape(word) for word in PLACEHOLDER_WORDS if word not in ("%s", "%(")))
# Whole values that are template syntax for one filled in later: ${VAR}, $(cmd), $VAR, %VAR%, %s,
# %(name)s, {{ x }}, <password>, #{Var}#, __VAR__ (Azure DevOps), ****, xxxx.
_TEMPLATE = re.compile(r"\$\{.*\}|\$\(.*\)|\$[A-Za-z_]\w*|%[A-Za-z_]\w*%|%[sdv]|%\(\w+\)s|\{\{.*\}\}|<[^<>]*>|#\{.*\}#?|"
                       r"__[A-Za-z_]\w*__|[*xX]+", re.S)


def stands_in(value: str) -> bool:
    """A literal password that only stands in for one: empty, a dev default, a placeholder word,
    template syntax. Unlike `is_placeholder`, the first character says nothing (in a connection
    string or a DSN the value is certainly literal: !q2Y#x9, %Sh0p!2023 and $ecr3t are passwords)."""
    low = value.lower().strip("\"'`")
    if not low or low in NOT_SECRETS or low in DEV_DEFAULTS or len(set(low)) <= 2:
        return True
    return bool(_TEMPLATE.fullmatch(value) or _STAND_IN.search(low))


def looks_random(value: str, min_len: int = 16) -> bool:
    """A machine-made token: long enough, mixed, and not a word or a name."""
    if len(value) < min_len or is_placeholder(value):
        return False
    if _HEX.match(value):
        return len(value) >= 24 and has_digit(value) and not value.isdigit()  # hex: a letter in it
    if classes(value) < 2 or not has_digit(value) and classes(value) < 3:
        return False
    return entropy(value) >= 3.0


def is_expression(value: str) -> bool:
    """Code that computes a value rather than a literal: a name, self.x, f(x), a[0]."""
    if _BRACKET.search(value):
        return True
    if _DOTTED.match(value) and max(map(len, value.split("."))) < 24:
        return True  # self.password, config.token, jinja2.pass_context (a JWT's parts are longer)
    if not _IDENTIFIER.match(value):
        return False
    # a bare name: user_password, keep_old_secret_for_24_hours (snake_case words), but not a key
    return not has_digit(value) or "_" in value and value.lower() == value


def human_password(value: str, lenient: bool = False) -> bool:
    """A password someone chose: not a placeholder, and a digit or symbol in it (letters alone
    are a name or a word in code; `lenient` takes them where a literal is certain: KEY=value)."""
    if len(value) < 6 or is_placeholder(value):
        return False
    if value.isalpha():
        return lenient and len(value) >= 8
    return classes(value) >= 2


def is_hex(value: str) -> bool:
    return bool(_HEX.match(value))
