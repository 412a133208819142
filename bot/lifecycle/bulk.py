"""Bulk add: many adds as one batch. Each line is an ordinary add operation (intent `batch:<id>:<line>`), run
with bounded concurrency and paced so that no one-second window holds more than the batch's rate of provider
calls; one message shows the batch's progress. The batch is a row with a lease: a replica that stops hands it
over, and whichever replica sweeps next runs the lines that have no operation yet, so none is sent twice."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiolimiter import AsyncLimiter

from bot import background
from bot.lifecycle.events import Requester
from bot.lifecycle.operations import Leases
from bot.lifecycle.states import State
from bot.lifecycle.usecases import ALREADY_LIVE, BatchLine, Numbers
from bot.metrics import Metrics
from bot.providers.sandbox import Sandbox, otp_of
from bot.store import (
    Batch,
    BatchLost,
    DuplicateBatch,
    Lease,
    Operation,
    Outcome,
    Store,
    StoreUnavailable,
    utcnow,
)

log = logging.getLogger(__name__)

MAX_LINES = 500
CONCURRENCY = 10  # provider calls in flight at once, per batch
# Calls are spaced 1/rate apart, stretched by this much: one call delayed on its way and the next not could
# otherwise fall inside one second as the provider sees them (the margin is 80 ms per second of calls). A limiter
# that let a second's worth through at once would put a burst and the next second's first calls in one window.
SPACING_MARGIN = 1.08
# A line whose operation the store could not write (it is away) is started again after this pause, doubled up to
# the longest: a short outage delays the batch rather than leaving lines unsent.
STORE_PAUSE = 0.2
LONGEST_STORE_PAUSE = 10.0
# Codes that say a line cannot succeed when sent again as it is.
HOPELESS = {ALREADY_LIVE}


@dataclass(frozen=True)
class Line:
    """One checked line of a bulk add: where it was pasted, its number, and the add request to send."""

    line: int
    e164: str
    request: dict[str, Any]
    retry_of: int | None = None  # the operation a Retry failed runs again

    def dump(self) -> dict[str, Any]:
        return {"line": self.line, "e164": self.e164, "request": self.request, "retry_of": self.retry_of}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Line:
        return cls(int(stored["line"]), str(stored["e164"]), dict(stored["request"]), stored.get("retry_of"))


@dataclass(frozen=True)
class Failure:
    """A line that did not end added: its provider's code and message, and whether a retry may succeed."""

    line: Line
    code: str
    message: str
    outcome: str  # failed, unknown, interrupted, or "not_sent"
    operation_id: int | None
    retryable: bool


@dataclass
class Progress:
    """Where a batch stands, read from its lines' operations."""

    batch_id: int
    account: str
    total: int
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    elapsed: float = 0.0
    failures: list[Failure] = field(default_factory=list)  # read in full once the batch is finished
    finished: bool = False
    # The sandbox only: each number awaiting a code → the code that works.
    sandbox_codes: dict[str, str] = field(default_factory=dict)

    @property
    def left(self) -> int:
        return self.total - self.done - self.failed

    @property
    def time_left(self) -> float | None:
        """Seconds, at the pace so far; None before the first line ends."""
        ended = self.done + self.failed
        return self.elapsed / ended * self.left if ended else None


class Board(Protocol):
    """Where a batch shows (implemented for Slack in bot/slack/batches.py): one message, edited in place."""

    async def begin(self, batch: Batch, skipped: list[Failure]) -> str | None: ...
    async def show(self, batch: Batch, progress: Progress) -> None: ...
    async def end(self, batch: Batch, progress: Progress) -> None: ...


