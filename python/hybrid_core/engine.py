"""The engine: the face the editor's shim calls, over one asyncio loop thread that owns every
request, conversation and the config.

Callers on other threads (the pynvim shim) use the public methods, which only schedule work
on the loop and return at once (`route` and `stats` wait for the loop, never the network).
Everything for the editor leaves through the editor link, in batches. The work is done by
the services wired here, one job each:

    live_config    the config in effect, re-read on change     editor_link   every event for the editor
    selection      the user's choices; target(role)           inflight      what is streaming (busy)
    dispatch       decide, budget gate, fallback, dry run      sender        one streamed request
    prompt         the window: fitting, summary, truncation    backends/pool clients, servers, warm-up
    chats / asks   a chat turn, saved chats / :HybridAsk       learning      corrections from overrulings
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable

import httpx

from .accounting import Accountant
from .asks import Asks
from .backends import safe_url, transport
from .backends.pool import BackendPool
from .chats import Chats
from .config import Config, default_config_path, display_path
from .corrections import Corrections
from .datadir import problem as data_dir_problem
from .dispatch import Dispatcher
from .editor_link import EditorLink
from .errors import HybridError
from .inflight import InFlight
from .keys import KeyResolver
from .learning import Learning
from .ledger import Ledger
from .live_config import CONFIG_POLL_SECONDS, LiveConfig
from .logs import setup_logging
from .outbox import without_none
from .prompt import Prompt
from .redact import Redactor
from .saved_chats import ChatStore
from .selection import Selection
from .sender import Sender
from .servers import ManagedServer
from .stats_report import stats_report

log = logging.getLogger("hybrid")

FAST_TRANSPORT_AFTER = 1.0  # seconds after the start, and then of quiet, before aiohttp is imported


class Engine:
    def __init__(self, sink: Callable[[list[dict]], None], *, config_path: str | None = None,
                 data_dir: str | None = None, poll_seconds: float = CONFIG_POLL_SECONDS, restore: dict | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.config_path = os.path.abspath(os.path.expanduser(config_path or default_config_path()))
        self.data_dir = data_dir
        self.secrets = Redactor()  # every API key in use; masked in logs, chat files, messages
        self.log_path = setup_logging(data_dir, self.secrets)
        self.loop = asyncio.new_event_loop()
        self.link = EditorLink(self.loop, sink, self.secrets, self.log_path)
        self.ledger = Ledger(os.path.join(data_dir, "usage.sqlite3")) if data_dir else None
        store = ChatStore(os.path.join(data_dir, "chats"), self.secrets) if data_dir else None
        self.corrections = Corrections(os.path.join(data_dir, "corrections.jsonl") if data_dir else None)
        self.accountant = Accountant(self.ledger, self.link.notify)
        keys = KeyResolver(os.path.join(os.path.dirname(self.config_path), "keys.yaml"))
        self.live = LiveConfig(self.config_path, keys.keys_path, self.link, self.corrections,
                               on_change=self._follow_config, on_settled=self._push_state, poll_seconds=poll_seconds)
        # transport: tests may answer every backend request with an httpx.MockTransport.
        self.pool = BackendPool(keys, self.secrets, log_dir=data_dir, on_server_start=self._server_started,
                                transport=transport)
        self.learning = Learning(self.corrections, self.live, self.loop)
        self.selection = Selection(self.live, self.learning, self.pool)
        self.inflight = InFlight(self.selection.settled, self._push_state)
        self.prompt = Prompt(self.live, self.selection, self.pool, self.link)
        self.sender = Sender(self.live, self.pool, self.prompt, self.link, self.accountant)
        self.dispatch = Dispatcher(self.live, self.selection, self.pool, self.prompt, self.sender, self.accountant,
                                   self.link)
        self.chats = Chats(self.live, self.selection, self.dispatch, self.inflight, self.learning, self.link, store,
                           self._push_state)
        self.asks = Asks(self.dispatch, self.inflight, self.link, self._push_state)
        self._restore = restore  # the choices of the host before this one (it crashed); see Selection.restore
        self._thread = threading.Thread(target=self._run_loop, name="hybrid-loop", daemon=True)

    @property
    def config(self) -> Config | None:
        return self.live.config

    @property
    def active(self) -> str | None:
        """The active backend's name, or 'auto'."""
        return self.selection.active

    # -- public, thread-safe ----------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._spawn(self._startup())

    def chat_send(self, chat_id: str, text: str, opts: dict | None = None) -> None:
        self._spawn(self.chats.send(str(chat_id), text, opts or {}))

    def retry(self, chat_id: str, backend: str | None = None) -> None:
        """Redo the chat's last turn, on `backend` when given (privacy still decides)."""
        self._spawn(self.chats.send(str(chat_id), "", {"retry": True, "backend": backend or None}))

    def corrections_reply(self, reply_id: int, forget: bool = False) -> None:
        """Reply with the corrections the router learned from (and forget them when asked)."""
        self._reply(reply_id, self.learning.listing(forget))

    def chat_open(self, reply_id: int, chat_id: str | None = None, exclude: list | None = None) -> None:
        """Reply with a saved chat for the editor to show: `chat_id`, else the newest one not in
        `exclude` (the chats the editor already has); {} if none."""
        self._reply(reply_id, self.chats.open(chat_id or None, set(exclude or ())))

    def chats_list(self, reply_id: int) -> None:
        self._reply(reply_id, self.chats.listing())

    def chat_delete(self, reply_id: int, chat_id: str) -> None:
        self._reply(reply_id, self.chats.delete(str(chat_id)))

    def ask(self, ask_id: str, payload: dict) -> None:
        self._spawn(self.asks.ask(str(ask_id), payload))

    def cancel(self, chat_id: str | None = None) -> None:
        """Cancel one chat's (or `ask:<id>`'s) request, or every request in flight."""
        self.loop.call_soon_threadsafe(self.inflight.cancel, chat_id)

    def set_backend(self, name: str) -> None:
        self._spawn(self._choose(self.selection.use_backend, name))

    def set_model(self, name: str) -> None:
        self._spawn(self._choose(self.selection.use_model, name))

    def set_preset(self, name: str) -> None:
        self._spawn(self._choose(self.selection.use_preset, name))

    def warm(self) -> None:
        """Load the model the chat would use (the chat opened), so its first answer does not wait for it."""
        self._spawn(self._warm())

    def list_models(self, reply_id: int, backend: str | None = None) -> None:
        self._reply(reply_id, self.selection.models(backend))

    def route(self, text: str, opts: dict | None = None, timeout: float = 5.0) -> dict:
        """The dry run: where `text` would go and why. Sends nothing; waits only on the loop."""
        fut = asyncio.run_coroutine_threadsafe(self.dispatch.dry_run(text, opts or {}, self.chats.known), self.loop)
        return fut.result(timeout)

    def route_reply(self, reply_id: int, text: str, opts: dict | None = None) -> None:
        self._reply(reply_id, self.dispatch.dry_run(text, opts or {}, self.chats.known))

    def stats(self, timeout: float = 10.0) -> dict:
        """Usage per period, backend and model (see stats.py); waits on the loop and a disk read."""
        return asyncio.run_coroutine_threadsafe(self._stats(), self.loop).result(timeout)

    def stats_reply(self, reply_id: int) -> None:
        self._reply(reply_id, self._stats())

    def confirm_reply(self, confirm_id: int, yes: bool) -> None:
        self.loop.call_soon_threadsafe(self.link.settle, confirm_id, yes)

    def shutdown(self, timeout: float = 2.0) -> None:
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        try:
            fut.result(timeout)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    # -- loop plumbing ------------------------------------------------------------

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _spawn(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(self._guard(coro), self.loop)

    async def _guard(self, coro) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except HybridError as e:
            self.link.notify("error", str(e))
        except Exception as e:
            log.exception("internal error")
            self.link.notify("error", self.link.internal(e))

    def _reply(self, reply_id: int, coro) -> None:
        """Run `coro` on the loop and answer request `reply_id` with its result or its error."""
        async def answer():
            try:
                self.link.reply(reply_id, await coro)
            except HybridError as e:
                self.link.reply(reply_id, error=str(e))
            except Exception as e:
                log.exception("request %s failed", reply_id)
                self.link.reply(reply_id, error=self.link.internal(e))
        self._spawn(answer())

    # -- wiring -----------------------------------------------------------------------

    async def _startup(self) -> None:
        await self._check_data_dir()
        await asyncio.to_thread(self.corrections.load)
        await self.live.load()
        self.selection.restore(self._restore)
        self.live.mark_ready(self.loop)
        self._push_state()
        self.loop.call_later(FAST_TRANSPORT_AFTER, self._load_fast_transport)

    def _load_fast_transport(self) -> None:
        """aiohttp's HTTP transport, imported off the loop once no request runs: the first answer
        does not wait for the import (backends/transport.py)."""
        if self.inflight.busy:
            self.loop.call_later(FAST_TRANSPORT_AFTER, self._load_fast_transport)
        else:
            self._spawn(asyncio.to_thread(transport.load))

    async def _check_data_dir(self) -> None:
        """A data_dir that is a file or cannot be written is said once; chatting goes on without saving."""
        problem = await asyncio.to_thread(data_dir_problem, self.data_dir)
        if problem is None:
            return
        self.link.notify("warn", problem)
        self.data_dir = self.pool.log_dir = None  # (a managed server then logs nowhere rather than fail to start)
        await self.chats.stop_saving(problem)

    def _follow_config(self, config: Config) -> None:
        """A new config is in effect (LiveConfig built its router): the services follow it."""
        self.accountant.configure(config, self.live.router)
        self.prompt.forget_windows()
        self.selection.follow(config)

    def _server_started(self, cfg, server: ManagedServer) -> None:
        # Short (a longer line raises a hit-enter prompt): checkhealth shows the command and the log's path.
        self.link.notify("info", f"{cfg.name}: started the local server ({os.path.basename(server.log_path)})")
        self._push_state()  # :checkhealth shows the server's pid

    async def _choose(self, apply: Callable[[str], str], name: str) -> None:
        """:HybridBackend / Model / Preset: applied in order, said, shown; then the new model warmed."""
        async with self.selection.in_order():
            self.link.notify("info", apply(name))
            self._push_state()
        await self._warm()

    async def _warm(self) -> None:
        await self.live.current()
        await self.pool.warm(*self.selection.target())  # the chat's backend and model

    async def _stats(self) -> dict:
        return await stats_report(self.live, self.ledger, self.pool, self.accountant)

    # -- state for the editor -----------------------------------------------------------

    def _push_state(self) -> None:
        config = self.live.config
        if config is None:
            return
        sel = self.selection
        backend, model = sel.target()
        self.link.state({
            "backend": backend.name,
            "model": model,
            "mode": "auto" if sel.active == "auto" else "fixed",
            "preset": sel.preset,
            "choice": sel.choice(),
            "presets": [without_none({"name": p.name, "backend": p.backend, "model": p.model, "system": p.system,
                                      "description": p.description}) for p in config.presets.values()],
            "busy": self.inflight.busy,  # chats and :HybridAsk alike
            "last": self.sender.last,
            "config_path": display_path(self.config_path),
            "spend": self.accountant.spend_state(),
            "backends": [
                without_none({"name": b.name, "kind": b.kind, "type": b.type, "model": sel.model_shown(b),
                              "url": safe_url(b.base_url),
                              # for :HybridModel's completion (the server's full list comes with the picker)
                              "models": sorted({b.default_model, sel.model_shown(b), *b.agent_models.values()}),
                              "server_pid": self.pool.server_pid(b.name)})
                for b in config.backends.values()
            ],
        })

    async def _shutdown(self) -> None:
        self.live.stop()
        # Answers cut by the exit are saved as interrupted, not cancelled.
        tasks = self.inflight.close() + list(self.pool.warming)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.pool.aclose_clients()
        await self.loop.shutdown_asyncgens()  # close half-read streams now, not at garbage collection
        await self.pool.stop_servers()
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.close)
        if self.chats.store is not None:
            await asyncio.to_thread(self.chats.store.close)
