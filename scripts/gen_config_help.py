"""Write the setup.yaml option tables of :help hybrid from the config schema.

The schema (python/hybrid_core/config/schema.py) holds each option's type, default and help text;
this script lays them out in doc/hybrid.txt, between the `*hybrid-config-defaults*` tag line and the
`*hybrid-config-keys*` one (the tags stay, so links keep working). Edit the schema, not that part
of the file, then run `make helpdoc`; tests/test_docs.py fails when the two differ.

    python scripts/gen_config_help.py           rewrite doc/hybrid.txt
    python scripts/gen_config_help.py --check   exit 1 when doc/hybrid.txt is out of date
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc" / "hybrid.txt"
sys.path.insert(0, str(ROOT / "python"))

from hybrid_core.config.schema import BACKEND_TYPES, SECTIONS, Option, default_of, options  # noqa: E402

START, END = "*hybrid-config-defaults*", "*hybrid-config-keys*"
WIDTH, COLUMN, TAG_END = 78, 24, 77  # text width, where descriptions start, where tags end
_SPACE_IN_CODE = "\x00"


def _wrap(text: str) -> list[str]:
    """Lines of at most WIDTH - COLUMN characters; `code` and |links| are never split."""
    parts = text.split("`")
    kept = "`".join(p.replace(" ", _SPACE_IN_CODE) if i % 2 else p for i, p in enumerate(parts))
    lines = textwrap.wrap(kept, WIDTH - COLUMN, break_long_words=False, break_on_hyphens=False)
    return [line.replace(_SPACE_IN_CODE, " ") for line in lines]


def _entry(key: str, paragraphs: list[str]) -> list[str]:
    body = [line for text in paragraphs for line in _wrap(text)]
    if len(key) <= COLUMN - 2:
        return [key.ljust(COLUMN) + body[0]] + [" " * COLUMN + line for line in body[1:]]
    return [key] + [" " * COLUMN + line for line in body]


def _shown_default(opt: Option, default) -> str | None:
    if opt.shown is not None:
        return opt.shown
    if default is None or default in ((), {}, [], ""):
        return None
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    if isinstance(default, float):
        return f"{default:g}"
    return f"`{default}`" if isinstance(default, str) else str(default)


def _summary(section, name: str, opt: Option) -> str:
    """The type and default in a line: `Seconds. Default: 20.`"""
    label = opt.type.label[:1].upper() + opt.type.label[1:]
    if opt.required:
        return f"{label}. Required."
    default = _shown_default(opt, default_of(section, name))
    only = [t for t, kind in BACKEND_TYPES.items() if name in kind.options] if section.__name__ == "BackendConfig" else []
    text = f"{label}. Default: {default}." if default else f"{label}."
    return text + (" Only for " + " or ".join(f"`type: {t}`" for t in only) + "." if only else "")


def tables() -> list[str]:
    """The generated lines: each section's tag, its line, then one entry per option."""
    lines: list[str] = []
    tagged = set()
    for section in SECTIONS:
        top = section.key.split(".")[0]
        if top not in tagged:  # routing.rules[N] sits under routing's tag
            tagged.add(top)
            lines += ([""] if lines else []) + [f"*hybrid-config-{top}*".rjust(TAG_END)]
        lines += _entry(section.key + ("" if "." in section.key else ":"), [section.type.__doc__.strip()])
        for name, opt in options(section.type):
            lines += _entry(f"{section.key}.{name}", [_summary(section.type, name, opt), opt.doc])
    return lines


def render(doc: str) -> str:
    """`doc` with its generated region replaced by the schema's tables."""
    lines = doc.split("\n")
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(START))
    end = next(i for i, line in enumerate(lines) if line.rstrip().endswith(END))
    return "\n".join(lines[:start] + tables() + [""] + lines[end:])


def main(argv: list[str]) -> int:
    doc = DOC.read_text(encoding="utf-8")
    new = render(doc)
    if "--check" in argv:
        if new != doc:
            print(f"{DOC.relative_to(ROOT)}: the setup.yaml tables differ from the schema; run `make helpdoc`")
            return 1
        return 0
    if new != doc:
        DOC.write_text(new, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