class Bulk:
    def __init__(
        self,
        numbers: Numbers,
        store: Store,
        leases: Leases,
        board: Board,
        metrics: Metrics,
        rate_per_second: float,
        concurrency: int = CONCURRENCY,
        tick_seconds: float = 1.0,
    ) -> None:
        self.numbers = numbers
        self.store = store
        self.leases = leases
        self.board = board
        self.metrics = metrics
        self.rate = rate_per_second
        self.concurrency = concurrency
        self.tick = tick_seconds
        self.running: dict[int, asyncio.Task[None]] = {}
        self._shown_at: dict[int, float] = {}  # when each batch's message was last edited (loop time)
        self._stopping = False

    def _lease(self) -> Lease:
        return self.leases.new()

    async def submit(
        self, account: str, lines: list[Line], requester: Requester, intent: str
    ) -> Batch | None:
        """The batch, recorded before anything is sent; None when this submission already has its batch."""
        return await self._create(account, lines, requester, intent, thread_ts=None, retry_of=None)

    def launch(self, batch: Batch, skipped: list[Failure] | None = None) -> None:
        """Run the batch in the background of this process (the acknowledgement has gone already)."""
        if batch.id in self.running or self._stopping:
            return
        task = asyncio.get_running_loop().create_task(self._run(batch, skipped or []))
        self.running[batch.id] = task
        task.add_done_callback(lambda _: self.running.pop(batch.id, None))

    async def resume(self) -> int:
        """Take over the batches whose process stopped; how many."""
        if self._stopping:
            return 0
        claimed = await self.store.claim_batches(self._lease())
        for batch in claimed:
            log.warning("resuming bulk add %s", batch.id)
            self.launch(batch)
        return len(claimed)

    async def retry_failed(self, batch_id: int, requester: Requester, intent: str) -> str | None:
        """Run again the failed lines that may succeed, as a new batch in the same thread; what to tell the
        person (which lines are skipped and why), or None when nothing more needs saying."""
        batch = await self.store.batch(batch_id)
        if batch is None:
            return "wa-bot has no record of that bulk add."
        if batch.finished_at is None:
            return f"Bulk add #{batch.id} is still running: wait for its summary."
        progress = await self.progress(batch)
        again = [f for f in progress.failures if f.retryable]
        skipped = [f for f in progress.failures if not f.retryable]
        if not again:
            return f"Nothing to retry in bulk add #{batch.id}: " + (
                f"none of its {len(skipped)} failures can succeed when sent again as it is."
                if skipped
                else "every line was added."
            )
        lines = [Line(f.line.line, f.line.e164, f.line.request, retry_of=f.operation_id) for f in again]
        retry = await self._create(
            batch.account, lines, requester, intent, thread_ts=batch.message_ts, retry_of=batch.id,
            channel_id=batch.channel_id,
        )  # fmt: skip
        if retry is None:
            return f"This Retry failed of bulk add #{batch.id} was already received; it is not run twice."
        self.launch(retry, skipped)
        return None

    async def counts(self, batch: Batch) -> Progress:
        """Where a running batch stands: counts only (one small query, as often as the bar is drawn)."""
        outcomes = await self.store.batch_outcomes(batch.id)
        progress = Progress(batch.id, batch.account, total=len(batch.lines))
        progress.elapsed = max(0.0, (utcnow() - batch.requested_at).total_seconds())
        progress.done = outcomes.pop(Outcome.OK, 0)
        progress.in_flight = outcomes.pop(Outcome.PENDING, 0)
        progress.failed = sum(outcomes.values())
        return progress

    async def progress(self, batch: Batch) -> Progress:
        """Where a batch stands, every failure included."""
        operations = await self.store.batch_operations(batch.id)
        progress = Progress(batch.id, batch.account, total=len(batch.lines))
        progress.elapsed = max(0.0, (utcnow() - batch.requested_at).total_seconds())
        progress.finished = batch.finished_at is not None
        for stored in batch.lines:
            line = Line.of(stored)
            operation = operations.get(line.line)
            if operation is None:
                if progress.finished:  # never sent: wa-bot failed before the provider was asked
                    progress.failures.append(
                        Failure(line, "NOT_SENT", "wa-bot did not send it", "not_sent", None, True)
                    )
            elif operation.outcome == Outcome.OK:
                progress.done += 1
            elif operation.outcome == Outcome.PENDING:
                progress.in_flight += 1
            else:
                progress.failures.append(_failure(line, operation))
        progress.failed = len(progress.failures)
        return progress

    def halt(self) -> None:
        """Start no more lines: the first step of a stop, before anything is waited for."""
        self._stopping = True

    async def stop(self, grace_seconds: float) -> None:
        """Start no more lines; let those in flight finish; leave the rest to whichever replica sweeps next."""
        self.halt()
        tasks = list(self.running.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)

    # --- running a batch ---

    async def _create(
        self,
        account: str,
        lines: list[Line],
        requester: Requester,
        intent: str,
        thread_ts: str | None,
        retry_of: int | None,
        channel_id: str | None = None,
    ) -> Batch | None:
        lease = self._lease()
        batch = Batch(
            intent=intent,
            account=account,
            user_id=requester.user_id,
            channel_id=channel_id or requester.channel_id,
            thread_ts=thread_ts,
            lines=[line.dump() for line in lines],
            retry_of=retry_of,
            requested_at=utcnow(),
            lease_owner=lease.owner,
            lease_until=lease.until,
        )
        try:
            return await self.store.create_batch(batch)
        except DuplicateBatch as duplicate:
            log.info("intent %s already has bulk add %s", intent, duplicate.batch.id)
            return None

    async def _run(self, batch: Batch, skipped: list[Failure]) -> None:
        self.metrics.batches_running.inc()
        # Set once another replica holds the batch: this one starts no more lines, edits nothing, sums up nothing.
        lost = asyncio.Event()
        keeper = background.start(
            "bulk add lease",  # one label for every batch in /metrics; the keeper's lines name the batch
            lambda: self._keep(batch.id, lost),
            self.metrics.background_crashed,
        )
        reporter: asyncio.Task[None] | None = None
        finished = False
        try:
            if batch.message_ts is None:
                batch.message_ts = await self.board.begin(batch, skipped)
                if batch.message_ts is not None:
                    await self.store.batch_change(batch.id, message_ts=batch.message_ts)
            reporter = asyncio.get_running_loop().create_task(self._report(batch, lost))
            sent = await self.store.batch_operations(batch.id)
            todo = [Line.of(stored) for stored in batch.lines if int(stored["line"]) not in sent]
            await self._send(batch, todo, lost)
            if self._stopping or lost.is_set():
                return
            # Lines a stopped process had sent stay in flight until the sweeper calls them interrupted.
            await self._settled(batch, lost)
            if lost.is_set():
                return
            reporter.cancel()
            keeper.cancel()
            batch.finished_at = utcnow()
            # One conditional update ends the batch; only the replica whose update won posts the summary.
            if not await self.store.finish_batch(batch.id, self.leases.owner, batch.finished_at):
                log.warning("bulk add %s was taken over by another replica; its summary is theirs", batch.id)
                lost.set()
                return
            finished = True
            progress = await self.progress(batch)
            progress.sandbox_codes = await self._sandbox_codes(batch)
            await self.board.end(batch, progress)  # the summary, at once
            await self._after_tick(batch.id)  # the last edit of the bar keeps Slack's pace
            await self.board.show(batch, progress)
        except Exception:
            log.exception("bulk add %s stopped on an error; another pass will resume it", batch.id)
        finally:
            self._shown_at.pop(batch.id, None)
            self.metrics.batches_running.dec()
            keeper.cancel()
            if reporter is not None:
                reporter.cancel()
            if not finished and not lost.is_set():
                await self._release(batch.id)

    async def _send(self, batch: Batch, lines: list[Line], lost: asyncio.Event) -> None:
        account = self.numbers.accounts.get(batch.account)
        if account is None:
            log.error("bulk add %s: account %s is no longer configured", batch.id, batch.account)
            return
        # Two limiters of one slot each (no burst): one admits a line before its operation is written, so a stop
        # leaves no line written but unsent; the other spaces the calls themselves, retries included, so the
        # store's own pace between the two cannot bunch them up.
        admit = AsyncLimiter(1, SPACING_MARGIN / self.rate)
        pace = AsyncLimiter(1, SPACING_MARGIN / self.rate)
        slots = asyncio.Semaphore(self.concurrency)
        requester = Requester(batch.user_id, batch.channel_id)

        async def one(line: Line) -> None:
            # A slot is held from before the operation is written until the provider has answered: at most
            # `concurrency` calls in flight, and the writing down of an answer overlaps the next line's call.
            await slots.acquire()
            held = True

            def answered() -> None:
                nonlocal held
                if held:
                    held = False
                    slots.release()

            try:
                await admit.acquire()
                request = self.numbers.add_request(account, line.request)
                pause = STORE_PAUSE
                while not (self._stopping or lost.is_set()):
                    try:
                        await self.numbers.add(
                            batch.account,
                            request,
                            requester,
                            f"batch:{batch.id}:{line.line}",
                            retry_of=line.retry_of,
                            batch=BatchLine(batch.id, line.line, pace, answered),
                        )
                        break
                    except (
                        StoreUnavailable
                    ) as error:  # the line's operation was not written: nothing was sent
                        log.warning(
                            "bulk add %s: line %s waits for the store (%s)", batch.id, line.line, error
                        )
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, LONGEST_STORE_PAUSE)
            except BatchLost:  # the store refused to start the line: another replica runs the batch now
                if not lost.is_set():
                    log.warning("bulk add %s was taken over by another replica; stopping it here", batch.id)
                lost.set()
            except Exception:  # the summary shows it as not sent, and Retry failed runs it again
                log.exception("bulk add %s: line %s was not sent", batch.id, line.line)
            finally:
                answered()

        await asyncio.gather(*(one(line) for line in lines))

    async def _settled(self, batch: Batch, lost: asyncio.Event) -> None:
        """Until no line is in flight (polled: the sweeper that settles them may run on another replica), or
        the batch is lost."""
        while not lost.is_set():
            if not (await self.counts(batch)).in_flight:
                return
            await asyncio.sleep(self.tick)

    async def _report(self, batch: Batch, lost: asyncio.Event) -> None:
        """Edit the batch's message when its counts change, at most once per tick (Slack's chat.update pace),
        until the batch is lost (the replica that took it over edits it then)."""
        shown: tuple[int, int, int] | None = None
        while True:
            await asyncio.sleep(self.tick)
            if lost.is_set():
                return
            try:
                progress = await self.counts(batch)
                counts = (progress.done, progress.failed, progress.in_flight)
                if counts != shown:
                    await self._after_tick(batch.id)
                    self._shown_at[batch.id] = asyncio.get_running_loop().time()
                    await self.board.show(batch, progress)
                    shown = counts
            except Exception as error:
                log.warning("bulk add %s: progress not shown (%s)", batch.id, type(error).__name__)

    async def _sandbox_codes(self, batch: Batch) -> dict[str, str]:
        """In the sandbox, the code that works for each number the batch left awaiting one (as a single add's
        thread shows it); elsewhere nothing: a real code comes only by SMS or voice call."""
        account = self.numbers.accounts.get(batch.account)
        if account is None or not isinstance(self.numbers.providers.of(account), Sandbox):
            return {}
        e164s = [str(line["e164"]) for line in batch.lines]
        waiting = await self.store.live_among(batch.account, e164s, {State.AWAITING_OTP})
        return {n.e164: otp_of(n.phone_number_id) for n in waiting if n.phone_number_id}

    async def _after_tick(self, batch_id: int) -> None:
        """Wait until a tick has passed since the batch's message was last edited."""
        shown_at = self._shown_at.get(batch_id)
        if shown_at is not None:
            await asyncio.sleep(max(0.0, shown_at + self.tick - asyncio.get_running_loop().time()))

    async def _keep(self, batch_id: int, lost: asyncio.Event) -> None:
        """Renew the batch's lease while it runs, as Leases does for operations; once another replica holds it,
        say so (`lost`) and renew no more. A renewal the store cannot take is tried again at the next turn."""
        interval = self.leases.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if lost.is_set():
                continue  # the batch's task is winding down and cancels this loop
            try:
                if not await self.store.renew_batch(batch_id, self._lease()):
                    log.warning("bulk add %s was taken over by another replica; stopping it here", batch_id)
                    lost.set()
            except StoreUnavailable as error:
                log.warning("could not renew bulk add %s: %s", batch_id, error)

    async def _release(self, batch_id: int) -> None:
        try:
            await self.store.release_batch(batch_id, self.leases.owner)
            log.warning("bulk add %s handed to whichever replica sweeps next", batch_id)
        except StoreUnavailable as error:
            log.warning("could not release bulk add %s: %s", batch_id, error)


def _failure(line: Line, operation: Operation) -> Failure:
    code = operation.provider_code or operation.outcome.upper()
    if operation.outcome in (Outcome.UNKNOWN, Outcome.INTERRUPTED):
        message = operation.provider_message or "no answer came: the number may or may not have been added"
        return Failure(line, code, message, operation.outcome, operation.id, True)
    response = operation.response or {}
    retryable = code not in HOPELESS and (bool(response.get("retryable")) or code == "BOT_ERROR")
    return Failure(line, code, operation.provider_message or "", operation.outcome, operation.id, retryable)
