"""The chats: one turn at a time per chat (decide, keep a sensitive chat local for good, ask
before spending past the budget, stream, save every record as it comes and an answer's text once
per flush), :HybridRetry, and the saved chats the editor reopens, lists and deletes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict

from .attachments import Attachment, resolve
from .config import display_path
from .conversation import Conversation, Turn
from .dispatch import Dispatcher, chat_route_request
from .editor_link import EditorLink, who_of
from .errors import HybridError
from .inflight import InFlight
from .learning import Learning
from .live_config import LiveConfig
from .outbox import FLUSH_INTERVAL, without_none
from .routing import Decision
from .saved_chats import ChatStore, valid_id
from .selection import Selection

log = logging.getLogger("hybrid")

STILL_STREAMING = "an answer is still streaming in this chat; cancel it with <C-c> or :HybridCancel"


class Chats:
    def __init__(self, live: LiveConfig, selection: Selection, dispatch: Dispatcher, inflight: InFlight, learning: Learning,
                 link: EditorLink, store: ChatStore | None, push_state: Callable[[], None]):
        self.live = live
        self.selection = selection
        self.dispatch = dispatch
        self.inflight = inflight
        self.learning = learning
        self.link = link
        self.store = store  # None: chats are not saved (no data_dir, or an unusable one)
        self.not_saving: str | None = None  # why chats are not saved (data_dir unusable)
        self.push_state = push_state
        self.conversations: dict[str, Conversation] = {}

    def known(self, chat_id: str) -> Conversation | None:
        return self.conversations.get(chat_id)

    async def stop_saving(self, why: str) -> None:
        """data_dir cannot be written: chatting goes on without saving."""
        self.not_saving, store, self.store = why, self.store, None
        if store is not None:
            await asyncio.to_thread(store.close)

    # -- one turn -----------------------------------------------------------------------

    async def send(self, chat_id: str, text: str, opts: dict) -> None:
        text, = self.link.from_editor(text)
        try:
            async with self.inflight.claim(chat_id, STILL_STREAMING):
                await self._turn(chat_id, text, opts)
        except HybridError as e:
            # The editor is waiting for this turn: end it with the reason (shown and notified there).
            self.link.turn_end(chat_id, {"status": "error", "message": str(e)})

    async def _turn(self, chat_id: str, text: str, opts: dict) -> None:
        conv = await self._conversation(chat_id, fresh=bool(opts.get("fresh")))
        config = self.live.config
        active = opts.get("backend") or self.selection.active
        if active != "auto" and active not in config.backends:
            raise HybridError(f"no backend named {active!r}; configured: {', '.join(config.backends)} (or auto)")
        redo = None
        if opts.get("retry"):
            redo = conv.last_turn()
            if redo is None:
                raise HybridError("nothing to retry in this chat yet")
            redo.superseded = True  # the history sent with the new try leaves it out
            text, attachments = redo.user, redo.attachments  # as they were sent
        else:
            attachments = await resolve(opts.get("attachments"), opts.get("cwd"), self.link.from_editor)
        request = chat_route_request(conv, text, opts.get("path"), self.selection.system_prompt, attachments)
        decision = await self.dispatch.decide(request, active=active, retry_on=opts.get("backend"))
        if attachments and not redo:  # their lines under the message: routing said which are local-only
            self.link.attachments(chat_id, [a.record() for a in attachments])
        self.dispatch.announce(decision, conv.sensitive is None)
        if decision.finding and conv.sensitive is None:
            conv.sensitive = decision.finding  # sticky: the history is resent every turn
            self._save(chat_id, {"t": "sensitive", "rule": decision.finding.rule})
        self.learning.routed(decision, active, redo)
        decision = await self.dispatch.within_budget(decision)
        turn = Turn(user=decision.text, backend=decision.backend or "", model=decision.model or "",
                    attachments=attachments)
        conv.turns.append(turn)
        self._save(chat_id, {"t": "user", "text": turn.user, **({"retry": True} if redo else {}),
                             **({"attachments": [a.record() for a in attachments]} if attachments else {})})
        self._turn_start(chat_id, decision)
        if decision.refused:
            turn.status = "refused"
            if redo:
                redo.superseded = False
            self._turn_end(chat_id, {"status": "error", "message": decision.refused}, "refused")
            return
        self.push_state()

        said: list[str] = []
        unsaved: list[str] = []  # text not yet handed to the store: one record per flush, not per token
        loop = asyncio.get_running_loop()

        def save_text():
            if unsaved:
                self._save(chat_id, {"t": "text", "text": "".join(unsaved)})
                unsaved.clear()

        def on_text(text):
            said.append(text)  # joined once at the end: += on a growing answer is quadratic
            unsaved.append(text)
            if len(unsaved) == 1:
                loop.call_later(FLUSH_INTERVAL, save_text)

        def on_switch(d: Decision):
            save_text()
            turn.backend, turn.model = d.backend, d.model
            self._turn_start(chat_id, d)

        messages = conv.messages(self.selection.system_prompt)
        try:
            result = await self.dispatch.routed(chat_id, decision, messages, on_text, on_switch, conv)
        finally:
            save_text()
            turn.answer = "".join(said)
        if result.status == "cancelled" and self.inflight.closing:
            result.status, result.message = "interrupted", "Neovim closed while this answer streamed"
        elif result.status in ("error", "incomplete"):
            result.message = f"{result.message} — :HybridRetry tries again"
        turn.status = result.status
        self._turn_end(chat_id, result.event(), turn.status)
        self.learning.answered(decision, active, redo, turn.backend,
                               ok=turn.status == "complete" and conv.sensitive is None and not decision.sensitive)

    def _turn_start(self, chat_id: str, d: Decision) -> None:
        who = who_of(d)
        self.link.turn_start(chat_id, who)
        self._save(chat_id, {"t": "who", **{k: who[k] for k in ("backend", "model", "kind", "reason") if who[k]}})

    def _turn_end(self, chat_id: str, result: dict, status: str) -> None:
        self._save(chat_id, without_none({"t": "end", "status": status, "message": result.get("message")}))
        self.link.turn_end(chat_id, result)

    def _save(self, chat_id: str, record: dict) -> None:
        if self.store is not None:
            self.store.append(chat_id, record)

    async def _conversation(self, chat_id: str, fresh: bool = False) -> Conversation:
        """The chat's history: in memory, else from its file (after a host restart), else new.
        `fresh`: the editor's chat holds no earlier turn, so there is no file to read (a thread hop
        and a disk read off the first answer's time to first token)."""
        conv = self.conversations.get(chat_id)
        if conv is None:
            can_load = self.store and valid_id(chat_id) and not fresh
            saved = await asyncio.to_thread(self.store.load, chat_id) if can_load else None
            conv = self.conversations.setdefault(chat_id, Conversation.from_saved(saved) if saved else Conversation(chat_id))
        return conv

    # -- saved chats --------------------------------------------------------------------

    def _need_store(self) -> ChatStore:
        if self.store is None:
            raise HybridError(self.not_saving or "chats are not saved: no data_dir")
        return self.store

    async def open(self, chat_id: str | None, exclude: set) -> dict:
        """A saved chat for the editor to show: `chat_id`, else the newest one not in `exclude`; {} if none."""
        await self.live.ready()
        if self.store is None and chat_id is None:
            return {}  # nothing saved to reopen (data_dir unusable was said once)
        store = self._need_store()
        if chat_id is None:
            chat_id = await asyncio.to_thread(store.latest, exclude)
            if chat_id is None:
                return {}
        await asyncio.to_thread(store.flush)
        saved = await asyncio.to_thread(store.load, chat_id)
        if saved is None:
            raise HybridError(f"no saved chat {chat_id!r} in {display_path(store.directory)}")
        if chat_id not in self.conversations:
            self.conversations[chat_id] = Conversation.from_saved(saved)
        if saved.torn:
            log.warning("chat %s: skipped a line cut short by a crash", chat_id)
        turns = [asdict(t) for t in saved.turns]
        for turn in turns:  # as the editor shows them (a hand-edited field of the wrong type dropped)
            turn["attachments"] = [a.record() for a in map(Attachment.from_record, turn["attachments"]) if a]
        return without_none({"id": chat_id, "turns": turns, "sensitive": saved.sensitive})

    async def listing(self) -> list[dict]:
        return await asyncio.to_thread(self._need_store().list)

    async def delete(self, chat_id: str) -> bool:
        if chat_id in self.inflight:
            raise HybridError("that chat is still answering; cancel it first")
        self.conversations.pop(chat_id, None)
        return await asyncio.to_thread(self._need_store().delete, chat_id)
