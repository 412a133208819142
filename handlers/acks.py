"""Acknowledgements first: work handed over after an acknowledgement lets the requests still waiting for theirs go
ahead. Under a burst (a hundred submissions at once) the answers leave before the provider calls and the store
writes that follow them begin; Slack waits 3 s for an answer, nobody waits for those to start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web


class Acknowledgements:
    """Counts the Slack requests not answered yet (HTTP mode: `middleware`); `settled()` waits until there are
    none, at most `patience` seconds, so a steady stream of requests delays the work no more than that."""

    def __init__(self, patience: float = 1.0) -> None:
        self.patience = patience
        self.pending = 0
        self._none_pending = asyncio.Event()
        self._none_pending.set()

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.pending += 1
        self._none_pending.clear()
        try:
            return await handler(request)
        finally:
            self.pending -= 1
            if not self.pending:
                self._none_pending.set()

    async def settled(self) -> None:
        """Return once no request waits for its answer (this listener's own included), or after `patience`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.patience):
                await self._none_pending.wait()
