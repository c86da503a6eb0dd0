"""The config in effect: setup.yaml read as the host starts and again whenever it changes on
disk (polled), with what is derived from it (the router, the retry policy). A broken edit is
said once and the last good config stays; with no file at all, Ollama on its default port.

Every command starts from `current()`: it waits until the host is ready (the config read and
the previous host's choices restored) and picks up an edit made since the last poll. This is
the one place that preamble is written.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from .config import Config, builtin_config, display_path, load_config
from .corrections import Corrections
from .editor_link import EditorLink
from .errors import ConfigError
from .keys import keys_file_readable_by_others
from .retry import RetryPolicy, policy_from
from .routing import Router

log = logging.getLogger("hybrid")

CONFIG_POLL_SECONDS = 1.0


class LiveConfig:
    def __init__(self, path: str, keys_path: str, link: EditorLink, corrections: Corrections, *,
                 on_change: Callable[[Config], None], on_settled: Callable[[], None],
                 poll_seconds: float = CONFIG_POLL_SECONDS):
        self.path = path
        self.keys_path = keys_path
        self.link = link
        self.corrections = corrections  # what the router learned from the user, kept across configs
        self.on_change = on_change  # a new config is in effect: the services follow it
        self.on_settled = on_settled  # a reload is done: the editor's state is pushed
        self.poll_seconds = poll_seconds
        self.config: Config | None = None
        self.router: Router | None = None
        self.retry = RetryPolicy()  # setup.yaml's retry:
        self._ready = asyncio.Event()
        self._stamp: tuple | None = None
        self._watcher: asyncio.Task | None = None
        self._shown_error: str | None = None
        self._warned_open_keys = False  # keys.yaml was reported as readable by others

    # -- for every command ------------------------------------------------------------

    async def ready(self) -> None:
        """Wait until the host is ready: a command given as it starts waits for the config."""
        await self._ready.wait()

    async def current(self) -> Config:
        """The config to act on: once the host is ready, with any edit on disk picked up."""
        await self._ready.wait()
        await self.refresh()
        return self.config

    # -- the host's start and end ------------------------------------------------------

    async def load(self) -> None:
        """The first read; with no usable file, the built-in default is in effect."""
        await self.refresh()
        if self.config is None:
            self._apply(builtin_config(self.path))

    def mark_ready(self, loop: asyncio.AbstractEventLoop) -> None:
        self._ready.set()
        self._watcher = loop.create_task(self._watch())

    def stop(self) -> None:
        if self._watcher:
            self._watcher.cancel()

    # -- reading ----------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("config watch failed")

    async def refresh(self) -> None:
        """Re-read setup.yaml when it changed on disk; a broken edit keeps the last good config."""
        try:
            st = await asyncio.to_thread(os.stat, self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp and (self.config is not None or stamp is None):
            return
        first = self._stamp is None and self.config is None
        self._stamp = stamp
        if stamp is None:
            if self.config is None or self.config.builtin:
                self.link.notify("warn", f"no config at {display_path(self.path)}: using Ollama at "
                                         "http://localhost:11434 (see :help hybrid-config)")
            else:
                self._error(ConfigError(f"{display_path(self.path)}: file is gone; keeping the last good config"))
            return
        try:
            config = await asyncio.to_thread(load_config, self.path)
        except ConfigError as e:
            if self.config is None:
                self._apply(builtin_config(self.path))
            self._error(e)
            self.on_settled()
            return
        self._shown_error = None
        self._apply(config)
        await self._warn_open_keys_file()
        if not first:
            log.info("config reloaded from %s", self.path)
        self.on_settled()

    def _apply(self, config: Config) -> None:
        self.config = config
        self.router = Router(config)
        self.router.corrections = self.corrections
        self.retry = policy_from(config.retry)
        self.on_change(config)

    async def _warn_open_keys_file(self) -> None:
        is_open = await asyncio.to_thread(keys_file_readable_by_others, self.keys_path)
        if is_open and not self._warned_open_keys:
            shown = display_path(self.keys_path)
            self.link.notify("warn", f"{shown} can be read by other users; run: chmod 600 {shown}")
        self._warned_open_keys = is_open

    def _error(self, e: ConfigError) -> None:
        if str(e) == self._shown_error:
            return
        self._shown_error = str(e)
        if self.config is None or self.config.builtin:
            self.link.notify("error", str(e))
        else:
            self.link.notify("error", f"{e} (keeping the last good config)")
