"""Durable operations: each is a row before it is a call, holds a lease while it runs, and tries again only
when a second request cannot do the thing twice (the retry policy per action, below)."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from bot import background
from bot.providers.errors import Delivery, ProviderError
from bot.store import Lease, Store, StoreUnavailable, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed call is sent again on its own. A request that never left, or that the provider refused
    with 429 (it did nothing), may always be sent again; `resend_unanswered` says whether one that may have
    reached the provider (timeout, reset, 5xx) may be too."""

    attempts: int
    resend_unanswered: bool
    why: str


POLICIES: dict[str, RetryPolicy] = {
    "add": RetryPolicy(3, False, "creates a number: a second request could add or charge twice"),
    "resend": RetryPolicy(3, False, "each request sends an SMS or a call"),
    "verify": RetryPolicy(1, False, "never retried on its own: a code is checked once, by a person's intent"),
    "update": RetryPolicy(3, True, "a PUT of the same values: repeating it changes nothing more"),
}


def may_send_again(action: str, error: ProviderError, attempt: int) -> bool:
    policy = POLICIES[action]
    if attempt >= policy.attempts:
        return False
    if error.delivery == Delivery.NOT_SENT or error.retry_after is not None:
        return True
    return policy.resend_unanswered and error.delivery == Delivery.UNANSWERED


class Leases:
    """This process's operations in flight: their leases are renewed while they run; a stop hands them over."""

    def __init__(self, store: Store, lease: timedelta) -> None:
        self.store = store
        self.lease = lease
        self.owner = f"wa-bot-{uuid.uuid4().hex[:12]}"
        self._held: dict[int, asyncio.Task[object] | None] = {}
        self._renewer: asyncio.Task[None] | None = None

    def new(self) -> Lease:
        return Lease(self.owner, utcnow() + self.lease)

    def hold(self, operation_id: int) -> None:
        self._held[operation_id] = asyncio.current_task()

    def drop(self, operation_id: int) -> None:
        self._held.pop(operation_id, None)

    @property
    def in_flight(self) -> int:
        return len(self._held)

    def holds(self, operation_id: int) -> bool:
        """This process is working on the operation now (its provider call or the recording of its answer)."""
        return operation_id in self._held

    def start(self, crashed: Callable[[str], None] | None = None) -> None:
        self._renewer = background.start("lease renewal", self._renew_forever, crashed)

    async def _renew_forever(self) -> None:
        """Every third of a lease. A renewal the store cannot take is tried again at the next turn: the leases
        may run out meanwhile (another replica then reports the operations interrupted), and the first renewal
        after the outage takes them back, so that a Retry is refused while this process still works on them."""
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.renew(list(self._held), self.new())
            except StoreUnavailable as error:
                log.warning("could not renew %d leases: %s", len(self._held), error)

    async def stop(self, grace_seconds: float) -> None:
        """Wait for operations in flight (their retries included); hand what is left to the sweeper."""
        me = asyncio.current_task()
        tasks = {i: t for i, t in self._held.items() if t is not None and t is not me}
        left: list[int] = [i for i, t in self._held.items() if t is None]
        if tasks:
            log.info("waiting up to %g s for %d operations in flight", grace_seconds, len(tasks))
            _, pending = await asyncio.wait(set(tasks.values()), timeout=grace_seconds)
            left += [i for i, t in tasks.items() if t in pending]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        for operation_id in left:
            try:
                await self.store.release(operation_id)
                log.warning("operation %s handed to the sweeper at stop", operation_id)
            except StoreUnavailable as error:
                log.warning("could not release operation %s: %s", operation_id, error)
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)


async def call_with_policy(action: str, call: Callable[[], Awaitable[T]], backoff_seconds: float) -> T:
    """Call the provider, sending again only as POLICIES[action] allows."""
    attempt = 1
    while True:
        try:
            return await call()
        except ProviderError as error:
            if not may_send_again(action, error, attempt):
                raise
            wait = max(error.retry_after or 0.0, backoff_seconds * 2 ** (attempt - 1))
            log.info("%s: %s; sending again in %.2f s (attempt %d)", action, error.code, wait, attempt + 1)
            await asyncio.sleep(min(wait, 30.0) * random.uniform(0.8, 1.2))
            attempt += 1


async def write_until_stored(write: Callable[[], Awaitable[T]], longest_wait: float = 10.0) -> T:
    """A store write that must not be lost (a provider's answer): tried again, with a backoff that grows to
    `longest_wait` s, for as long as this process lives (a stop cancels it; the lease then hands it over)."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(StoreUnavailable),
        wait=wait_exponential(multiplier=0.2, max=longest_wait),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await write()
    raise AssertionError("unreachable: tenacity re-raises the last error")
