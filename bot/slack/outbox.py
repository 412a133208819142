"""The Slack outbox: every message and edit the bot means to make in a number's thread is recorded in the store,
then delivered, in order within the thread, again and again while Slack cannot be reached (network, 5xx, 429),
and marked delivered as soon as Slack takes it. Items are held by a lease: a replica delivers only its own, and
claims those whose holder stopped (a stop hands them over at once; a crash when the lease runs out).

If the store itself is away when a message is to be recorded, the message is kept in this process's memory only
and delivered from there, retried as long as this process lives: it cannot be made durable then, so a stop or a
crash before Slack takes it loses it (the log says so)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot import background
from bot.lifecycle.events import Requester
from bot.lifecycle.operations import write_until_stored
from bot.slack.identity import TRANSIENT
from bot.store import Lease, OutboxItem, Store, StoreUnavailable, utcnow

log = logging.getLogger(__name__)

PARENT, REPLY, NOTICE, EDIT = "parent", "reply", "notice", "edit"
LONGEST_PAUSE = 30.0  # seconds between two attempts at most, however long Slack stays away
POLL_SECONDS = 5.0  # how often leases are renewed and items another process left are looked for
MASK = "[sandbox code]"  # what the store keeps instead of a sandbox code (derived again at delivery)

Thread = tuple[str, str]  # channel, ts of the parent message


@dataclass(eq=False)
class Item:
    """One message or edit for the thread of number `number_id`; `requester` is who acted (their response_url
    stays in memory: a capability the store does not keep)."""

    number_id: int
    kind: str
    message: dict[str, Any]
    requester: Requester
    secret: str | None = None  # a sandbox code in `message`: the store keeps MASK in its place
    id: int | None = None  # None while (or because) the store could not record it
    claimed: bool = False  # taken over from the store, not recorded by this process
    attempted: asyncio.Event = field(default_factory=asyncio.Event)  # set after the first attempt

    def row(self) -> OutboxItem:
        message = {**self.message, "requester": [self.requester.user_id, self.requester.channel_id]}
        if self.secret:
            message = json.loads(json.dumps(message).replace(self.secret, MASK))
        return OutboxItem(number_id=self.number_id, kind=self.kind, message=message)

    @classmethod
    def of(cls, row: OutboxItem) -> Item:
        message = dict(row.message)
        user_id, channel_id = message.pop("requester")
        return cls(row.number_id, row.kind, message, Requester(user_id, channel_id), id=row.id, claimed=True)


class Unsent(Exception):
    """Slack did not take the item now (unreachable, 5xx, rate limited): try again, after `retry_after` s if set."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after = retry_after


def unsent(error: BaseException) -> Unsent | None:
    """`error` as a reason to try again later, or None when Slack refused for good (or it is a bug)."""
    if isinstance(error, Unsent):
        return error
    if isinstance(error, StoreUnavailable):  # a thread could not be read: the store comes back
        return Unsent(str(error))
    if isinstance(error, aiohttp.ClientError | OSError | TimeoutError):
        return Unsent(type(error).__name__)
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if status == 429:
            after = error.response.headers.get("Retry-After", error.response.headers.get("retry-after"))
            return Unsent(f"HTTP 429 {code}", float(after) if str(after).isdigit() else None)
        if status >= 500 or code in TRANSIENT:
            return Unsent(f"HTTP {status} {code}")
    return None


Deliver = Callable[[Item, Thread | None], Awaitable[Thread | None]]


