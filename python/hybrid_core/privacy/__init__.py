"""What must never reach a cloud backend (DESIGN.md, "Privacy is a guarantee").

A request is sensitive when a file it carries is a credentials-type file (`files.py`) or its
text holds a secret (`secrets.py`). `PrivacyRules.check` names the rule that matched, so the
user sees why a request stayed local. The secret rules have no word boundaries on purpose: a
key glued to other text is still a key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..tokens import content_text
from .fast import lower as _lower
from .fast import rule_matches
from .files import BUILTIN_PATHS, match_path
from .secrets import RULES, SecretRule

BUILTIN_PATTERNS = RULES  # kept by name: checkhealth counts the user's own patterns beside these

__all__ = ["BUILTIN_PATHS", "BUILTIN_PATTERNS", "Finding", "PrivacyRules", "findings", "scan"]


@dataclass(frozen=True)
class Finding:
    rule: str    # what matched, for the user: "a GitHub token in the text", ".env is local-only (.env*)"
    source: str  # "path" or "text"


# Each rejected candidate costs a Python call; text built of thousands of near-secrets would
# make the scan slow, so past this many it is treated as sensitive (fail closed).
MAX_REJECTED = 3000
TOO_MANY = f"over {MAX_REJECTED:,} credential-like strings (too many to check one by one)"


def _degenerate(token: str) -> bool:
    """ghp_xxxxxxxx…, sk_live_000000…: the shape of a key with nothing in it."""
    return len(token) >= 16 and len(set(token[-16:])) <= 3


# Below this length the plain loop is as fast as the fast path's set-up.
FAST_FROM = 16_384


def plain_matches(text: str, rules: tuple[SecretRule, ...]) -> Iterator[tuple[SecretRule, re.Match]]:
    """Each rule's regex over the whole text (the reference the fast path must agree with)."""
    low = None
    for rule in rules:
        if rule.lower:
            low = _lower(text) if low is None else low
        haystack = low if rule.lower else text
        if not rule.anchors or any(a in haystack for a in rule.anchors):
            yield from ((rule, m) for m in rule.regex.finditer(haystack))


def findings(text: str, rules: tuple[SecretRule, ...] = RULES, fast: bool | None = None) -> Iterator[tuple[str, int]]:
    """Every secret in `text` as (label, offset), rule by rule. `fast` picks how the regexes
    run (by default by the text's length); what they find is the same either way."""
    if not text:
        return
    if fast is None:
        fast = len(text) >= FAST_FROM
    rejected = 0
    for rule, m in (rule_matches if fast else plain_matches)(text, rules):
        if _degenerate(m.group(0)):
            label = None
        else:
            label = rule.check(m, text) if rule.check else rule.label
        if label:
            yield label, m.start()
            continue
        rejected += 1
        if rejected > MAX_REJECTED:
            yield TOO_MANY, m.start()
            return


def scan(text: str, rules: tuple[SecretRule, ...] = RULES) -> str | None:
    """The label of the first secret in `text`, or None."""
    for label, _ in findings(text, rules):
        return label
    return None


class PrivacyRules:
    def __init__(self, paths=(), patterns=()):
        self.paths = BUILTIN_PATHS + tuple(paths)
        # The user's own patterns run as written (privacy.local_only_patterns).
        self.patterns = RULES + tuple(
            SecretRule(f"the pattern {p!r} (privacy.local_only_patterns)", (), re.compile(p)) for p in patterns)

    @classmethod
    def from_config(cls, config) -> PrivacyRules:
        """The built-in rules plus setup.yaml's privacy: section (`config.privacy`)."""
        return cls(config.privacy.local_only_paths, config.privacy.local_only_patterns)

    def check_path(self, path: str | None) -> Finding | None:
        if not path:
            return None
        hit = match_path(path, self.paths)
        return Finding(f"{hit[0]} is local-only ({hit[1]})", "path") if hit else None

    def check_text(self, text: str | None) -> Finding | None:
        label = scan(text, self.patterns) if text else None
        return Finding(f"{label} in the text", "text") if label else None

    def check_attachment(self, name: str, path: str | None, others: Iterable[str], text: str) -> Finding | None:
        """An attachment (#file:…, #diff…): by its file and every other file it carries (symlinks
        resolved), then by its text; the rule names the attachment, as the answer's header shows it."""
        for i, carried in enumerate([path, *others]):
            hit = match_path(carried, self.paths) if carried else None
            if hit:
                own = i == 0 and hit[0].lower() == os.path.basename(carried).lower()
                return Finding(f"{name} is local-only ({hit[1] if own else f'{hit[0]} matches {hit[1]}'})", "path")
        label = scan(text, self.patterns) if text else None
        return Finding(f"{name} is local-only ({label} in it)", "text") if label else None

    def check(self, text: str | None = None, path: str | None = None) -> Finding | None:
        return self.check_path(path) or self.check_text(text)

    def check_messages(self, messages: list[dict]) -> Finding | None:
        for message in messages:
            found = self.check_text(content_text(message.get("content")))
            if found:
                return found
        return None
