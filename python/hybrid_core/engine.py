"""The engine: one asyncio loop thread that owns every request, conversation and config.

Callers on other threads (the pynvim shim) use the public methods, which only schedule
work on the loop and return at once. Everything for the editor leaves through `sink`,
in batches (see Outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace

from .accounting import Accountant, Outcome
from .availability import Availability
from .backends import Backend, ChatRequest, Delta, Finish, Usage, answer_text, make_backend, safe_url
from .caching import mark_cache
from .chat import SYSTEM_PROMPT, Conversation, Turn
from .config import Config, builtin_config, default_config_path, display_path, load_config
from .context import fit, ollama_num_ctx
from .corrections import Corrections, LastAnswer
from .datadir import problem as data_dir_problem
from .edits import EditRequest, edit_messages, extract_code, fit_replacement
from .errors import BackendError, ConfigError, HybridError
from .keys import KeyResolver, keys_file_readable_by_others
from .ledger import Ledger
from .logs import setup_logging
from .outbox import Outbox, without_none
from .pricing import DEFAULT_PRICES_DATE, rates_for
from .redact import Redactor
from .retry import RetryPolicy, patience_for, policy_from
from .router_model import classify
from .routing import Decision, Router, RouteRequest
from .servers import ManagedServer, command_for, warms_up
from .sessions import ChatStore, valid_id
from .stats import usage_stats
from .streams import repaired
from .tokens import content_text, messages_tokens

log = logging.getLogger("hybrid")

CONFIG_POLL_SECONDS = 1.0
WARM_EVERY = 60.0  # seconds before the same model is warmed again
LOADED_TIMEOUT = 2.0  # seconds :HybridStats waits for a server's /api/ps
SUMMARY_PROMPT = ("Summarize this conversation in at most five sentences for the assistant that continues it. "
                  "Keep names, decisions, file names and code identifiers.")


class Engine:
    def __init__(self, sink: Callable[[list[dict]], None], *, config_path: str | None = None,
                 data_dir: str | None = None, poll_seconds: float = CONFIG_POLL_SECONDS, restore: dict | None = None):
        self.config_path = os.path.abspath(os.path.expanduser(config_path or default_config_path()))
        self.secrets = Redactor()  # every API key in use; masked in logs, chat files, messages
        self.log_path = setup_logging(data_dir, self.secrets)
        self.loop = asyncio.new_event_loop()
        self.outbox = Outbox(self.loop, sink)
        self.poll_seconds = poll_seconds
        self.config: Config | None = None
        self.keys = KeyResolver(os.path.join(os.path.dirname(self.config_path), "keys.yaml"))
        self.active: str | None = None  # backend name, or 'auto'
        self.user_chose_backend = False
        self.preset: str | None = None  # the preset in effect, until the backend or model is changed
        self.system_prompt: str | None = None  # the preset's; None: chat.SYSTEM_PROMPT
        self.model_override: dict[str, str] = {}
        self._restore = restore  # the choices of the host before this one (it crashed); see _restore_choice
        self.chats: dict[str, Conversation] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.clients: dict[str, tuple[str | None, Backend]] = {}
        self.servers: dict[str, ManagedServer] = {}  # local servers this host started (backend command/autostart)
        self.data_dir = data_dir
        self.last: dict | None = None
        self.router: Router | None = None
        self.retry_policy = RetryPolicy()  # setup.yaml's retry:, set with the config
        self.availability = Availability()
        self.ledger = Ledger(os.path.join(data_dir, "usage.sqlite3")) if data_dir else None
        self.store = ChatStore(os.path.join(data_dir, "chats"), self.secrets) if data_dir else None
        self.corrections = Corrections(os.path.join(data_dir, "corrections.jsonl") if data_dir else None)
        self.last_answer = LastAnswer()
        self._choosing = asyncio.Lock()
        self._closing = False
        self.accountant = Accountant(self.ledger, self._notify)
        self.windows: dict[tuple[str, str], int | None] = {}  # context windows servers reported
        self._warmed: dict[tuple[str, str], float] = {}  # (backend, model): when it was last warmed
        self._warming: set[asyncio.Task] = set()
        self._confirms: dict[int, asyncio.Future] = {}
        self._confirm_ids = itertools.count(1)
        self._ready = asyncio.Event()
        self._stamp: tuple | None = None
        self._watcher: asyncio.Task | None = None
        self._shown_config_error: str | None = None
        self._warned_open_keys = False  # keys.yaml was reported as readable by others
        self._not_saving: str | None = None  # why chats are not saved (data_dir unusable)
        self._thread = threading.Thread(target=self._run_loop, name="hybrid-loop", daemon=True)

    # -- public, thread-safe ----------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._spawn(self._startup())

    def chat_send(self, chat_id: str, text: str, opts: dict | None = None) -> None:
        self._spawn(self._chat(str(chat_id), text, opts or {}))

    def retry(self, chat_id: str, backend: str | None = None) -> None:
        """Redo the chat's last turn, on `backend` when given (privacy still decides)."""
        self._spawn(self._chat(str(chat_id), "", {"retry": True, "backend": backend or None}))

    def corrections_reply(self, reply_id: int, forget: bool = False) -> None:
        """Reply with the corrections the router learned from (and forget them when asked)."""
        self._reply(reply_id, self._corrections(forget))

    def chat_open(self, reply_id: int, chat_id: str | None = None, exclude: list | None = None) -> None:
        """Reply with a saved chat for the editor to show: `chat_id`, else the newest one not in
        `exclude` (the chats the editor already has); {} if none."""
        self._reply(reply_id, self._open_chat(chat_id or None, set(exclude or ())))

    def chats_list(self, reply_id: int) -> None:
        self._reply(reply_id, self._list_chats())

    def chat_delete(self, reply_id: int, chat_id: str) -> None:
        self._reply(reply_id, self._delete_chat(str(chat_id)))

    def ask(self, ask_id: str, payload: dict) -> None:
        self._spawn(self._ask(str(ask_id), payload))

    def cancel(self, chat_id: str | None = None) -> None:
        self.loop.call_soon_threadsafe(self._cancel, chat_id)

    def set_backend(self, name: str) -> None:
        self._spawn(self._set_backend(name))

    def set_model(self, name: str) -> None:
        self._spawn(self._set_model(name))

    def set_preset(self, name: str) -> None:
        self._spawn(self._set_preset(name))

    def warm(self) -> None:
        """Load the model the chat would use (the chat opened), so its first answer does not wait for it."""
        self._spawn(self._warm())

    def list_models(self, reply_id: int, backend: str | None = None) -> None:
        self._reply(reply_id, self._list_models(backend))

    def route(self, text: str, opts: dict | None = None, timeout: float = 5.0) -> dict:
        """The dry run: where `text` would go and why. Sends nothing; waits only on the loop."""
        fut = asyncio.run_coroutine_threadsafe(self._dry_run(text, opts or {}), self.loop)
        return fut.result(timeout)

    def route_reply(self, reply_id: int, text: str, opts: dict | None = None) -> None:
        self._reply(reply_id, self._dry_run(text, opts or {}))

    def stats(self, timeout: float = 10.0) -> dict:
        """Usage per period, backend and model (see stats.py); waits on the loop and a disk read."""
        return asyncio.run_coroutine_threadsafe(self._stats(), self.loop).result(timeout)

    def stats_reply(self, reply_id: int) -> None:
        self._reply(reply_id, self._stats())

    def confirm_reply(self, confirm_id: int, yes: bool) -> None:
        def settle():
            fut = self._confirms.get(int(confirm_id))
            if fut is not None and not fut.done():
                fut.set_result(bool(yes))
        self.loop.call_soon_threadsafe(settle)

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
            self._notify("error", str(e))
        except Exception as e:
            log.exception("internal error")
            self._notify("error", self._internal(e))

    def _reply(self, reply_id: int, coro) -> None:
        """Run `coro` on the loop and answer request `reply_id` with its result or its error."""
        async def answer():
            try:
                self._put({"type": "reply", "id": reply_id, "result": await coro})
            except HybridError as e:
                self._put({"type": "reply", "id": reply_id, "error": str(e)})
            except Exception as e:
                log.exception("request %s failed", reply_id)
                self._put({"type": "reply", "id": reply_id, "error": self._internal(e)})
        self._spawn(answer())

    def _internal(self, e: Exception) -> str:
        """A bug's one line for the editor; its traceback is in the log."""
        return f"internal error: {type(e).__name__}: {' '.join(str(e).split())} (details in {self.log_path})"

    def _put(self, event: dict) -> None:
        if event.get("message"):
            event["message"] = self.secrets(event["message"])  # a server may echo the key back
        self.outbox.put(event)

    def _progress(self, stream_id: str, text: str) -> None:
        """A status line under the answer's header until its first token (retries, a fallback):
        shown where the user waits, so it raises no message and no hit-enter prompt."""
        log.info("%s: %s", stream_id, text)
        self._put({"type": "progress", "chat": stream_id, "message": text})

    def _notify(self, level: str, message: str) -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, message)
        self._put({"type": "notify", "level": level, "message": message})

    # -- config -------------------------------------------------------------------

    async def _startup(self) -> None:
        await self._check_data_dir()
        await asyncio.to_thread(self.corrections.load)
        await self._refresh_config()
        if self.config is None:
            self.config = builtin_config(self.config_path)
            self._apply_defaults()
        self._restore_choice(self._restore)
        self._ready.set()
        self._push_state()
        self._watcher = self.loop.create_task(self._watch_config())

    async def _check_data_dir(self) -> None:
        """A data_dir that is a file or cannot be written is said once; chatting goes on without saving."""
        problem = await asyncio.to_thread(data_dir_problem, self.data_dir)
        if problem is None:
            return
        self._notify("warn", problem)
        self._not_saving, store, self.store = problem, self.store, None
        self.data_dir = None  # (a managed server then logs nowhere rather than fail to start)
        if store is not None:
            await asyncio.to_thread(store.close)

    def _from_editor(self, *texts):
        """Text from the editor, fit to send: bytes that are not UTF-8 (a binary file's) arrive as
        lone surrogates; they go as U+FFFD, said once for the request."""
        fixed = [repaired(t) if isinstance(t, str) else t for t in texts]
        if any(a is not b for a, b in zip(fixed, texts, strict=True)):
            self._notify("warn", "the text has bytes that are not UTF-8 (a binary file?); they were sent as \ufffd")
        return fixed

    async def _watch_config(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self._refresh_config()
            except Exception:
                log.exception("config watch failed")

    async def _refresh_config(self) -> None:
        """Re-read setup.yaml when it changed on disk; a broken edit keeps the last good config."""
        try:
            st = await asyncio.to_thread(os.stat, self.config_path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp and (self.config is not None or stamp is None):
            return
        first = self._stamp is None and self.config is None
        self._stamp = stamp
        if stamp is None:
            if self.config is None or self.config.builtin:
                self._notify("warn", f"no config at {display_path(self.config_path)}: using Ollama at "
                             "http://localhost:11434 (see :help hybrid-config)")
            else:
                self._config_error(ConfigError(f"{display_path(self.config_path)}: file is gone; keeping the last good config"))
            return
        try:
            config = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as e:
            if self.config is None:
                self.config = builtin_config(self.config_path)
                self._apply_defaults()
            self._config_error(e)
            self._push_state()
            return
        self.config = config
        self._shown_config_error = None
        self._apply_defaults()
        await self._warn_open_keys_file()
        if not first:
            log.info("config reloaded from %s", self.config_path)
        self._push_state()

    async def _warn_open_keys_file(self) -> None:
        is_open = await asyncio.to_thread(keys_file_readable_by_others, self.keys.keys_path)
        if is_open and not self._warned_open_keys:
            shown = display_path(self.keys.keys_path)
            self._notify("warn", f"{shown} can be read by other users; run: chmod 600 {shown}")
        self._warned_open_keys = is_open

    def _config_error(self, e: ConfigError) -> None:
        if str(e) == self._shown_config_error:
            return
        self._shown_config_error = str(e)
        if self.config is None or self.config.builtin:
            self._notify("error", str(e))
        else:
            self._notify("error", f"{e} (keeping the last good config)")

    def _apply_defaults(self) -> None:
        cfg = self.config
        self.router = Router(cfg)
        self.router.corrections = self.corrections
        self.retry_policy = policy_from(cfg.raw.get("retry"))
        self.accountant.configure(cfg, self.router)
        self.windows.clear()
        if not self.user_chose_backend or (self.active != "auto" and self.active not in cfg.backends):
            self.active = cfg.default_backend
            self.user_chose_backend = False
        self.model_override = {k: v for k, v in self.model_override.items() if k in cfg.backends}

    # -- choosing a backend -----------------------------------------------------------

    def _choice(self) -> dict:
        """What the user chose (backend, models, preset), for the editor to hand to a restarted host."""
        return without_none({"backend": self.active if self.user_chose_backend else None,
                             "models": dict(self.model_override) or None, "preset": self.preset})

    def _restore_choice(self, choice: dict | None) -> None:
        """Take up the choices the host before this one had (see _choice), where the config still allows."""
        choice = choice if isinstance(choice, dict) else {}
        backends = self.config.backends
        models = choice.get("models") if isinstance(choice.get("models"), dict) else {}
        self.model_override.update({k: v for k, v in models.items() if k in backends and isinstance(v, str)})
        if choice.get("backend") == "auto" or choice.get("backend") in backends:
            self.active, self.user_chose_backend = choice["backend"], True
        preset = self.config.presets.get(choice.get("preset")) if isinstance(choice.get("preset"), str) else None
        if preset is not None:
            self.preset, self.system_prompt = preset.name, preset.system

    def _target(self, role: str = "query"):
        """(backend config, model) requests go to by default: the fixed one, or auto's local side."""
        cfg = self.config
        name = self.active
        if name == "auto":
            name = self.router.local or self.router.cloud
        backend = cfg.backends[name]
        return backend, self.model_override.get(name) or backend.model_for(role)

    async def _set_backend(self, name: str) -> None:
        async with self._choosing:  # two quick commands apply in the order given
            await self._ready.wait()  # a command given as the host starts waits for the config
            await self._refresh_config()
            if name != "auto" and name not in self.config.backends:
                raise HybridError(f"no backend named {name!r}; configured: {', '.join(self.config.backends)} (or auto)")
            self.active = name
            self.user_chose_backend = True
            self._learn_switch(name)
            self._leave_preset()
            backend, model = self._target()
            mode = "auto → " if name == "auto" else ""
            self._notify("info", f"backend: {mode}{backend.name} ({backend.kind}) · {model}")
            self._push_state()
        await self._warm()

    async def _set_model(self, model: str) -> None:
        async with self._choosing:  # two quick commands apply in the order given
            await self._ready.wait()
            await self._refresh_config()
            backend, _ = self._target()
            self.model_override[backend.name] = model
            self._leave_preset()
            self._notify("info", f"model: {backend.name} · {model}")
            self._push_state()
        await self._warm()

    async def _set_preset(self, name: str) -> None:
        async with self._choosing:  # two quick commands apply in the order given
            await self._ready.wait()  # a command given as the host starts waits for the config
            await self._refresh_config()
            preset = self.config.presets.get(name)
            if preset is None:
                names = ", ".join(self.config.presets) or "none yet"
                raise HybridError(f"no preset named {name!r} (configured: {names}); add it under presets: in "
                                  f"{display_path(self.config_path)}")
            self.active = preset.backend
            self.user_chose_backend = True
            self._learn_switch(preset.backend, f"preset {preset.name}")
            if preset.model:
                self.model_override[preset.backend] = preset.model
            else:
                self.model_override.pop(preset.backend, None)
            self.preset, self.system_prompt = preset.name, preset.system
            if preset.backend == "auto":
                where = "auto"
            else:
                backend, model = self._target()
                where = f"{backend.name} ({backend.kind}) · {model}"
            self._notify("info", f"preset {preset.name}: {where}{' · its own system prompt' if preset.system else ''}")
            self._push_state()
        await self._warm()

    def _leave_preset(self) -> None:
        """A backend or model picked by hand ends the preset, its system prompt with it."""
        self.preset = self.system_prompt = None

    async def _list_models(self, name: str | None) -> dict:
        await self._refresh_config()
        cfg = self.config.backends.get(name) if name else self._target()[0]
        if cfg is None:
            raise HybridError(f"no backend named {name!r}")
        backend = await self._backend(cfg)
        await self._ensure_server(cfg, backend)
        models = await backend.list_models()
        loaded = {m["name"] for m in (await self._loaded(cfg)).get("models") or ()}
        for m in models:
            if m["name"] in loaded:
                m["loaded"] = True
            # What a million tokens in and out cost, for the picker; a local model is free.
            if cfg.local:
                m["price"] = "free"
            elif rates := rates_for(cfg, m["name"]):
                m["price"] = f"${rates.input:g}/${rates.output:g} per M"
        return {"backend": cfg.name, "kind": cfg.kind, "models": models}

    async def _backend(self, cfg) -> Backend:
        key, where = await asyncio.to_thread(self.keys.require, cfg)
        self.secrets.add(key)
        cached = self.clients.get(cfg.name)
        if cached and cached[0] == key and cached[1].cfg == cfg:
            return cached[1]
        backend = make_backend(cfg, key, where)
        self.clients[cfg.name] = (key, backend)
        return backend

    async def _ensure_server(self, cfg, backend: Backend) -> None:
        """Start the backend's own server (command: or autostart:) if nothing answers yet."""
        command = command_for(cfg)
        if command is None:
            return
        server = self.servers.get(cfg.name)
        if server is None or server.command != command:
            if server is not None:
                await asyncio.to_thread(server.stop)
            server = self.servers[cfg.name] = ManagedServer(cfg, self.data_dir)

        async def ready() -> bool:
            try:
                await backend.list_models()
                return True
            except BackendError:
                return False

        def started(s: ManagedServer) -> None:
            # Short (a longer line raises a hit-enter prompt): checkhealth shows the command and the log's path.
            self._notify("info", f"{cfg.name}: started the local server ({os.path.basename(s.log_path)})")
            self._push_state()  # :checkhealth shows the server's pid

        await server.ensure(ready, started)

    # -- chat -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _one_stream(self, stream_id: str, busy_message: str):
        """Own `stream_id` for one request (refused while it streams) with a fresh config."""
        if stream_id in self.tasks:
            raise HybridError(busy_message)
        self.tasks[stream_id] = asyncio.current_task()
        try:
            await self._ready.wait()  # sent as the host starts: wait for the config and the restored choice
            await self._refresh_config()
            async with self._choosing:  # a :HybridBackend / Model / Preset given just before applies to this
                pass
            yield
        finally:
            self.tasks.pop(stream_id, None)
            self._push_state()

    async def _chat(self, chat_id: str, text: str, opts: dict) -> None:
        text, = self._from_editor(text)
        try:
            async with self._one_stream(chat_id, "an answer is still streaming in this chat; cancel it with <C-c> "
                                                 "or :HybridCancel"):
                await self._chat_turn(chat_id, text, opts)
        except HybridError as e:
            # The editor is waiting for this turn: end it with the reason (shown and notified there).
            self._put({"type": "turn_end", "chat": chat_id, "status": "error", "message": str(e)})

    async def _chat_turn(self, chat_id: str, text: str, opts: dict) -> None:
        conv = await self._conversation(chat_id)
        active = opts.get("backend") or self.active
        if active != "auto" and active not in self.config.backends:
            raise HybridError(f"no backend named {active!r}; configured: {', '.join(self.config.backends)} (or auto)")
        redo = None
        if opts.get("retry"):
            redo = conv.last_turn()
            if redo is None:
                raise HybridError("nothing to retry in this chat yet")
            redo.superseded = True  # the history sent with the new try leaves it out
            text = redo.user
        decision = await self._decide(self._chat_request(conv, text, opts.get("path")), active=active,
                                      retry_on=opts.get("backend"))
        self._announce(decision, conv.sensitive is None)
        if decision.finding and conv.sensitive is None:
            conv.sensitive = decision.finding  # sticky: the history is resent every turn
            self._save(chat_id, {"t": "sensitive", "rule": decision.finding.rule})
        self._learn(decision, active, redo)
        decision = await self._within_budget(decision)
        turn = Turn(user=decision.text, backend=decision.backend or "", model=decision.model or "")
        conv.turns.append(turn)
        self._save(chat_id, {"t": "user", "text": turn.user, **({"retry": True} if redo else {})})
        self._turn_start(chat_id, decision)
        if decision.refused:
            turn.status = "refused"
            if redo:
                redo.superseded = False
            self._turn_end(chat_id, {"status": "error", "message": decision.refused}, "refused")
            return
        self._push_state()

        said: list[str] = []

        def on_text(text):
            said.append(text)  # joined once at the end: += on a growing answer is quadratic
            self._save(chat_id, {"t": "text", "text": text})

        def on_switch(d: Decision):
            turn.backend, turn.model = d.backend, d.model
            self._turn_start(chat_id, d)

        try:
            result = await self._routed(chat_id, decision, conv.messages(self.system_prompt), on_text, on_switch, conv)
        finally:
            turn.answer = "".join(said)
        if result["status"] == "cancelled" and self._closing:
            result.update(status="interrupted", message="Neovim closed while this answer streamed")
        elif result["status"] in ("error", "incomplete"):
            result["message"] = f"{result['message']} — :HybridRetry tries again"
        turn.status = result["status"]
        self._turn_end(chat_id, result, turn.status)
        # Auto routing chose and the answer came: switching side now overrules it (a failure does not).
        answered = self.config.backends.get(turn.backend)
        routed = active == "auto" and decision.step not in ("explicit", "privacy") and not redo and answered
        self.last_answer.answered(decision.text, answered.kind if routed else None,
                                  ok=turn.status == "complete" and conv.sensitive is None and not decision.sensitive)

    def _learn(self, d: Decision, active: str, redo) -> None:
        """An overruled route is a correction: @cloud / @local in auto mode, or a retry on the other side."""
        if d.backend is None or d.sensitive or d.side not in ("local", "cloud"):
            return
        if d.step == "explicit" and active == "auto":
            text, how = d.text, f"@{d.side}"
        elif redo is not None and redo.backend in self.config.backends and active != "auto" \
                and self.config.backends[redo.backend].kind != d.side:
            text, how = redo.user, f":HybridRetry {d.backend}"
        else:
            return
        if text.strip():
            self.loop.run_in_executor(None, self.corrections.record, text, d.side, how)

    def _learn_switch(self, name: str, how: str | None = None) -> None:
        """Switching to a backend of the other side right after an auto-routed answer overrules it."""
        backend = self.config.backends.get(name)
        if backend is None:  # auto: nothing overruled
            self.last_answer.forget()
            return
        overruled = self.last_answer.switched_to(backend.kind)
        if overruled:
            text, side = overruled
            self.loop.run_in_executor(None, self.corrections.record, text, side,
                                      f"switched to {how or name} after the answer")

    async def _corrections(self, forget: bool) -> dict:
        await self._ready.wait()
        items = self.corrections.listing()
        if forget:
            await asyncio.to_thread(self.corrections.forget)
        return {"items": items, "forgot": bool(forget)}

    def _turn_start(self, chat_id: str, d: Decision) -> None:
        who = self._who(d)
        self._put({"type": "turn_start", "chat": chat_id, **who})
        self._save(chat_id, {"t": "who", **{k: who[k] for k in ("backend", "model", "kind", "reason") if who[k]}})

    def _turn_end(self, chat_id: str, result: dict, status: str) -> None:
        self._save(chat_id, without_none({"t": "end", "status": status, "message": result.get("message")}))
        self._put({"type": "turn_end", "chat": chat_id, **result})

    def _save(self, chat_id: str, record: dict) -> None:
        if self.store is not None:
            self.store.append(chat_id, record)

    async def _conversation(self, chat_id: str) -> Conversation:
        """The chat's history: in memory, else from its file (after a host restart), else new."""
        conv = self.chats.get(chat_id)
        if conv is None:
            saved = await asyncio.to_thread(self.store.load, chat_id) if self.store and valid_id(chat_id) else None
            conv = self.chats.setdefault(chat_id, Conversation.from_saved(saved) if saved else Conversation(chat_id))
        return conv

    # -- saved chats ------------------------------------------------------------------------

    def _need_store(self) -> ChatStore:
        if self.store is None:
            raise HybridError(self._not_saving or "chats are not saved: no data_dir")
        return self.store

    async def _open_chat(self, chat_id: str | None, exclude: set) -> dict:
        await self._ready.wait()
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
        if chat_id not in self.chats:
            self.chats[chat_id] = Conversation.from_saved(saved)
        if saved.torn:
            log.warning("chat %s: skipped a line cut short by a crash", chat_id)
        return without_none({"id": chat_id, "turns": [asdict(t) for t in saved.turns], "sensitive": saved.sensitive})

    async def _list_chats(self) -> list[dict]:
        return await asyncio.to_thread(self._need_store().list)

    async def _delete_chat(self, chat_id: str) -> bool:
        if chat_id in self.tasks:
            raise HybridError("that chat is still answering; cancel it first")
        self.chats.pop(chat_id, None)
        return await asyncio.to_thread(self._need_store().delete, chat_id)

    def _chat_request(self, conv: Conversation, text: str, path: str | None) -> RouteRequest:
        history = [m["content"] for m in conv.messages()[1:]]
        chars = sum(map(len, history)) + len(text) + len(self.system_prompt or SYSTEM_PROMPT)
        return RouteRequest(text=text, command="chat", path=path, context="\n".join(history), prompt_chars=chars,
                            sticky=conv.sensitive)

    # -- routing -------------------------------------------------------------------------

    async def _decide(self, req: RouteRequest, *, dry: bool = False, active: str | None = None,
                      retry_on: str | None = None) -> Decision:
        """The router's decision; the router model is asked (within its time budget) unless dry."""
        router = self.router
        context = {"active": active or self.active, "models": self.model_override, "over_budget": self.accountant.over_budget(),
                   "local_window": self.windows.get((router.local, self._model_of(router.local, req)))}
        decision = self._fixed_reason(router.decide(req, down=self.availability.down(), **context), retry_on)
        if decision.router_model and not dry:
            try:
                local = await self._backend(self.config.backends[router.local])
            except BackendError:
                return decision
            verdict = await classify(local, decision.router_model, decision.text, router.router_timeout)
            if verdict is not None:
                decision = router.decide(req, down=self.availability.down(), verdict=verdict, **context)
        return decision

    def _fixed_reason(self, d: Decision, retry_on: str | None) -> Decision:
        """A fixed backend's header names who fixed it: `:HybridRetry NAME`, a preset, else the user."""
        if d.step != "fixed" or not (retry_on or self.preset):
            return d
        return replace(d, reason=f"retry on {retry_on}" if retry_on else f"preset {self.preset}")

    def _model_of(self, name: str | None, req: RouteRequest) -> str | None:
        if name is None:
            return None
        role = "editor" if req.command == "ask" else "query"
        return self.model_override.get(name) or self.config.backends[name].model_for(role)

    async def _within_budget(self, d: Decision) -> Decision:
        """Past the budget, a request bound for the cloud (fixed mode, @cloud, a detour) asks
        first, or is refused with budget.on_limit: refuse. Auto mode's own choice stays local."""
        if d.backend is None or d.side != "cloud":
            return d
        over = self.accountant.over_budget()
        if not over:
            return d
        if self.accountant.limits()["on_limit"] == "refuse":
            return replace(d, backend=None, refused=f"not sent to {d.backend}: {over} (budget.on_limit: refuse)")
        if await self._confirm(f"{over}. Send this to {d.backend} ({d.model}) anyway?"):
            return d
        return replace(d, backend=None, refused=f"not sent to {d.backend}: {over}")

    async def _confirm(self, question: str) -> bool:
        cid = next(self._confirm_ids)
        fut = self.loop.create_future()
        self._confirms[cid] = fut
        self._put({"type": "confirm", "id": cid, "message": question})
        try:
            return await fut
        finally:
            self._confirms.pop(cid, None)

    def _announce(self, d: Decision, first_time: bool) -> None:
        if d.refused:
            return  # the chat or the review shows it, and notifies
        if d.notice:
            self._notify("warn", d.notice)
        elif d.sensitive and first_time:
            self._notify("info", f"{d.sensitive}: kept on {d.backend} (local)")

    @staticmethod
    def _who(d: Decision) -> dict:
        return {"backend": d.backend, "model": d.model, "kind": d.side, "reason": d.reason, "step": d.step}

    async def _routed(self, stream_id: str, decision: Decision, messages: list[dict], on_text, on_switch,
                      conv: Conversation | None = None) -> dict:
        """Stream from the decided backend; if it fails before its first token, from the other side."""
        down = self.availability.down()
        can_fall_back = decision.fallback is not None and decision.fallback not in down
        patience = patience_for(decision.backend in down, can_fall_back)
        result = await self._stream(stream_id, decision, messages, on_text, conv, patience)
        if result.pop("got_text") or result["status"] not in ("error", "incomplete"):
            if result["status"] == "complete":
                self.availability.ok(decision.backend)
            return result
        self.availability.failed(decision.backend, result["message"] or "", self.router.cooldown)
        if decision.sensitive:
            result["message"] = f"{result['message']} — not sent to the cloud: {decision.sensitive}"
        other = decision.fallback
        if other is None:
            return result
        left = self.availability.down().get(other)
        if left is not None:
            result["message"] = f"{result['message']}; {other} failed recently too (tried again in {left:.0f} s)"
            return result
        fallback = self.router.retarget(decision, other, f"{decision.backend} failed", self.model_override)
        over = self.accountant.over_budget()
        if fallback.side == "cloud" and over:
            result["message"] = f"{result['message']}; not retried on {other}: {over}"
            return result
        on_switch(fallback)  # the new header says why; the status line under it says what failed
        self._progress(stream_id, f"{result['message']} — answering with {other} ({fallback.side}) instead")
        result = await self._stream(stream_id, fallback, messages, on_text, conv)
        result.pop("got_text")
        if result["status"] == "complete":
            self.availability.ok(other)
        elif result["status"] == "error":
            self.availability.failed(other, result["message"] or "", self.router.cooldown)
        return result

    async def _dry_run(self, text: str, opts: dict) -> dict:
        await self._ready.wait()
        await self._refresh_config()
        role = opts.get("role") or "query"
        if role not in ("query", "editor", "research"):
            raise HybridError(f"route(): role must be query, editor or research, got {role!r}")
        conv = self.chats.get(str(opts.get("chat"))) if opts.get("chat") is not None else None
        if role == "editor":
            req = RouteRequest(text=text, command="ask", path=opts.get("path"))
        else:
            req = self._chat_request(conv or Conversation("dry-run"), text, opts.get("path"))
        decision = await self._decide(req, dry=True)
        if role == "research" and decision.backend:
            decision = self.router.retarget(decision, decision.backend, None, self.model_override, role="research")
        table = decision.as_table()
        table["mode"] = "auto" if self.active == "auto" else "fixed"
        chosen = self.config.backends.get(decision.backend or "")
        if chosen is not None:
            table["local_why"] = chosen.local_why  # "declared", or how local/cloud was inferred
        table["router_model"] = decision.router_model
        return without_none(table)

    # -- streaming -------------------------------------------------------------------------

    async def _stream(self, stream_id: str, decision: Decision, messages: list[dict], on_text,
                      conv: Conversation | None = None, patience: float | None = None) -> dict:
        """Stream one answer as delta events for `stream_id`; record it; return how it ended."""
        started = time.monotonic()
        ttft = None
        usage = Usage()
        finish = None
        status, message = "incomplete", None
        name, model = decision.backend, decision.model
        backend_cfg = self.config.backends.get(name)
        sent, answer = messages, []
        masker = self.secrets.stream()  # a key echoed in the answer is masked, even split across events
        try:
            if backend_cfg is None:
                raise HybridError(f"backend {name!r} is no longer in {display_path(self.config_path)}")
            if not backend_cfg.local:
                # The last gate before the network: routing should never get here with a secret.
                found = self.router.privacy.check_messages(messages)
                if found:
                    raise HybridError(f"not sent to {name} (cloud): {found.rule}")
            backend = await self._backend(backend_cfg)
            await self._ensure_server(backend_cfg, backend)
            request = await self._prepare(backend, backend_cfg, model, messages, conv)
            sent = request.messages
            policy = self.retry_policy
            for attempt in itertools.count(1):
                try:
                    async for event in backend.stream_chat(request):
                        if isinstance(event, Delta):
                            if ttft is None:
                                ttft = time.monotonic() - started
                            self._answer(stream_id, masker.feed(event.text), answer, on_text)
                        elif isinstance(event, Usage):
                            usage = event
                        elif isinstance(event, Finish):
                            finish = event.reason
                    break
                except BackendError as e:
                    wait = None if ttft is not None else policy.wait_before(attempt, e, patience)
                    if wait is None:
                        raise
                    self._progress(stream_id, f"{e} — trying again in {wait:.1f} s ({attempt + 1} of {policy.attempts})")
                    await asyncio.sleep(wait)
            if finish is None:
                message = f"{name}: the stream ended before the server said it was done; the answer is incomplete"
            else:
                status = "complete"
                if finish == "length":
                    message = f"{name}: the answer hit the model's output limit (finish_reason: length)"
        except asyncio.CancelledError:
            status = "cancelled"
        except HybridError as e:
            status, message = "error", str(e)
            log.info("request failed: %s", e)
        except Exception as e:
            log.exception("request failed")
            status, message = "error", self._internal(e)
        self._answer(stream_id, masker.flush(), answer, on_text)
        row = None
        if backend_cfg is not None:
            row = self.accountant.record(backend_cfg, model, decision.role, decision.reason, Outcome(
                status, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens, usage.cost_usd, ttft,
                time.monotonic() - started, sent, "".join(answer)))
            self._check_truncation(backend_cfg, usage, sent, conv)
        self.last = {
            "backend": name, "model": model, "reason": decision.reason,
            "ttft_ms": round(ttft * 1000, 1) if ttft is not None else None,
            "tokens_in": row.prompt_tokens if row else None, "tokens_out": row.completion_tokens if row else None,
            "cost_usd": row.cost_usd if row else None, "estimated": row.estimated if row else None,
            "duration_ms": round((time.monotonic() - started) * 1000, 1), "status": status,
        }
        return {"status": status, "message": message, "finish_reason": finish, "last": self.last,
                "got_text": ttft is not None}

    def _answer(self, stream_id: str, text: str, answer: list[str], on_text) -> None:
        if text:
            answer.append(text)
            on_text(text)
            self._put({"type": "delta", "chat": stream_id, "text": text})

    # -- context ----------------------------------------------------------------------------

    async def _prepare(self, backend: Backend, cfg, model: str, messages: list[dict], conv) -> ChatRequest:
        """Fit the history into the model's window, size Ollama's num_ctx, mark the cache prefix."""
        window = await self._window(backend, cfg, model)
        fitted = fit(messages, window)
        if fitted.dropped and conv is not None and self._summarize_enabled():
            summary = await self._summarize(conv, fitted.dropped)
            if summary:
                fitted = fit(messages, window, summary)
        if fitted.dropped and conv is not None and len(fitted.dropped) > conv.dropped_told:
            conv.dropped_told = len(fitted.dropped)
            kept = "summarized and " if conv.summary and conv.summary[0] == len(fitted.dropped) else ""
            self._notify("info", f"{len(fitted.dropped)} oldest messages {kept}left out to fit {model}'s "
                                 f"{window:,}-token context window")
        options = {}
        if cfg.type == "ollama":
            # Ollama cuts a prompt longer than num_ctx silently; its default is small.
            options["options"] = {"num_ctx": ollama_num_ctx(fitted.tokens, window)}
        sent = mark_cache(fitted.messages, model) if cfg.type == "openai" else fitted.messages
        return ChatRequest(model=model, messages=sent, options=options)

    async def _window(self, backend: Backend, cfg, model: str) -> int | None:
        if cfg.context_window:
            return cfg.context_window
        key = (cfg.name, model)
        if key not in self.windows:
            try:
                self.windows[key] = await asyncio.wait_for(backend.context_length(model), cfg.connect_timeout + 3)
            except (HybridError, asyncio.TimeoutError):
                self.windows[key] = None
        return self.windows[key]

    def _summarize_enabled(self) -> bool:
        section = self.config.raw.get("context")
        return isinstance(section, dict) and section.get("summarize") is True

    async def _summarize(self, conv: Conversation, dropped: list[dict]) -> str | None:
        """One note for the turns that no longer fit, written by the local model (cached)."""
        if conv.summary and conv.summary[0] == len(dropped):
            return conv.summary[1]
        local = self.config.backends.get(self.router.local) if self.router.local else None
        if local is None:
            return None
        text = "\n\n".join(f"{m['role']}: {content_text(m.get('content'))}" for m in dropped)[-12000:]
        request = ChatRequest(model=self.model_override.get(local.name) or local.model_for("query"),
                              messages=[{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": text}])
        try:
            said = await asyncio.wait_for(answer_text(await self._backend(local), request), 60)
        except (HybridError, asyncio.TimeoutError) as e:
            log.info("summary failed: %s", e)
            return None
        summary = " ".join(said.split())[:1500]
        conv.summary = (len(dropped), summary)
        return summary or None

    def _check_truncation(self, cfg, usage: Usage, sent: list[dict], conv) -> None:
        if cfg.type != "ollama" or not usage.prompt_tokens:
            return
        if conv is not None and len(conv.turns) > 1:
            return  # later turns reuse Ollama's prompt cache, which lowers the count it reports
        estimate = messages_tokens(sent)
        if estimate > 1000 and usage.prompt_tokens < estimate * 0.5:
            self._notify("warn", f"{cfg.name}: the model read {usage.prompt_tokens:,} prompt tokens of about {estimate:,} "
                                 f"sent, so it probably cut the prompt; set backend.{cfg.name}.context_window")

    # -- stats ----------------------------------------------------------------------------------

    async def _stats(self) -> dict:
        await self._ready.wait()
        data = {"periods": {}}
        ollamas = [c for c in self.config.backends.values() if c.type == "ollama"]
        # The servers are asked while the ledger is read.
        usage, *loaded = await asyncio.gather(self._usage(), *(self._loaded(c) for c in ollamas))
        if usage is not None:
            data["periods"] = usage
            data["days"] = usage.pop("days")
            data["ledger"] = display_path(self.ledger.path)
        data["loaded"] = loaded
        data["budget"] = self._spend_state()
        data["cloud"] = self.router.cloud
        data["prices_date"] = DEFAULT_PRICES_DATE
        return without_none(data)

    async def _usage(self) -> dict | None:
        """The ledger's periods and days (stats.py), read off the loop; None without a ledger."""
        if self.ledger is None:
            return None
        await asyncio.to_thread(self.ledger.flush)
        return await asyncio.to_thread(usage_stats, self.ledger.path)

    async def _loaded(self, cfg) -> dict:
        """What the backend's server holds in memory now (Ollama's /api/ps): {backend, models},
        with models None when the server cannot say, or {backend, error}."""
        try:
            backend = await self._backend(cfg)
            return {"backend": cfg.name, "models": await asyncio.wait_for(backend.loaded_models(), LOADED_TIMEOUT)}
        except HybridError as e:
            return {"backend": cfg.name, "error": str(e)}
        except asyncio.TimeoutError:
            return {"backend": cfg.name, "error": f"{cfg.name}: no answer from /api/ps within {LOADED_TIMEOUT:g} s"}

    # -- warm-up ------------------------------------------------------------------------

    async def _warm(self) -> None:
        await self._ready.wait()
        await self._refresh_config()
        cfg, model = self._target()  # the chat's model
        if not warms_up(cfg):
            return
        key = (cfg.name, model)
        if time.monotonic() - self._warmed.get(key, -WARM_EVERY) < WARM_EVERY:
            return  # loaded a moment ago; opening and closing the chat does not ask again
        self._warmed[key] = time.monotonic()
        task = asyncio.current_task()
        self._warming.add(task)
        started = time.monotonic()
        try:
            backend = await self._backend(cfg)
            await self._ensure_server(cfg, backend)
            await backend.warm(model)
            log.info("%s: %s is loaded (warm-up took %.1f s)", cfg.name, model, time.monotonic() - started)
        except HybridError as e:
            # Quiet: nothing was asked yet, and the first real request reports the same problem.
            self._warmed.pop(key, None)
            log.info("%s: no warm-up of %s: %s", cfg.name, model, e)
        finally:
            self._warming.discard(task)

    # -- :HybridAsk ---------------------------------------------------------------------

    async def _ask(self, ask_id: str, payload: dict) -> None:
        stream_id = f"ask:{ask_id}"
        keys = [k for k, v in payload.items() if isinstance(v, str)]
        payload = {**payload, **dict(zip(keys, self._from_editor(*(payload[k] for k in keys)), strict=True))}
        async with self._one_stream(stream_id, "that edit is already streaming"):
            req = EditRequest(**{k: payload.get(k) or "" for k in ("instruction", "text", "mode", "filetype", "filename",
                                                                   "before", "after")})
            decision = await self._decide(RouteRequest(
                text=req.instruction, command="ask", selection=req.text, context=f"{req.before}\n{req.after}",
                path=payload.get("path") or req.filename))
            self._announce(decision, True)
            decision = await self._within_budget(decision)
            self._put({"type": "ask_start", "id": ask_id, **self._who(decision)})
            if decision.refused:
                self._put({"type": "ask_end", "id": ask_id, "status": "error", "message": decision.refused})
                return
            req.instruction = decision.text
            self._push_state()
            reply = []

            def on_switch(d: Decision):
                self._put({"type": "ask_start", "id": ask_id, **self._who(d)})

            result = await self._routed(stream_id, decision, edit_messages(req), reply.append, on_switch)
            if result["status"] == "complete" and result["finish_reason"] == "length":
                result["status"] = "incomplete"  # a cut-off rewrite would break the code
            if result["status"] == "complete":
                code = extract_code("".join(reply), req.filetype)
                result["lines"] = fit_replacement(code, req.text, req.mode)
            self._put({"type": "ask_end", "id": ask_id, **result})

    def _cancel(self, chat_id: str | None) -> None:
        for cid, task in list(self.tasks.items()):
            if chat_id is None or cid == str(chat_id):
                task.cancel()

    # -- state for the editor -----------------------------------------------------------

    def _push_state(self) -> None:
        if self.config is None:
            return
        backend, model = self._target()
        self._put({"type": "state", "state": {
            "backend": backend.name,
            "model": model,
            "mode": "auto" if self.active == "auto" else "fixed",
            "preset": self.preset,
            "choice": self._choice(),
            "presets": [without_none({"name": p.name, "backend": p.backend, "model": p.model, "system": p.system,
                                      "description": p.description}) for p in self.config.presets.values()],
            "busy": bool(self.tasks),
            "last": self.last,
            "config_path": display_path(self.config_path),
            "spend": self._spend_state(),
            "backends": [
                without_none({"name": b.name, "kind": b.kind, "type": b.type,
                              "model": self.model_override.get(b.name) or b.default_model, "url": safe_url(b.base_url),
                              # for :HybridModel's completion (the server's full list comes with the picker)
                              "models": sorted({b.default_model, self.model_override.get(b.name) or b.default_model,
                                                 *b.agent_models.values()}),
                              "server_pid": self._server_pid(b.name)})
                for b in self.config.backends.values()
            ],
        }})

    def _server_pid(self, name: str) -> int | None:
        """The pid of the server this host started for backend `name`, while it runs."""
        server = self.servers.get(name)
        return server.proc.pid if server is not None and server.running else None

    def _spend_state(self) -> dict:
        today, month = self.accountant.spend()
        limits = self.accountant.limits()
        return without_none({"today_usd": round(today, 6), "month_usd": round(month, 6), "daily_usd": limits["daily"],
                              "monthly_usd": limits["monthly"]})

    async def _shutdown(self) -> None:
        self._closing = True  # answers cut by the exit are saved as interrupted, not cancelled
        if self._watcher:
            self._watcher.cancel()
        tasks = list(self.tasks.values()) + list(self._warming)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, backend in self.clients.values():
            try:
                await backend.aclose()
            except Exception:
                pass
        await self.loop.shutdown_asyncgens()  # close half-read streams now, not at garbage collection
        for server in self.servers.values():
            await asyncio.to_thread(server.stop)
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.close)
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
