"""`git diff` for the #diff attachment: one file's changes or the repository's, against HEAD
(the working tree and the index), with every file it touches named for the privacy check.
When git is missing, the place is no repository or nothing changed, it says so in a note
instead; the message is still sent. Blocking: call it from a worker thread.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field

TIMEOUT = 10.0
_FILES = re.compile(r"^diff --git a/(.*) b/(.*)$", re.M)


@dataclass
class Diff:
    text: str = ""
    note: str | None = None          # why there is no diff
    paths: list[str] = field(default_factory=list)  # the files it touches (absolute)
    display: str = ""                # what it is a diff of


def _git(args: list[str], where: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}
    return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=where, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT, env=env)


def git_diff(path: str | None, cwd: str) -> Diff:
    """The diff of `path`, or of the repository holding `cwd` when `path` is None."""
    where = os.path.dirname(path) if path else cwd
    shown = os.path.basename(path) if path else "the repository"
    if not os.path.isdir(where):
        return Diff(note=f"{where} is not a folder (nothing attached)", display=shown)
    try:
        top = _git(["rev-parse", "--show-toplevel"], where)
        if top.returncode != 0:
            return Diff(note=f"not a git repository: {where} (nothing attached)", display=shown)
        root = top.stdout.decode("utf-8", "replace").strip()
        only = ["--", path] if path else []
        base = ["diff", "--no-color", "--no-ext-diff"]
        done = _git([*base, "HEAD", *only], root)
        if done.returncode != 0:  # no commit yet: the changes not staged
            done = _git([*base, *only], root)
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return Diff(note=f"git diff failed: {why[-1] if why else done.returncode} (nothing attached)", display=shown)
    except FileNotFoundError:
        return Diff(note="git is not installed or not on PATH (nothing attached)", display=shown)
    except subprocess.TimeoutExpired:
        return Diff(note=f"git diff took over {TIMEOUT:.0f} s (nothing attached)", display=shown)
    text = done.stdout.decode("utf-8", "surrogateescape").rstrip("\n")
    paths = sorted({os.path.join(root, p) for pair in _FILES.findall(text) for p in pair})
    if path and not path.startswith(root):
        path = os.path.realpath(path)
    display = os.path.relpath(path, root) if path else os.path.basename(root)
    return Diff(text=text, note=None if text else "no changes against HEAD", paths=paths, display=display)