class Outbox:
    """Records items, then delivers them: one task per thread with items waiting, started as soon as they are
    recorded (a healthy Slack gets them at once), and a supervised loop that renews this process's leases and
    claims what other processes left."""

    def __init__(
        self,
        store: Store,
        deliver: Deliver,
        lease: timedelta,
        first_pause: float = 0.5,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.store = store
        self.deliver = deliver  # raises what unsent() reads as "try again", or returns the thread it knows
        self.lease = lease
        self.first_pause = first_pause
        self.poll_seconds = poll_seconds
        self.owner = f"wa-bot-outbox-{uuid.uuid4().hex[:12]}"
        self.threads: dict[int, Thread] = {}  # the threads this process posted or read, by number
        self._lines: dict[int, deque[Item]] = {}  # what waits, per number, in order
        self._drains: dict[int, asyncio.Task[None]] = {}
        self._writes: set[asyncio.Task[None]] = set()  # marks waiting for the store to come back
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        """Nothing waits to be delivered or written down."""
        return not self._lines and not self._writes

    def _new_lease(self) -> Lease:
        return Lease(self.owner, utcnow() + self.lease)

    async def put(self, *items: Item) -> None:
        """Record `items` (of one thread, in order), then deliver them; from memory if the store is away."""
        rows = [item.row() for item in items]
        try:
            held = await self.store.outbox_add(rows, self._new_lease())
            for item, row in zip(items, rows, strict=True):
                item.id = row.id
        except StoreUnavailable as error:
            log.error(
                "the store could not record %d Slack message(s) for number %s (%s): delivering them from "
                "memory only, lost if this process stops before Slack takes them",
                len(items),
                items[0].number_id,
                error,
            )
            held = True
        if held:
            self._hold(items)
        else:  # another process delivers this thread's earlier items: the loop claims these after them
            self._wake.set()

    def _hold(self, items: tuple[Item, ...] | list[Item]) -> None:
        for item in items:
            self._lines.setdefault(item.number_id, deque()).append(item)
            if item.number_id not in self._drains:
                self._drains[item.number_id] = asyncio.get_running_loop().create_task(
                    self._drain(item.number_id), name=f"wa-bot: outbox of number {item.number_id}"
                )

    async def _drain(self, number_id: int) -> None:
        """Deliver the thread's items one after the other; wait and try again while Slack does not take one."""
        line = self._lines[number_id]
        pause = self.first_pause
        try:
            while line:
                item = line[0]
                try:
                    thread = await self.deliver(item, self.threads.get(number_id))
                except Exception as error:
                    again = unsent(error)
                    if again is None:  # a bug, or a refusal deliver() does not handle: never tried forever
                        log.exception(
                            "the %s for number %s cannot be delivered; dropped", item.kind, number_id
                        )
                        thread = None
                    else:
                        item.attempted.set()
                        wait = again.retry_after if again.retry_after is not None else pause
                        log.warning(
                            "Slack did not take the %s for number %s (%s); trying again in %.2f s",
                            item.kind,
                            number_id,
                            again,
                            wait,
                        )
                        await asyncio.sleep(wait)
                        pause = min(pause * 2, LONGEST_PAUSE)
                        continue
                pause = self.first_pause
                if thread is not None:
                    self.threads[number_id] = thread
                line.popleft()
                await self._delivered(item, thread)
                item.attempted.set()  # after the write: a parent's thread is on the number's row, as before
        finally:
            if not line:
                del self._lines[number_id]
            del self._drains[number_id]

    async def _delivered(self, item: Item, thread: Thread | None) -> None:
        """Write down that Slack took `item` (and a parent's thread, on the number's row) right away; if the store
        is away, as soon as it is back, while the thread goes on from memory."""
        if item.id is None:
            return
        item_id = item.id

        parent = (item.number_id, *thread) if item.kind == PARENT and thread is not None else None

        async def write() -> None:  # a parent's thread goes on the number's row in the same transaction
            await self.store.outbox_delivered(item_id, parent)

        try:
            await write()
        except StoreUnavailable as error:
            log.warning(
                "delivered Slack message %s is written down once the store is back (%s)", item_id, error
            )
            task = asyncio.get_running_loop().create_task(write_until_stored(write))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    # --- the loop: leases and what other processes left ---

    def start(self, crashed: Callable[[str], None] | None = None) -> None:
        self._task = background.start("outbox", self._forever, crashed)

    async def _forever(self) -> None:
        while True:
            try:
                await self.poll()
            except StoreUnavailable as error:
                log.warning("the outbox could not renew or claim: %s", error)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def poll(self) -> int:
        """Renew what this process holds; claim what nobody does. Returns how many items were claimed."""
        held = [item.id for line in self._lines.values() for item in line if item.id is not None]
        await self.store.outbox_renew(held, self._new_lease())
        rows = await self.store.outbox_claim(self._new_lease())
        # Its own items come back too when the store was away past their lease: they are still in their line.
        claimed = [Item.of(row) for row in rows if row.id not in held]
        if claimed:
            log.info("claimed %d undelivered Slack message(s) another process left", len(claimed))
            self._hold(claimed)
        return len(claimed)

    async def close(self, flush_seconds: float) -> None:
        """Give what waits a short, bounded chance to reach Slack, then hand the rest to another replica."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        drains = list(self._drains.values())
        if drains:
            await asyncio.wait(drains, timeout=flush_seconds)
        for task in [*self._drains.values(), *self._writes]:
            task.cancel()
        await asyncio.gather(*self._drains.values(), *self._writes, return_exceptions=True)
        left = [item for line in self._lines.values() for item in line]
        if not left:
            return
        unrecorded = sum(1 for item in left if item.id is None)
        if unrecorded:
            log.error("%d Slack message(s) the store never recorded are lost at this stop", unrecorded)
        try:
            await self.store.outbox_release([item.id for item in left if item.id is not None], self.owner)
        except StoreUnavailable as error:
            log.warning("undelivered Slack messages are handed over when their lease runs out (%s)", error)
        self._lines.clear()
