"""The sweeper: on every replica, finds operations whose process stopped (their lease ran out), reports them as
interrupted in their thread, and moves an add's number out of adding; then resumes the bulk adds whose
process stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot import background
from bot.lifecycle.events import Event, Kind, Requester, Threads
from bot.lifecycle.states import Move, State, to
from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        store: Store,
        threads: Threads,
        interval_seconds: float,
        resume: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.store = store
        self.threads = threads
        self.interval = interval_seconds
        self.resume = resume  # takes over bulk adds whose process stopped
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """One pass; returns how many operations it reported and batches it resumed."""
        swept = await self.store.sweep(to(Move.ADD_UNKNOWN))
        for operation, number in swept:
            log.warning(
                "operation %s (%s of %s) was interrupted", operation.id, operation.action, number.e164
            )
            if operation.batch_id is not None:  # a bulk line: its batch's summary reports it
                continue
            requester = Requester(operation.user_id, number.channel_id or operation.user_id)
            event = Event(
                Kind.INTERRUPTED,
                operation.action,
                operation.user_id,
                awaiting_code=number.state == State.AWAITING_OTP,
                retry_operation_id=operation.id,
            )
            try:
                number = await self.threads.open(number, requester)
                await self.threads.post(number, event, requester)
            except Exception:
                log.exception("could not report interrupted operation %s", operation.id)
        resumed = await self.resume() if self.resume is not None else 0
        return len(swept) + resumed

    def start(self, crashed: Callable[[str], None] | None = None) -> None:
        self._task = background.start("sweeper", self._forever, crashed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _forever(self) -> None:
        while True:
            try:
                while await self.sweep():  # a backlog is swept in batches, without waiting between them
                    pass
            except StoreUnavailable as error:
                log.warning("sweep failed: %s", error)
            await asyncio.sleep(self.interval)
