"""The backends of one host: each one's key, its HTTP client (kept while the key and config
stay the same), the local server the plugin started for it, its warm-up, and the models its
server holds in memory. The engine and checkhealth (health.py) both get their clients here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

from ..config import BackendConfig
from ..errors import BackendError, HybridError
from ..keys import KeyResolver
from ..redact import Redactor
from ..servers import ManagedServer
from . import Backend, backend_class, make_backend

log = logging.getLogger("hybrid")

WARM_EVERY = 60.0  # seconds before the same model is warmed again
LOADED_TIMEOUT = 2.0  # seconds :HybridStats waits for a server's /api/ps


def command_for(cfg: BackendConfig) -> list[str] | None:
    """The command line that serves `cfg`, or None when the plugin should not start one."""
    if cfg.command:
        return list(cfg.command)
    autostart = backend_class(cfg.type).autostart_command
    if cfg.autostart and autostart:
        return list(autostart)
    return None


def warms_up(cfg: BackendConfig) -> bool:
    """Whether opening the chat loads this backend's model ahead of the first question: a local
    Ollama (which loads on request) or a server the plugin starts, unless warm_up: false."""
    return cfg.warm_up and cfg.local and (backend_class(cfg.type).preloads or command_for(cfg) is not None)


class BackendPool:
    def __init__(self, keys: KeyResolver, secrets: Redactor, *, log_dir: str | None = None,
                 on_server_start: Callable[[BackendConfig, ManagedServer], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.keys = keys
        self.secrets = secrets  # every key in use is masked in logs, chat files and messages
        self.log_dir = log_dir  # where started servers write their output (None: nowhere)
        self.on_server_start = on_server_start
        self.transport = transport  # tests: an httpx.MockTransport instead of sockets
        self.clients: dict[str, tuple[str | None, Backend]] = {}
        self.servers: dict[str, ManagedServer] = {}  # local servers this host started (command/autostart)
        self._warmed: dict[tuple[str, str], float] = {}  # (backend, model): when it was last warmed
        self.warming: set[asyncio.Task] = set()

    # -- clients ---------------------------------------------------------------------

    async def client(self, cfg: BackendConfig, *, key_required: bool = True) -> Backend:
        """The backend's client with its current key (a cloud backend without one is an error, unless
        `key_required` is False). The key is looked up off the loop: api_key_cmd runs a command."""
        find = self.keys.require if key_required else self.keys.resolve
        key, where = await asyncio.to_thread(find, cfg)
        return self.client_with(cfg, key, where)

    def client_with(self, cfg: BackendConfig, key: str | None, where: str) -> Backend:
        self.secrets.add(key)
        cached = self.clients.get(cfg.name)
        if cached and cached[0] == key and cached[1].cfg == cfg:
            return cached[1]
        backend = make_backend(cfg, key, where, transport=self.transport)
        self.clients[cfg.name] = (key, backend)
        return backend

    async def started(self, cfg: BackendConfig) -> Backend:
        """The client, once its server answers: a server the plugin starts is started first."""
        backend = await self.client(cfg)
        await self.ensure_server(cfg, backend)
        return backend

    async def aclose_clients(self) -> None:
        for _, backend in self.clients.values():
            try:
                await backend.aclose()
            except Exception:
                pass

    # -- servers the plugin starts ------------------------------------------------------

    async def ensure_server(self, cfg: BackendConfig, backend: Backend) -> None:
        """Start the backend's own server (command: or autostart:) if nothing answers yet."""
        command = command_for(cfg)
        if command is None:
            return
        server = self.servers.get(cfg.name)
        if server is None or server.command != command:
            if server is not None:
                await asyncio.to_thread(server.stop)
            server = self.servers[cfg.name] = ManagedServer(cfg, command, self.log_dir)

        async def ready() -> bool:
            try:
                await backend.list_models()
                return True
            except BackendError:
                return False

        def started(s: ManagedServer) -> None:
            if self.on_server_start is not None:
                self.on_server_start(cfg, s)

        await server.ensure(ready, started)

    def server_pid(self, name: str) -> int | None:
        """The pid of the server this host started for backend `name`, while it runs."""
        server = self.servers.get(name)
        return server.proc.pid if server is not None and server.running else None

    async def stop_servers(self) -> None:
        for server in self.servers.values():
            await asyncio.to_thread(server.stop)

    # -- models in memory ---------------------------------------------------------------

    async def warm(self, cfg: BackendConfig, model: str) -> None:
        """Load `model` ahead of the first request, at most once a minute; quiet when it fails."""
        if not warms_up(cfg):
            return
        key = (cfg.name, model)
        if time.monotonic() - self._warmed.get(key, -WARM_EVERY) < WARM_EVERY:
            return  # loaded a moment ago; opening and closing the chat does not ask again
        self._warmed[key] = time.monotonic()
        task = asyncio.current_task()
        self.warming.add(task)
        started = time.monotonic()
        try:
            backend = await self.started(cfg)
            await backend.warm(model)
            log.info("%s: %s is loaded (warm-up took %.1f s)", cfg.name, model, time.monotonic() - started)
        except HybridError as e:
            # Quiet: nothing was asked yet, and the first real request reports the same problem.
            self._warmed.pop(key, None)
            log.info("%s: no warm-up of %s: %s", cfg.name, model, e)
        finally:
            self.warming.discard(task)

    async def loaded(self, cfg: BackendConfig) -> dict:
        """What the backend's server holds in memory now (Ollama's /api/ps): {backend, models},
        with models None when the server cannot say, or {backend, error}."""
        try:
            backend = await self.client(cfg)
            return {"backend": cfg.name, "models": await asyncio.wait_for(backend.loaded_models(), LOADED_TIMEOUT)}
        except HybridError as e:
            return {"backend": cfg.name, "error": str(e)}
        except asyncio.TimeoutError:
            return {"backend": cfg.name, "error": f"{cfg.name}: no answer from /api/ps within {LOADED_TIMEOUT:g} s"}

