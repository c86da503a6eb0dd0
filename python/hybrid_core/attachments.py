"""Attachments: what a message points at with #buffer, #file:PATH, #selection, #diagnostics,
#diff, #quickfix. The editor collects what lives in it (buffers, the selection, diagnostics,
the quickfix list) as the message is sent; files and git diffs are read here, off the loop.
Each attachment goes to the model as one delimited block naming its path and filetype, is
checked for privacy by every path it carries and by its text (routing.py), and counts toward
the prompt's size. Nothing is ever cut: one that cannot be read keeps the message from going.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .git_diff import git_diff
from .tokens import estimate_tokens

KINDS = ("buffer", "file", "selection", "diagnostics", "diff", "quickfix")
MAX_BYTES = 2 * 1024 * 1024  # past this an attachment is refused (no model window holds it anyway)
_FENCE_LANG = {"diff": "diff"}
_BACKTICKS = re.compile(r"`{3,}")


@dataclass
class Attachment:
    name: str                      # as the user wrote it: "#file:src/app.py", "#diff:repo"
    kind: str                      # one of KINDS
    path: str | None = None        # the file it comes from (absolute), for privacy and applying code
    display: str = ""              # that path as shown (relative to the working directory, or ~)
    filetype: str = ""
    text: str = ""                 # the content, as sent
    paths: tuple[str, ...] = ()    # other files it carries (quickfix entries, a repository diff's files)
    first: int | None = None       # its first line in the file, for a range (#selection)
    note: str | None = None        # why there is nothing to attach ("no changes"); sent as is
    error: str | None = None       # it could not be read: the message is not sent
    local_only: str | None = field(default=None, compare=False)  # the privacy rule it matched (routing.py)

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1 if self.text else 0

    @property
    def tokens(self) -> int:
        return estimate_tokens(len(self.block()))

    def block(self) -> str:
        """The attachment as the model reads it: a tagged block with its path and filetype, the
        content in a fence longer than any inside it."""
        attrs = [("name", self.name), ("path", self.display), ("filetype", self.filetype)]
        if self.first and self.text:
            attrs.append(("lines", f"{self.first}-{self.first + self.lines - 1}"))
        head = "<attachment " + " ".join(f'{k}="{v.replace(chr(34), chr(39))}"' for k, v in attrs if v) + ">"
        if not self.text:
            return f"{head}\n({self.note or 'empty'})\n</attachment>"
        longest = max((len(m) for m in _BACKTICKS.findall(self.text)), default=0)
        fence = "`" * max(3, longest + 1)
        lang = _FENCE_LANG.get(self.kind, self.filetype if self.kind in ("buffer", "file", "selection") else "")
        return f"{head}\n{fence}{lang}\n{self.text}\n{fence}\n</attachment>"

    def record(self) -> dict:
        """For the editor's attachment line and preview, and for the saved chat."""
        rec = {"name": self.name, "kind": self.kind, "path": self.path, "display": self.display,
               "filetype": self.filetype, "text": self.text, "first": self.first, "note": self.note,
               "error": self.error, "local_only": self.local_only, "lines": self.lines, "tokens": self.tokens}
        if self.paths:
            rec["paths"] = list(self.paths)
        return {k: v for k, v in rec.items() if v not in (None, "")}

    @classmethod
    def from_record(cls, rec: dict) -> Attachment | None:
        """From the editor or a saved chat: fields of the wrong type are dropped; None without a name."""
        def text(key):
            value = rec.get(key)
            return value if isinstance(value, str) else None

        name, kind = text("name"), text("kind")
        if not name or kind not in KINDS:
            return None
        paths = rec.get("paths")
        first = rec.get("first")
        return cls(name=name, kind=kind, path=text("path") or None, display=text("display") or "",
                   filetype=text("filetype") or "", text=text("text") or "",
                   paths=tuple(p for p in paths if isinstance(p, str)) if isinstance(paths, list) else (),
                   first=first if isinstance(first, int) and not isinstance(first, bool) and first > 0 else None,
                   note=text("note"), error=text("error"), local_only=text("local_only"))


def with_attachments(text: str, attachments: Iterable[Attachment]) -> str:
    """A user message as sent: what was typed, then each attachment's block."""
    return "".join([text, *("\n\n" + a.block() for a in attachments)])


def biggest(attachments: Iterable[Attachment]) -> Attachment | None:
    return max(attachments, key=lambda a: len(a.text), default=None)


# -- reading (the editor sends what it holds; files and diffs are read here) ---------------------

async def resolve(items, cwd: str | None, repair: Callable[..., list]) -> list[Attachment]:
    """The editor's attachment items, read: files from disk and diffs from git, in a worker
    thread; text the editor collected made fit to send (`repair`, the link's from_editor)."""
    out = []
    for item in items if isinstance(items, list) else []:
        att = Attachment.from_record(item) if isinstance(item, dict) else None
        if att is None:
            continue
        att.local_only = None  # decided here, never taken from the editor
        if not att.error:
            if att.kind == "file":
                await asyncio.to_thread(_read_file, att, cwd)
            elif att.kind == "diff":
                await asyncio.to_thread(_read_diff, att, cwd, item.get("repo") is True)
            elif len(att.text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
                att.error = _too_big(att.name, len(att.text.encode("utf-8", "surrogatepass")))
                att.text = ""
        att.text, = repair(att.text)
        out.append(att)
    return out


def _too_big(name: str, size: int) -> str:
    return (f"{name} is {size / 1e6:.1f} MB; an attachment may have up to {MAX_BYTES // (1024 * 1024)} MB "
            "(attach a #selection of it)")


def _absolute(path: str, cwd: str | None) -> str:
    path = os.path.expanduser(path)
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd or os.getcwd(), path))


def _read_file(att: Attachment, cwd: str | None) -> None:
    """#file:PATH: the file as saved on disk, whole, or an error that names it."""
    typed = att.path or att.name.partition(":")[2]
    path = att.path = _absolute(typed, cwd)
    att.display = att.display or typed
    try:
        size = os.stat(path).st_size
        if os.path.isdir(path):
            att.error = f"{att.name} is a directory; attach files one by one"
            return
        if size > MAX_BYTES:
            att.error = _too_big(att.name, size)
            return
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        att.error = f"{att.name}: no such file ({path})"
        return
    except OSError as e:
        att.error = f"{att.name}: cannot read {path}: {e.strerror or e}"
        return
    if b"\0" in data[:8192]:
        att.error = f"{att.name} is a binary file; only text can be attached"
        return
    att.text = data.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    if att.text.endswith("\n"):
        att.text = att.text[:-1]


def _read_diff(att: Attachment, cwd: str | None, repo: bool) -> None:
    """#diff (the file the chat was opened from) or #diff:repo: git's diff against HEAD."""
    found = git_diff(None if repo else att.path, cwd or os.getcwd())
    att.text, att.note, att.paths = found.text, found.note, tuple(found.paths)
    att.display = att.display or found.display
