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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot import background
from bot.lifecycle.events import Requester
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
        # Writes asked for while one is on its way wait for it, then go together in the next transaction: a burst
        # of a hundred replies is a few writes, not a hundred queued for SQLite's one writer.
        self._to_record: list[tuple[list[OutboxItem], asyncio.Future[bool]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._to_mark: dict[int, tuple[int, str, str] | None] = {}  # delivered item → a parent's thread
        self._written: dict[int, asyncio.Event] = {}  # a number whose parent's thread is awaited (written())
        self._marker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        """Nothing waits to be delivered or written down."""
        return not self._lines and not self._to_mark and (self._marker is None or self._marker.done())

    def _new_lease(self) -> Lease:
        return Lease(self.owner, utcnow() + self.lease)

    async def put(self, *items: Item) -> None:
        """Record `items` (of one thread, in order), then deliver them; from memory if the store is away."""
        rows = [item.row() for item in items]
        asked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_record.append((rows, asked))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.get_running_loop().create_task(self._record_asked())
        try:
            held = await asyncio.shield(asked)
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

    async def _record_asked(self) -> None:
        while self._to_record:
            asked, self._to_record = self._to_record, []
            try:
                held = await self.store.outbox_add([rows for rows, _ in asked], self._new_lease())
            except Exception as error:  # each put hears of it (StoreUnavailable: it delivers from memory)
                for _, answer in asked:
                    answer.set_exception(error)
                    answer.exception()  # retrieved here too: a put that was cancelled leaves no warning
                continue
            for (_, answer), one in zip(asked, held, strict=True):
                answer.set_result(one)

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
                self._delivered(item, thread)
        finally:
            if not line:
                del self._lines[number_id]
            del self._drains[number_id]

    def _delivered(self, item: Item, thread: Thread | None) -> None:
        """Write down that Slack took `item` (and a parent's thread, on the number's row) right away, with whatever
        else was delivered meanwhile; if the store is away, as soon as it is back, while the thread goes on from
        memory."""
        if item.id is None:
            return
        self._to_mark[item.id] = (
            (item.number_id, *thread) if item.kind == PARENT and thread is not None else None
        )
        if self._marker is None or self._marker.done():
            self._marker = asyncio.get_running_loop().create_task(self._mark_delivered())

    async def _mark_delivered(self) -> None:
        pause = self.first_pause
        while self._to_mark:
            marks = dict(self._to_mark)
            try:
                await self.store.outbox_delivered(marks)
            except StoreUnavailable as error:
                log.warning(
                    "%d delivered Slack message(s) are written down once the store is back (%s)",
                    len(marks),
                    error,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            for item_id, thread in marks.items():
                del self._to_mark[item_id]
                if thread is not None and thread[0] in self._written:
                    self._written.pop(thread[0]).set()
            pause = self.first_pause

    async def written(self, number_id: int, seconds: float) -> bool:
        """Wait, at most `seconds`, until the number's parent message is posted and its thread written on the
        number's row; False if that did not happen in time (Slack or the store away: the item stays recorded)."""
        if number_id in self.threads and not any(
            thread is not None and thread[0] == number_id for thread in self._to_mark.values()
        ):
            return True
        event = self._written.setdefault(number_id, asyncio.Event())
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            if not event.is_set() and self._written.get(number_id) is event:
                del self._written[number_id]

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
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: no task of its own, as wait_for makes
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + flush_seconds
        drains = list(self._drains.values())
        if drains:
            await asyncio.wait(drains, timeout=flush_seconds)
        for task in self._drains.values():
            task.cancel()
        await asyncio.gather(*self._drains.values(), return_exceptions=True)
        if self._marker is not None:  # what Slack took must be marked, or another replica would send it again
            await asyncio.wait([self._marker], timeout=max(deadline - loop.time(), 0.5))
            self._marker.cancel()
            await asyncio.gather(self._marker, return_exceptions=True)
        if self._to_mark:
            log.error(
                "%d Slack message(s) were delivered but not marked: they may be sent again",
                len(self._to_mark),
            )
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
