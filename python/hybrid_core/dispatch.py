"""Where a request goes, and getting it answered: the router's decision (the router model
asked within its time budget), the budget gate, the notices, the send, and a fallback to the
other side when the first backend fails before its first token. Also the dry run
(:HybridRoute), which decides without sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from .accounting import Accountant
from .attachments import Attachment, resolve, with_attachments
from .availability import Availability
from .backends.pool import BackendPool
from .conversation import SYSTEM_PROMPT, Conversation
from .editor_link import EditorLink
from .edits import EditRequest, edit_messages
from .errors import BackendError, HybridError
from .live_config import LiveConfig
from .outbox import without_none
from .prompt import Prompt
from .retry import patience_for
from .router_model import classify
from .routing import Decision, RouteRequest
from .selection import Selection
from .sender import Sender, Sent

SCAN_OFF_LOOP = 100_000  # attachments with more text than this are checked in a worker thread


def chat_route_request(conv: Conversation, text: str, path: str | None, system_prompt: str | None,
                       attachments: list[Attachment] | tuple = ()) -> RouteRequest:
    """What routing reads of a chat message: the text, its attachments, and the history that is
    resent with it."""
    history = [m["content"] for m in conv.messages()[1:]]
    message = len(with_attachments(text, attachments)) + len(system_prompt or SYSTEM_PROMPT)
    return RouteRequest(text=text, command="chat", path=path, context="\n".join(history),
                        prompt_chars=sum(map(len, history)) + message, sticky=conv.sensitive,
                        attachments=tuple(attachments), message_chars=message)


def ask_route_request(req: EditRequest, path: str | None, attachments: list[Attachment] | tuple = ()) -> RouteRequest:
    """What routing reads of a :HybridAsk: the instruction, the selection and the code around it,
    and the instruction's attachments (which count toward the prompt's size)."""
    chars = sum(len(m["content"]) for m in edit_messages(req, attachments)) if attachments else None
    return RouteRequest(text=req.instruction, command="ask", selection=req.text,
                        context=f"{req.before}\n{req.after}" if req.before or req.after else "", path=path,
                        prompt_chars=chars, attachments=tuple(attachments), message_chars=chars)


class Dispatcher:
    def __init__(self, live: LiveConfig, selection: Selection, pool: BackendPool, prompt: Prompt, sender: Sender,
                 accountant: Accountant, link: EditorLink):
        self.live = live  # LiveConfig: the config and its router
        self.selection = selection
        self.pool = pool
        self.prompt = prompt
        self.sender = sender
        self.accountant = accountant
        self.link = link
        self.availability = Availability()

    # -- deciding ---------------------------------------------------------------------

    async def decide(self, req: RouteRequest, *, dry: bool = False, active: str | None = None,
                     retry_on: str | None = None) -> Decision:
        """The router's decision; the router model is asked (within its time budget) unless dry."""
        router = self.live.router
        role = "editor" if req.command == "ask" else "query"
        active = active or self.selection.active
        if req.attachments:  # their size is weighed against the local windows, so learn those first
            await self._learn_windows(role, active, 1.0 if dry else None)
        context = {"active": active, "models": self.selection.model_override,
                   "over_budget": self.accountant.over_budget(), "windows": self._windows(role)}
        decision = self._fixed_reason(await self._route(req, **context), retry_on)
        if decision.router_model and not dry:
            try:
                local = await self.pool.client(self.live.config.backends[router.local])
            except BackendError:
                return decision
            verdict = await classify(local, decision.router_model, decision.text, router.router_timeout)
            if verdict is not None:
                decision = await self._route(req, verdict=verdict, **context)
        return decision

    async def _route(self, req: RouteRequest, **kw) -> Decision:
        """The router's decision. Scanning a large attachment for secrets takes a while (~0.15 s a
        MB): off the loop then, which streams other answers meanwhile."""
        kw["down"] = self.availability.down()
        if sum(len(a.text) for a in req.attachments) > SCAN_OFF_LOOP:
            return await asyncio.to_thread(self.live.router.decide, req, **kw)
        return self.live.router.decide(req, **kw)

    def _windows(self, role: str) -> dict:
        """The context windows the servers reported so far, by backend (for its model for `role`)."""
        return {name: self.prompt.known_window(name, self.selection.model_of(name, role))
                for name in self.live.config.backends}

    async def _learn_windows(self, role: str, active: str, timeout: float | None) -> None:
        """Ask the local backends that may answer for their model's window (no content is sent)."""
        config = self.live.config
        for name in {self.live.router.local, active if active in config.backends else None} - {None}:
            if config.backends[name].local:
                await self.prompt.learn_window(config.backends[name], self.selection.model_of(name, role), timeout)

    def _fixed_reason(self, d: Decision, retry_on: str | None) -> Decision:
        """A fixed backend's header names who fixed it: `:HybridRetry NAME`, a preset, else the user."""
        preset = self.selection.preset
        if d.step != "fixed" or not (retry_on or preset):
            return d
        return replace(d, reason=f"retry on {retry_on}" if retry_on else f"preset {preset}")

    async def within_budget(self, d: Decision) -> Decision:
        """Past the budget, a request bound for the cloud (fixed mode, @cloud, a detour) asks
        first, or is refused with budget.on_limit: refuse. Auto mode's own choice stays local."""
        if d.backend is None or d.side != "cloud":
            return d
        over = self.accountant.over_budget()
        if not over:
            return d
        if self.accountant.limits()["on_limit"] == "refuse":
            return replace(d, backend=None, refused=f"not sent to {d.backend}: {over} (budget.on_limit: refuse)")
        if await self.link.confirm(f"{over}. Send this to {d.backend} ({d.model}) anyway?"):
            return d
        return replace(d, backend=None, refused=f"not sent to {d.backend}: {over}")

    def announce(self, d: Decision, first_time: bool) -> None:
        if d.refused:
            return  # the chat or the review shows it, and notifies
        if d.notice:
            self.link.notify("warn", d.notice)
        elif d.sensitive and first_time:
            self.link.notify("info", f"{d.sensitive}: kept on {d.backend} (local)")

    # -- sending ------------------------------------------------------------------------

    async def routed(self, stream_id: str, decision: Decision, messages: list[dict], on_text,
                     on_switch: Callable[[Decision], None], conv: Conversation | None = None) -> Sent:
        """Stream from the decided backend; if it fails before its first token, from the other side."""
        availability, router = self.availability, self.live.router
        down = availability.down()
        can_fall_back = decision.fallback is not None and decision.fallback not in down
        patience = patience_for(decision.backend in down, can_fall_back)
        result = await self.sender.send(stream_id, decision, messages, on_text, conv, patience)
        if result.got_text or result.status not in ("error", "incomplete") or not result.backend_failed:
            if result.status == "complete":
                availability.ok(decision.backend)
            return result
        availability.failed(decision.backend, result.message or "", router.cooldown)
        if decision.sensitive:
            result.message = f"{result.message} — not sent to the cloud: {decision.sensitive}"
        other = decision.fallback
        if other is None:
            return result
        left = availability.down().get(other)
        if left is not None:
            result.message = f"{result.message}; {other} failed recently too (tried again in {left:.0f} s)"
            return result
        fallback = router.retarget(decision, other, f"{decision.backend} failed", self.selection.model_override)
        over = self.accountant.over_budget()
        if fallback.side == "cloud" and over:
            result.message = f"{result.message}; not retried on {other}: {over}"
            return result
        on_switch(fallback)  # the new header says why; the status line under it says what failed
        self.link.progress(stream_id, f"{result.message} — answering with {other} ({fallback.side}) instead")
        result = await self.sender.send(stream_id, fallback, messages, on_text, conv)
        if result.status == "complete":
            availability.ok(other)
        elif result.status == "error":
            availability.failed(other, result.message or "", router.cooldown)
        return result

    # -- :HybridRoute ---------------------------------------------------------------------

    async def dry_run(self, text: str, opts: dict, known_chat: Callable[[str], Conversation | None]) -> dict:
        """Where `text` would go and why; sends nothing (the router model is not asked)."""
        config = await self.live.current()
        role = opts.get("role") or "query"
        if role not in ("query", "editor", "research"):
            raise HybridError(f"route(): role must be query, editor or research, got {role!r}")
        conv = known_chat(str(opts.get("chat"))) if opts.get("chat") is not None else None
        attachments = await resolve(opts.get("attachments"), opts.get("cwd"), self.link.from_editor)
        if role == "editor":
            req = ask_route_request(EditRequest(instruction=text, text=""), opts.get("path"), attachments)
        else:
            req = chat_route_request(conv or Conversation("dry-run"), text, opts.get("path"),
                                     self.selection.system_prompt, attachments)
        decision = await self.decide(req, dry=True)
        if role == "research" and decision.backend:
            decision = self.live.router.retarget(decision, decision.backend, None, self.selection.model_override,
                                                 role="research")
        table = decision.as_table()
        table["mode"] = "auto" if self.selection.active == "auto" else "fixed"
        chosen = config.backends.get(decision.backend or "")
        if chosen is not None:
            table["local_why"] = chosen.local_why  # "declared", or how local/cloud was inferred
        table["router_model"] = decision.router_model
        if attachments:
            table["attachments"] = [{k: v for k, v in a.record().items() if k != "text"} for a in attachments]
        return without_none(table)
