"""Conversations: the history that is resent every turn."""

from __future__ import annotations

from dataclasses import dataclass, field

from .attachments import Attachment, with_attachments
from .privacy import Finding
from .saved_chats import SavedChat

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
    status: str = "pending"  # pending | complete | incomplete | cancelled | error | interrupted | refused
    superseded: bool = False  # redone with :HybridRetry: shown, no longer sent
    attachments: list[Attachment] = field(default_factory=list)  # read as the message was sent

    @property
    def content(self) -> str:
        """The user's message as sent: the text, then its attachments' blocks."""
        return with_attachments(self.user, self.attachments)

    @property
    def sent(self) -> bool:
        return not self.superseded and self.status != "refused"


@dataclass
class Conversation:
    id: str
    turns: list[Turn] = field(default_factory=list)
    sensitive: Finding | None = None  # once set, every later turn stays local
    dropped_told: int = 0  # how many old messages the user was told were left out
    summary: tuple[int, str] | None = None  # (messages summarized, the summary)

    def messages(self, system: str | None = None) -> list[dict]:
        """System prompt (a preset's, else ours), then every turn; partial answers count as
        said (the user saw them)."""
        out = [{"role": "system", "content": system or SYSTEM_PROMPT}]
        for turn in self.turns:
            if not turn.sent:
                continue
            out.append({"role": "user", "content": turn.content})
            if turn.answer:
                out.append({"role": "assistant", "content": turn.answer})
        return out

    def last_turn(self) -> Turn | None:
        """The turn :HybridRetry redoes: the newest one that was sent."""
        sent = [t for t in self.turns if t.sent]
        return sent[-1] if sent and sent[-1] is self.turns[-1] else None

    @classmethod
    def from_saved(cls, saved: SavedChat) -> Conversation:
        conv = cls(saved.id)
        for item in saved.turns:
            if item.retry and conv.turns:
                conv.turns[-1].superseded = True
            attachments = [a for a in map(Attachment.from_record, item.attachments) if a is not None]
            conv.turns.append(Turn(item.user, item.answer, item.who.get("backend", ""), item.who.get("model", ""),
                                   item.status, attachments=attachments))
        if saved.sensitive:
            conv.sensitive = Finding(saved.sensitive, "text")
        return conv
