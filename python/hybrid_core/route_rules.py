"""The rules that match a request's words: the seeds' task table (built in; the classifier's
tie-break) and the user's routing.rules, compiled to one regex each. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config.schema import RouteRule

LARGE_CODE_LINES = 150  # "explaining small code" stops here


@dataclass(frozen=True)
class Rule:
    to: str
    reason: str
    regex: re.Pattern
    role: str | None = None
    command: str | None = None          # only for chat or only for ask
    max_code_lines: int | None = None   # "explaining small code"
    source: str = "built-in"


def _words(*items: str) -> str:
    return "|".join(items)


# The seeds' task table (001 "Task-by-Task Guide", "Programmatic Routing"): escalation
# signals are checked first, so "refactor across the codebase" is multi-file, not refactoring.
_BUILTIN = [
    ("cloud", "complex debugging", _words(
        r"race conditions?", r"deadlocks?", r"livelocks?", r"heisenbugs?", r"intermittent(?:ly)?", r"flaky",
        r"sporadic(?:ally)?", r"(?:randomly|sometimes|occasionally) (?:fails?|crash(?:es)?|hangs?|breaks?|returns?)",
        r"hard to reproduce", r"can'?t reproduce", r"cannot reproduce", r"memory (?:leak|corruption)",
        r"segfaults?", r"segmentation fault", r"use.after.free", r"undefined behaviou?r", r"non-?deterministic",
        r"root cause", r"only (?:happens )?in production", r"works locally but", r"corrupt(?:s|ed|ion)?")),
    ("cloud", "multi-file architecture", _words(
        r"architecture", r"re-?architect\w*", r"redesign", r"restructur\w+",
        r"across (?:the|our|all|multiple|several|many) (?:codebase|modules|files|services|packages|repos?|projects?)",
        r"multi-?file", r"(?:multiple|several|many) (?:files|modules|services|packages)",
        r"(?:whole|entire) (?:codebase|project|repo(?:sitory)?|app(?:lication)?)", r"monorepo", r"micro-?services",
        r"module boundar(?:y|ies)", r"migrat\w+ (?:the|our|this) (?:codebase|project|app\w*|system)",
        r"system design")),
    ("cloud", "security review", _words(
        r"security", r"vulnerab\w+", r"exploit\w*", r"cve-\d+", r"(?:sql|command|shell|code|ldap|template|header) injection",
        r"injection attacks?", r"xss", r"csrf", r"ssrf", r"threat model\w*", r"attack surface", r"privilege escalation",
        r"pen(?:etration)? ?test\w*", r"audit (?:this|the|our)", r"is (?:this|it) (?:safe|secure)")),
    ("cloud", "unfamiliar framework", _words(
        r"unfamiliar", r"never used", r"new to", r"not familiar", r"first time (?:using|with|in)",
        r"i'?ve never", r"i don'?t know (?:how|anything about|much about)", r"getting started with")),
    ("cloud", "design trade-offs", _words(
        r"trade-?offs?", r"pros and cons", r"(?:should|would) (?:i|we) (?:use|pick|choose|go with)",
        r"which (?:is|would be|one is) (?:better|faster|best)", r"compare", r"comparison", r"versus", r"vs\.?",
        r"design (?:decision|choice)s?", r"best approach", r"alternatives? to", r"when to use")),
    ("cloud", "tricky tests", _words(
        r"tricky edge cases?", r"property-based", r"fuzz(?:ing|er)?", r"concurrency tests?")),
    ("cloud", "creative writing", _words(
        r"blog post", r"essay", r"short story", r"poem", r"marketing copy", r"press release", r"landing page copy",
        r"cover letter", r"speech", r"announcement")),
    ("cloud", "research", _words(
        r"research", r"literature", r"state of the art", r"survey (?:of|the)", r"deep dive", r"in depth",
        r"thorough(?:ly)? analy\w+"), "research"),
    ("local", "refactoring", _words(
        r"refactor\w*", r"renam\w+", r"extract (?:a |the |this )?(?:function|method|variable|class|constant|helper)",
        r"inline (?:this|the)", r"simplif\w+", r"clean ?up", r"tidy", r"dedup\w*",
        r"make (?:this|it) (?:shorter|cleaner|more readable)",
        r"reorganiz\w+", r"move (?:this|the) (?:function|method|class)")),
    ("local", "boilerplate", _words(
        r"boilerplate", r"scaffold\w*", r"crud", r"stubs?", r"skeleton", r"getters?", r"setters?", r"dataclass(?:es)?",
        r"constructor",
        r"(?:generate|create|write|add) (?:a |an |the )?(?:class|struct|enum|interface|config|endpoint|model|handler)",
        r"template")),
    ("local", "tests", _words(
        r"unit ?tests?", r"(?:write|add|generate|create) (?:a |some |more )?tests?", r"test cases?", r"pytest", r"jest",
        r"tests? for (?:this|the|it)", r"spec for")),
    ("local", "formatting", _words(
        r"format\w*", r"indent\w*", r"sort (?:the )?imports", r"lint\w*", r"pep ?8", r"prettier", r"code style",
        r"trailing whitespace", r"convert (?:this|it|them)?\s*(?:to|into) (?:json|yaml|toml|csv|markdown|a table)",
        r"(?:to|into) (?:json|yaml|toml|csv)", r"snake_case", r"camelcase", r"wrap (?:lines|at)")),
    ("local", "summarizing", _words(
        r"summar\w+", r"tl;?dr", r"recap", r"brief overview", r"the gist", r"commit message", r"changelog")),
    ("local", "explaining small code", _words(
        r"explain\w*", r"what does (?:this|it|that)", r"how does (?:this|it|that) work", r"walk me through",
        r"what is this (?:code|function|doing)"), None, None, LARGE_CODE_LINES),
    ("local", "classification", _words(
        r"classif\w+", r"categori[sz]\w+", r"label (?:these|this|each|them)", r"tag (?:these|each|them)",
        r"sentiment", r"which category", r"is this (?:a|an) (?:bug|feature|question)")),
    ("local", "docs and comments", _words(
        r"docstrings?", r"comments?", r"document (?:this|the)", r"jsdoc", r"type hints?", r"annotat\w+", r"translat\w+",
        r"typos?", r"spelling")),
    ("local", "straightforward fix", _words(
        r"fix (?:this|the|a) (?:typo|error|warning|bug|import|test)", r"off.by.one", r"syntax error", r"missing import",
        r"null check", r"(?:add|handle) (?:the )?(?:error|none|null) (?:case|check|handling)")),
]


def _compile(pattern: str) -> re.Pattern:
    # Whole words, any case: "format" does not fire inside "information".
    # Whole words, not part of a name: "heisenbug" is a word, heisenbug-x is a package.
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w]|-\w)", re.IGNORECASE)


BUILTIN_RULES = tuple(
    Rule(to=item[0], reason=item[1], regex=_compile(item[2]), role=(item[3] if len(item) > 3 else None),
         command=(item[4] if len(item) > 4 else None), max_code_lines=(item[5] if len(item) > 5 else None))
    for item in _BUILTIN
)


def applies(rule: Rule, words: str, command: str, code_lines: int) -> bool:
    if rule.command and rule.command != command:
        return False
    if rule.max_code_lines is not None and code_lines > rule.max_code_lines:
        return False
    return rule.regex.search(words) is not None


def user_rules(items: tuple[RouteRule, ...]) -> list[Rule]:
    """setup.yaml's routing.rules, as the config holds them (`config.routing.rules`)."""
    rules = []
    for i, item in enumerate(items):
        words, regexes = item.words, item.regex  # the validator made one text a list of one
        parts = [re.escape(w).replace(r"\ ", r"\s+") for w in words]
        pattern = "|".join(parts)
        compiled = [_compile(pattern)] if parts else []
        compiled += [re.compile(rx, re.IGNORECASE) for rx in regexes]
        regex = compiled[0] if len(compiled) == 1 else re.compile("|".join(f"(?:{c.pattern})" for c in compiled), re.IGNORECASE)
        label = item.reason or f"routing.rules[{i}]: " + ", ".join(list(words) + list(regexes))[:40]
        rules.append(Rule(to=item.to, reason=label, regex=regex, role=item.role,
                          command=item.command, source=f"routing.rules[{i}]"))
    return rules
