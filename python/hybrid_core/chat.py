"""Conversations: the history that is resent every turn."""

from __future__ import annotations

from dataclasses import dataclass, field

from .privacy import Finding

SYSTEM_PROMPT = (
    "You are a coding assistant inside the Neovim editor. Answer precisely and briefly. "
    "Put code in fenced blocks with a language tag."
)


@dataclass
class Turn:
    user: str
    answer: str = ""
    backend: str = ""
    model: str = ""
    status: str = "pending"  # pending | complete | incomplete | cancelled | error


@dataclass
class Conversation:
    id: str
    turns: list[Turn] = field(default_factory=list)
    sensitive: Finding | None = None  # once set, every later turn stays local
    dropped_told: int = 0  # how many old messages the user was told were left out
    summary: tuple[int, str] | None = None  # (messages summarized, the summary)

    def messages(self) -> list[dict]:
        """System prompt, then every turn; partial answers count as said (the user saw them)."""
        out = [{"role": "system", "content": SYSTEM_PROMPT}]
        for turn in self.turns:
            out.append({"role": "user", "content": turn.user})
            if turn.answer:
                out.append({"role": "assistant", "content": turn.answer})
        return out
