""":HybridAsk edits: the prompt, pulling the code out of a reply, fitting it to the selection.

Pure functions; the engine streams, the editor shows and applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .attachments import Attachment

EDIT_SYSTEM_PROMPT = (
    "You rewrite code inside an editor. Reply with the replacement for the selected text only: "
    "no explanation, no code fences, nothing before or after it. Keep the language, indentation "
    "and style of the surrounding code. The context around the selection is for reference; never repeat it."
)

# Fence languages that count as the buffer's filetype.
LANGUAGE_ALIASES = {
    "python": {"py", "python", "python3"}, "javascript": {"js", "javascript", "jsx", "node"},
    "typescript": {"ts", "typescript", "tsx"}, "typescriptreact": {"tsx", "typescript", "ts"},
    "javascriptreact": {"jsx", "javascript", "js"}, "sh": {"sh", "bash", "shell", "zsh"},
    "bash": {"bash", "sh", "shell"}, "zsh": {"zsh", "sh", "bash", "shell"}, "rust": {"rs", "rust"},
    "go": {"go", "golang"}, "c": {"c", "h"}, "cpp": {"cpp", "c++", "cc", "cxx", "hpp"},
    "cs": {"cs", "csharp", "c#"}, "ruby": {"rb", "ruby"}, "markdown": {"md", "markdown"},
    "yaml": {"yaml", "yml"}, "vim": {"vim", "viml", "vimscript"},
}


@dataclass
class EditRequest:
    instruction: str
    text: str  # the selected text, lines joined with \n
    mode: str = "line"  # char | line | block
    filetype: str = ""
    filename: str = ""
    before: str = ""  # a few lines above, for grounding
    after: str = ""  # a few lines below


def edit_messages(req: EditRequest, attachments: Iterable[Attachment] = ()) -> list[dict]:
    ft = req.filetype or ""
    parts = [f"File: {req.filename or '[No Name]'}" + (f" ({ft})" if ft else ""), f"Instruction: {req.instruction}"]
    if req.before:
        parts.append(f"Context before the selection (do not repeat it):\n```{ft}\n{req.before}\n```")
    parts.append(f"Selected text to rewrite:\n```{ft}\n{req.text}\n```")
    if req.after:
        parts.append(f"Context after the selection (do not repeat it):\n```{ft}\n{req.after}\n```")
    blocks = [a.block() for a in attachments]
    if blocks:
        parts.append("Attached for reference (do not repeat them):\n\n" + "\n\n".join(blocks))
    parts.append("Reply with the rewritten selected text only.")
    return [{"role": "system", "content": EDIT_SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(parts)}]


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$")


def code_blocks(reply: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block; an unclosed last block runs to the end."""
    blocks = []
    lines = reply.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        body = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            body.append(lines[i])
            i += 1
        blocks.append((lang, "\n".join(body)))
        i += 1
    return blocks


def extract_code(reply: str, filetype: str = "") -> str:
    """The code in a reply: the first fenced block that fits, else the reply itself."""
    reply = reply.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [(lang, body) for lang, body in code_blocks(reply) if body.strip()]
    if not blocks:
        return reply.strip("\n")
    if not filetype:
        return blocks[0][1]  # nothing to match a language against: the first block is the answer
    wanted = LANGUAGE_ALIASES.get(filetype, {filetype})
    for lang, body in blocks:
        if not lang or lang in wanted:
            return body
    return blocks[0][1]


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def fit_replacement(code: str, original: str, mode: str) -> list[str]:
    """Lines to put in place of the selection.

    Drops the trailing newline a model adds; for whole-line selections restores the
    indentation when the model dropped it (the common indent of the original).
    """
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    if code.endswith("\n") and not original.endswith("\n"):
        code = code[:-1]
    lines = code.split("\n")
    if mode != "line":
        return lines
    orig_lines = [line for line in original.split("\n") if line.strip()]
    new_lines = [line for line in lines if line.strip()]
    if not orig_lines or not new_lines:
        return lines
    orig_indent = min((_indent_of(line) for line in orig_lines), key=len)
    new_indent = min((_indent_of(line) for line in new_lines), key=len)
    if len(new_indent) >= len(orig_indent) or not orig_indent.startswith(new_indent):
        return lines
    add = orig_indent[len(new_indent):]
    return [add + line if line.strip() else line for line in lines]
