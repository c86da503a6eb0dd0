""":HybridAsk: rewrite a selection by an instruction (the editor role). The request is decided
and streamed like a chat turn, under the stream id `ask:<id>`; the end carries the
replacement lines, fit to the selection, or why there are none (a rewrite cut at the output
limit would break the code, so it counts as incomplete).
"""

from __future__ import annotations

from collections.abc import Callable

from .attachments import resolve
from .dispatch import Dispatcher, ask_route_request
from .editor_link import EditorLink, ask_stream, who_of
from .edits import EditRequest, edit_messages, extract_code, fit_replacement
from .inflight import InFlight
from .routing import Decision

EDIT_FIELDS = ("instruction", "text", "mode", "filetype", "filename", "before", "after")


class Asks:
    def __init__(self, dispatch: Dispatcher, inflight: InFlight, link: EditorLink, push_state: Callable[[], None]):
        self.dispatch = dispatch
        self.inflight = inflight
        self.link = link
        self.push_state = push_state

    async def ask(self, ask_id: str, payload: dict) -> None:
        stream_id = ask_stream(ask_id)
        keys = [k for k, v in payload.items() if isinstance(v, str) and k != "cwd"]
        payload = {**payload, **dict(zip(keys, self.link.from_editor(*(payload[k] for k in keys)), strict=True))}
        async with self.inflight.claim(stream_id, "that edit is already streaming"):
            req = EditRequest(**{k: payload.get(k) or "" for k in EDIT_FIELDS})
            attachments = await resolve(payload.get("attachments"), payload.get("cwd"), self.link.from_editor)
            decision = await self.dispatch.decide(ask_route_request(req, payload.get("path") or req.filename,
                                                                    attachments))
            self.dispatch.announce(decision, True)
            decision = await self.dispatch.within_budget(decision)
            self.link.ask_start(ask_id, who_of(decision))
            if decision.refused:
                self.link.ask_end(ask_id, {"status": "error", "message": decision.refused})
                return
            req.instruction = decision.text
            self.push_state()
            reply = []

            def on_switch(d: Decision):
                self.link.ask_start(ask_id, who_of(d))

            messages = edit_messages(req, attachments)
            result = await self.dispatch.routed(stream_id, decision, messages, reply.append, on_switch)
            if result.status == "complete" and result.finish_reason == "length":
                result.status = "incomplete"  # a cut-off rewrite would break the code
            end = result.event()
            if result.status == "complete":
                code = extract_code("".join(reply), req.filetype)
                end["lines"] = fit_replacement(code, req.text, req.mode)
            self.link.ask_end(ask_id, end)
