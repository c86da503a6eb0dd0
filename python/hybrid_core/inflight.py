"""The requests in flight, chats and :HybridAsk alike, by stream id (a chat id, or an ask
stream): one request at a time per id, cancelled by id or all at once. The editor's `busy`
is derived from it and from nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from .errors import HybridError


class InFlight:
    def __init__(self, settled: Callable[[], Awaitable[None]], on_change: Callable[[], None]):
        self.settled = settled  # waits for the config, and for a choice given just before
        self.on_change = on_change  # a request started or ended: the editor's state (busy) is pushed
        self.tasks: dict[str, asyncio.Task] = {}
        self.closing = False  # the host is shutting down: what is cut now was interrupted, not cancelled

    @property
    def busy(self) -> bool:
        return bool(self.tasks)

    def __contains__(self, stream_id: str) -> bool:
        return stream_id in self.tasks

    @contextlib.asynccontextmanager
    async def claim(self, stream_id: str, busy_message: str):
        """Own `stream_id` for one request (refused while it streams), on a settled config. A
        request sent as the host starts waits here for the config and the restored choices."""
        if stream_id in self.tasks:
            raise HybridError(busy_message)
        self.tasks[stream_id] = asyncio.current_task()
        try:
            self.on_change()  # busy from the moment it is sent, not from its first token
            await self.settled()
            yield
        finally:
            self.tasks.pop(stream_id, None)
            self.on_change()

    def cancel(self, stream_id: str | None = None) -> None:
        for sid, task in list(self.tasks.items()):
            if stream_id is None or sid == str(stream_id):
                task.cancel()

    def close(self) -> list[asyncio.Task]:
        """Cancel everything for the host's exit; returns the tasks to wait for."""
        self.closing = True
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        return tasks
