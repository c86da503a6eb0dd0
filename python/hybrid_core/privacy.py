"""What must never reach a cloud backend: local-only paths and secret patterns.

A request is sensitive when its buffer path matches a local-only glob or its text matches a
secret pattern (DESIGN.md, "Privacy is a guarantee"). `PrivacyRules.check` names the rule
that matched, so the user sees why a request stayed local. The secret patterns have no word
boundaries on purpose: a key glued to other text is still a key.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass

from .tokens import content_text

BUILTIN_PATHS = (".env*", "*.pem", "*.key", "id_rsa*", "*secret*")

# (label, regex, anchors): a pattern runs only when one of its literal anchors is in the text;
# `in` is a plain substring search, far cheaper than a regex that starts with an alternation.
BUILTIN_PATTERNS = (
    ("a private key block", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY", ("PRIVATE KEY",)),
    ("an AWS access key", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}", ("AKIA", "ASIA", "ABIA", "ACCA")),
    ("an AWS secret key", r"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}",
     ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY")),
    ("a GitHub token", r"gh[pousr]_[A-Za-z0-9]{36}", ("gh",)),
    ("a GitHub token", r"github_pat_[A-Za-z0-9_]{22,}", ("github_pat_",)),
    ("a GitLab token", r"gl(?:pat|dt|rt|ptt|soat|ft|cbt)-[A-Za-z0-9_-]{20}", ("gl",)),
    ("a Slack token", r"xox[abposre]-[A-Za-z0-9-]{10,}", ("xox",)),
    ("a Slack webhook", r"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}", ("hooks.slack.com/",)),
    ("an Anthropic key", r"sk-ant-[A-Za-z0-9_-]{20,}", ("sk-ant-",)),
    # OpenAI keys are long runs with upper case in them; kebab-case words ("task-list-...") are not.
    ("an OpenAI key", r"sk-(?!ant-)(?=[A-Za-z0-9_-]{0,300}?[A-Z])[A-Za-z0-9_-]{20,}", ("sk-",)),
)


@dataclass(frozen=True)
class Finding:
    rule: str    # what matched, for the user: "a GitHub token", ".env is local-only"
    source: str  # "path" or "text"


class PrivacyRules:
    def __init__(self, paths=(), patterns=()):
        self.paths = BUILTIN_PATHS + tuple(paths)
        labelled = list(BUILTIN_PATTERNS) + [(f"the pattern {p!r} (privacy.local_only_patterns)", p, ()) for p in patterns]
        # One search per pattern: each keeps its literal prefix fast path, which one big
        # alternation would lose (about 10x slower on a 1 MB buffer).
        self.patterns = [(label, re.compile(rx), anchors) for label, rx, anchors in labelled]

    @classmethod
    def from_config(cls, raw: dict) -> PrivacyRules:
        privacy = raw.get("privacy") if isinstance(raw.get("privacy"), dict) else {}
        return cls(privacy.get("local_only_paths") or (), privacy.get("local_only_patterns") or ())

    def check_path(self, path: str | None) -> Finding | None:
        if not path:
            return None
        name = os.path.basename(path)
        for glob in self.paths:
            if "/" in glob:
                hit = fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path, "*/" + glob.lstrip("/"))
            else:
                hit = fnmatch.fnmatchcase(name, glob)
            if hit:
                return Finding(f"{name} is local-only ({glob})", "path")
        return None

    def check_text(self, text: str | None) -> Finding | None:
        if not text:
            return None
        for label, regex, anchors in self.patterns:
            if anchors and not any(a in text for a in anchors):
                continue
            if regex.search(text):
                return Finding(f"{label} in the text", "text")
        return None

    def check(self, text: str | None = None, path: str | None = None) -> Finding | None:
        return self.check_path(path) or self.check_text(text)

    def check_messages(self, messages: list[dict]) -> Finding | None:
        for message in messages:
            found = self.check_text(content_text(message.get("content")))
            if found:
                return found
        return None
