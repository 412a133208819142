"""The store's queries: every write that decides something is one conditional statement the database can refuse."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import aliased

from bot.store.models import (
    Batch,
    Number,
    Operation,
    OutboxItem,
    Outcome,
    SandboxNumber,
    StoreUse,
    utcnow,
)
from bot.store.schema import (
    Schema,
    current_revision_of,
    head_revision,
    schema_of,
    upgrade,
)

# Operations written before leases existed count as expired this long after they were asked for.
UNLEASED_GRACE = timedelta(minutes=2)


class StoreUnavailable(Exception):
    """The store could not do what was asked: the database is away (a failover, a network blip, a full disk…).

    The one error the store raises for that, whatever the driver threw (asyncpg and aiosqlite raise OSErrors,
    timeouts and their own errors, SQLAlchemy wraps some): callers that promise to keep going catch this. Its
    text names the cause's type only, never the URL or a statement's values."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"the store is unavailable ({type(cause).__name__})")
        self.cause = cause


# What a driver may throw when the database is not there; an IntegrityError is an answer, not an absence.
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
)


@contextmanager
def _unavailable_as_store_error() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise
    except _UNAVAILABLE as error:
        raise StoreUnavailable(error) from error


def _engine_options(url: str) -> dict[str, Any]:
    """SQLite waits for a writer rather than failing at once. A server's connections are pinged when taken from
    the pool (one that went stale after a restart is replaced); a SQLite file's cannot go stale, so a ping
    would only be one more round trip in every transaction."""
    return {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {"pool_pre_ping": True}


class StoreServesOther(Exception):
    """The store serves the other use (live numbers or the sandbox's) than this start: it is refused.

    Sharing one store would show the sandbox's fake numbers in live lists, the Home and the audit, and a sandbox
    record would block the real add of the same number."""

    def __init__(self, store_sandbox: bool, since: datetime) -> None:
        day = since.date().isoformat()
        if store_sandbox:
            told = (
                f"DATABASE_URL: this store serves the sandbox (since {day}) and live use never shares one with "
                "it: point DATABASE_URL at the live store (unset, it is wa-bot.db)"
            )
        else:
            told = (
                f"DATABASE_URL: this store serves live numbers (since {day}) and the sandbox never writes in "
                "one: point DATABASE_URL at another store for the sandbox (unset, it is wa-bot-sandbox.db)"
            )
        super().__init__(told)
        self.store_sandbox = store_sandbox


class DuplicateIntent(Exception):
    """This intent (a submission, a click, a delivery) already has its operation: nothing more is done."""

    def __init__(self, operation: Operation) -> None:
        super().__init__(f"operation {operation.id} already holds this intent")
        self.operation = operation


class DuplicateBatch(Exception):
    """This submission (or Retry failed click) already has its batch: nothing more is done."""

    def __init__(self, batch: Batch) -> None:
        super().__init__(f"batch {batch.id} already holds this intent")
        self.batch = batch


class BatchLost(Exception):
    """The batch is no longer leased to this process (another replica took it over, or it ended): a line of it
    is not started here."""

    def __init__(self, batch_id: int) -> None:
        super().__init__(f"bulk add {batch_id} is no longer leased to this process")
        self.batch_id = batch_id


class MoveRefused(Exception):
    """The number's state does not allow the move: the store changed nothing."""

    def __init__(self, number: Number) -> None:
        super().__init__(f"number {number.id} is {number.state}")
        self.number = number


@dataclass(frozen=True)
class Transition:
    """A conditional write: only from a state in `sources` (any state when empty), to `target` (the state
    stays when None), with other columns set on the way."""

    sources: Collection[str]
    target: str | None
    fields: dict[str, Any]
    profile: dict[str, Any] = field(default_factory=dict)  # merged into the stored profile, key by key
    otp_cooldown: timedelta | None = None  # only if no code was asked for within it (and now is noted)


@dataclass(frozen=True)
class Finished:
    """What `Store.finish` did: the number as it now is, the operation's outcome before, and whether the answer
    was written (False when the operation had already finished: nothing was changed)."""

    number: Number | None
    was: str | None
    recorded: bool


@dataclass(frozen=True)
class AuditRow:
    """One operation as the audit export shows it: who did what to which number, when, and the outcome."""

    requested_at: datetime
    finished_at: datetime | None
    user_id: str
    action: str
    phone_number: str
    account: str
    outcome: str
    provider_code: str | None
    provider_message: str | None


@dataclass(frozen=True)
class Lease:
    owner: str
    until: datetime


class Store:
    """One small interface over SQLite and PostgreSQL; returned rows are plain, detached objects."""

    def __init__(self, url: str) -> None:
        # As many connections as SQLAlchemy's default allows at most (5 + 10 overflow), but all kept: overflow
        # connections are closed when returned, so every burst of adds opened and closed ten of them again.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=15, max_overflow=0, **_engine_options(url)
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # What a listener reads before it acknowledges Slack goes through connections of its own: a burst of
        # background work (a hundred adds recording their answers) never keeps an acknowledgement waiting.
        # Kept open (no overflow: a burst queues for them rather than opening and closing connections), in
        # autocommit and not pinged: a read is one round trip, its statement (_read_numbers reconnects instead).
        self._listener_reads: AsyncEngine = create_async_engine(
            url,
            pool_size=10,
            max_overflow=0,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,  # autocommit: no transaction to roll back when a read is done
            **{**_engine_options(url), "pool_pre_ping": False},
        )
        self._finds: dict[tuple[str, str], asyncio.Future[Number | None]] = {}  # see find()
        self._finder: asyncio.Task[None] | None = None
        # SQLite lets one writer in at a time. This process's writers take turns here, in asyncio, rather than
        # in SQLite's busy handler, where each would sleep holding a pooled connection that readers (the reads
        # before an acknowledgement) then wait for. PostgreSQL locks rows, not the database: no turns.
        self._write_turn: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if url.startswith("sqlite") else nullcontext()
        )

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that writes, committed at the end (rolled back on an exception).
        Raises StoreUnavailable when the database is away."""
        with _unavailable_as_store_error():
            async with self._write_turn, self._sessions.begin() as session:
                yield session

    @asynccontextmanager
    async def _writing_rows(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that writes plain rows, no ORM (the outbox's many small writes)."""
        with _unavailable_as_store_error():
            async with self._write_turn, self.engine.begin() as connection:
                yield connection

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads. Raises StoreUnavailable when the database is away."""
        with _unavailable_as_store_error():
            async with self._sessions() as session:
                yield session

    async def migrate(self) -> str:
        """Bring the schema to this code's head revision (an empty store too); the revision reached."""
        async with self.engine.begin() as connection:
            return await connection.run_sync(upgrade)

    async def current_revision(self) -> str | None:
        """The store's schema revision; None before the first migrate()."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(current_revision_of)

    async def schema(self) -> Schema:
        """Where the store's schema stands (reads only: `wa-bot check` never migrates)."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(schema_of)

    async def claim(self, sandbox: bool) -> None:
        """Serve live numbers, or the sandbox's: the first start on a store decides, and a start of the other
        use is refused with StoreServesOther. Two first starts at once: one insert wins, the other reads it."""
        for _ in range(2):
            try:
                async with self.engine.begin() as connection:
                    use = (await connection.execute(select(StoreUse.sandbox, StoreUse.since))).first()
                    if use is None:
                        await connection.execute(
                            insert(StoreUse).values(id=1, sandbox=sandbox, since=utcnow())
                        )
                        return
            except IntegrityError:
                continue
            if use.sandbox != sandbox:
                raise StoreServesOther(use.sandbox, use.since)
            return

    async def use(self) -> tuple[bool, datetime] | None:
        """(serves the sandbox, since when); None while no start has claimed it (or before 0008_store_use)."""
        async with self.engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table("store_use")):
                return None
            use = (await connection.execute(select(StoreUse.sandbox, StoreUse.since))).first()
        return None if use is None else (use.sandbox, use.since)

    @staticmethod
    def head_revision() -> str:
        return head_revision()

    async def close(self) -> None:
        if self._finder is not None and not self._finder.done():
            await asyncio.wait([self._finder])  # the numbers asked for are answered first
        await self._listener_reads.dispose()
        await self.engine.dispose()

    async def ping(self) -> None:
        with _unavailable_as_store_error():
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

    # --- reads ---

    async def number(self, number_id: int) -> Number | None:
        async with self._reading() as session:
            return await session.get(Number, number_id)

    async def find(self, account: str, e164: str) -> Number | None:
        """The number on `account`, if the store has it.

        A listener asks this before it acknowledges. What is asked while one such query is on its way waits for
        it, then goes in the next one, together: a burst of a hundred submissions is a few queries, not a
        hundred queued for connections.
        """
        loop = asyncio.get_running_loop()
        answer = self._finds.get((account, e164))
        if answer is None:
            answer = self._finds[(account, e164)] = loop.create_future()
            answer.add_done_callback(_retrieved)  # a caller that gave up (timed out) leaves no error unread
        if self._finder is None or self._finder.done():
            self._finder = loop.create_task(self._find_asked())
        return await asyncio.shield(answer)  # one caller giving up never cancels the others' answer

    async def _find_asked(self) -> None:
        while self._finds:
            asked, self._finds = self._finds, {}
            try:
                found = await self._read_numbers(tuple_(Number.account, Number.e164).in_(list(asked)))
            except BaseException as error:  # each asker hears of it; a cancelled search cancels the answers
                if not isinstance(error, Exception):
                    for answer in asked.values():
                        answer.cancel()
                    raise
                for answer in asked.values():
                    answer.set_exception(error)
                continue
            numbers = {(number.account, number.e164): number for number in found}
            for key, answer in asked.items():
                answer.set_result(numbers.get(key))

    async def numbers_with(self, e164: str) -> list[Number]:
        return await self._read_numbers(Number.e164 == e164)

    async def _read_numbers(self, *conditions: ColumnElement[bool]) -> list[Number]:
        """Numbers a listener reads before it acknowledges: one plain query on the listeners' connections.

        Those connections are not pinged before each use: one that went stale (the server restarted) fails its
        query, is replaced, and the query is sent once more on a new one, as a ping would have done.
        """
        query = select(*Number.__table__.columns).where(*conditions).order_by(Number.id)
        for attempt in (1, 2):
            try:
                with _unavailable_as_store_error():
                    async with self._listener_reads.connect() as connection:
                        return [Number(**row._mapping) for row in await connection.execute(query)]
            except StoreUnavailable as error:
                stale = isinstance(error.cause, DBAPIError) and error.cause.connection_invalidated
                if attempt == 2 or not stale:
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def numbers(self, limit: int) -> tuple[list[Number], int]:
        """The most recently changed numbers, and how many there are in all."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(Number)
                .where(Number.state != "new")
                .order_by(Number.updated_at.desc(), Number.id.desc())
                .limit(limit)
            )
            total = await session.scalar(
                select(func.count()).select_from(Number).where(Number.state != "new")
            )
            return list(rows), int(total or 0)

    async def numbers_by_state(self, order: Sequence[str], limit: int) -> tuple[list[Number], dict[str, int]]:
        """At most `limit` numbers, those in `order`'s first states first (then the most recently changed), and
        how many numbers each state holds."""
        rank = case({state: index for index, state in enumerate(order)}, value=Number.state, else_=len(order))
        async with self._reading() as session:
            rows = await session.scalars(
                select(Number)
                .where(Number.state != "new")
                .order_by(rank, Number.updated_at.desc(), Number.id.desc())
                .limit(limit)
            )
            counts = await session.execute(
                select(Number.state, func.count()).where(Number.state != "new").group_by(Number.state)
            )
            return list(rows), {state: int(count) for state, count in counts.all()}

    async def operation(self, operation_id: int) -> Operation | None:
        async with self._reading() as session:
            return await session.get(Operation, operation_id)

    async def history(self, number_id: int, limit: int = 20) -> list[Operation]:
        async with self._reading() as session:
            rows = await session.scalars(
                select(Operation)
                .where(Operation.number_id == number_id)
                .order_by(Operation.requested_at.desc(), Operation.id.desc())
                .limit(limit)
            )
            return list(rows)

    async def audit(self, since: datetime, batch_size: int = 500) -> AsyncGenerator[list[AuditRow], None]:
        """The operations requested at or after `since` (naive UTC), oldest first, in batches of `batch_size`.

        One streamed query (a server-side cursor on PostgreSQL): only a batch at a time is in memory. Close the
        iterator (`contextlib.aclosing`) when stopping early, so the connection goes back to the pool.
        """
        query = (
            select(
                Operation.requested_at,
                Operation.finished_at,
                Operation.user_id,
                Operation.action,
                Number.e164,
                Number.account,
                Operation.outcome,
                Operation.provider_code,
                Operation.provider_message,
            )
            .join(Number, Number.id == Operation.number_id)
            .where(Operation.requested_at >= since)
            .order_by(Operation.requested_at, Operation.id)
            .execution_options(yield_per=batch_size)
        )
        with _unavailable_as_store_error():
            async with self.engine.connect() as connection:
                result = await connection.stream(query)
                async for partition in result.partitions(batch_size):
                    yield [AuditRow(*row) for row in partition]

    # --- writes ---

    async def start(
        self,
        *,
        account: str,
        e164: str,
        user_id: str,
        channel_id: str,
        intent: str | None,
        action: str,
        request: dict[str, Any],
        lease: Lease,
        transition: Transition | None = None,
        retry_of: int | None = None,
        batch_id: int | None = None,
        batch_line: int | None = None,
    ) -> tuple[Number, Operation]:
        """In one transaction: the number's row (created if new), the operation for `intent`, and `transition`.

        Raises DuplicateIntent when the intent already has an operation, MoveRefused when the number's state
        does not allow `transition`, BatchLost when `batch_id` is given and that batch is no longer leased to
        `lease.owner`; in each case nothing is written.
        """
        try:
            async with self._writing() as session:
                if batch_id is not None:
                    # A line starts only while its batch is this process's, checked in the line's own
                    # transaction: the batch's row stays locked until the operation is written, so a takeover
                    # happens wholly before (the line is not started) or after (it finds the line started).
                    if not await self._renew_batch(session, batch_id, lease):
                        raise BatchLost(batch_id)
                number_id: int = (
                    await session.execute(self._insert_number(account, e164, user_id, channel_id))
                ).scalar_one()
                operation = Operation(
                    number_id=number_id,
                    intent=intent,
                    user_id=user_id,
                    action=action,
                    request=request,
                    lease_owner=lease.owner,
                    lease_until=lease.until,
                    retry_of=retry_of,
                    batch_id=batch_id,
                    batch_line=batch_line,
                )
                session.add(operation)
                await session.flush()
                moved = await self._apply(session, number_id, transition, last_user_id=user_id)
                if moved is None:
                    number = await session.get(Number, number_id)
                    assert number is not None
                    raise MoveRefused(_copy(number))  # the rollback would expire the loaded row
                return moved, operation
        except IntegrityError:
            existing = await self._operation_of(intent)
            if existing is None:
                raise
            raise DuplicateIntent(existing) from None

    async def record_refused(
        self,
        number_id: int,
        *,
        intent: str | None,
        user_id: str,
        action: str,
        code: str,
        message: str,
        batch_id: int | None = None,
        batch_line: int | None = None,
    ) -> None:
        """An operation that was refused before any provider call (a bulk line whose number turned live)."""
        now = utcnow()
        try:
            async with self._writing() as session:
                session.add(
                    Operation(
                        number_id=number_id,
                        intent=intent,
                        user_id=user_id,
                        action=action,
                        request={},
                        outcome=Outcome.FAILED,
                        provider_code=code,
                        provider_message=message,
                        requested_at=now,
                        finished_at=now,
                        batch_id=batch_id,
                        batch_line=batch_line,
                    )
                )
        except IntegrityError:
            pass  # the intent already has its operation: that one is the record

    async def move(self, number_id: int, transition: Transition) -> Number | None:
        """Apply `transition` if the number's state allows it; None (and nothing written) if not."""
        async with self._writing() as session:
            return await self._apply(session, number_id, transition)

    async def change(self, number_id: int, **changes: Any) -> Number:
        """Columns that are not the state: the thread, the profile, the phone number ID's confirmation."""
        assert "state" not in changes, "states change only through a Transition"
        async with self._writing() as session:
            number: Number | None = await session.scalar(
                update(Number).where(Number.id == number_id).values(**changes).returning(Number)
            )
            if number is None:
                raise LookupError(f"no number {number_id}")
            return number

    async def finish(
        self,
        operation_id: int,
        outcome: Outcome,
        *,
        code: str | None = None,
        message: str | None = None,
        response: dict[str, Any] | None = None,
        number_id: int | None = None,
        transition: Transition | None = None,
    ) -> Finished:
        """Record the provider's answer and, in the same transaction, move the number accordingly.

        Only over an operation still pending, or one the sweeper reported interrupted (a late answer is still
        the truth): a finished outcome is never overwritten, and then nothing is written (`recorded` False).
        """
        values = {
            "outcome": outcome,
            "provider_code": code,
            "provider_message": message,
            "response": response,
            "finished_at": utcnow(),
            "lease_owner": None,
            "lease_until": None,
        }
        async with self._writing() as session:
            # Over a pending operation (nearly always: one statement), else over an interrupted one.
            was: str | None = None
            for unfinished in (Outcome.PENDING, Outcome.INTERRUPTED):
                written = await session.scalar(
                    update(Operation)
                    .where(Operation.id == operation_id, Operation.outcome == unfinished)
                    .values(**values)
                    .returning(Operation.id)
                )
                if written is not None:
                    was = unfinished
                    break
            if was is None:
                ended = await session.scalar(select(Operation.outcome).where(Operation.id == operation_id))
                number = await session.get(Number, number_id) if number_id is not None else None
                return Finished(number, ended, recorded=False)
            if number_id is None:
                return Finished(None, was, recorded=True)
            moved = await self._apply(session, number_id, transition)
            return Finished(moved or await session.get(Number, number_id), was, recorded=True)

    async def renew(self, operation_ids: Sequence[int], lease: Lease) -> None:
        """Keep this process's operations from looking abandoned. One the sweeper reported interrupted while
        this process could not renew (the store was away) is claimed again: its process still works on it, so
        a Retry is refused until its answer is recorded."""
        if not operation_ids:
            return
        async with self._writing() as session:
            await session.execute(
                update(Operation)
                .where(
                    Operation.id.in_(operation_ids),
                    Operation.outcome.in_([Outcome.PENDING, Outcome.INTERRUPTED]),
                    Operation.lease_owner == lease.owner,
                )
                .values(lease_until=lease.until)
            )

    async def release(self, operation_id: int) -> None:
        """Hand an unfinished operation to the sweeper now (at a stop), rather than when its lease runs out."""
        async with self._writing() as session:
            await session.execute(
                update(Operation)
                .where(Operation.id == operation_id, Operation.outcome == Outcome.PENDING)
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )

    async def sweep(self, unknown: Transition, limit: int = 50) -> list[tuple[Operation, Number]]:
        """Operations whose lease ran out: each marked interrupted by exactly one replica, its add's number
        moved out of adding by `unknown`, in one transaction. Locked rows are another replica's: skipped."""
        now = utcnow()
        expired = or_(
            Operation.lease_until < now,
            and_(Operation.lease_until.is_(None), Operation.requested_at < now - UNLEASED_GRACE),
        )
        async with self._writing() as session:
            rows = await session.scalars(
                select(Operation)
                .where(Operation.outcome == Outcome.PENDING, expired)
                .order_by(Operation.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            swept: list[tuple[Operation, Number]] = []
            for operation in list(rows):
                operation.outcome = Outcome.INTERRUPTED
                operation.finished_at = now  # the lease's owner stays: if that process lives, it renews
                await session.flush()
                moved = None
                if operation.action == "add":
                    moved = await self._apply(session, operation.number_id, unknown)
                number = moved or await session.get(Number, operation.number_id)
                assert number is not None
                swept.append((operation, number))
            return swept

    # --- bulk adds ---

    async def live_among(self, account: str, e164s: Collection[str], live: Collection[str]) -> list[Number]:
        """Which of `e164s` the account holds in one of the `live` states (one query for a whole batch)."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(Number).where(
                    Number.account == account, Number.e164.in_(list(e164s)), Number.state.in_(list(live))
                )
            )
            return list(rows)

    async def create_batch(self, batch: Batch) -> Batch:
        """The batch as submitted; DuplicateBatch (and nothing written) when its intent already has one."""
        try:
            async with self._writing() as session:
                session.add(batch)
            return batch
        except IntegrityError:
            async with self._reading() as session:
                existing = await session.scalar(select(Batch).where(Batch.intent == batch.intent))
            if existing is None:
                raise
            raise DuplicateBatch(existing) from None

    async def batch(self, batch_id: int) -> Batch | None:
        async with self._reading() as session:
            return await session.get(Batch, batch_id)

    async def batch_change(self, batch_id: int, **changes: Any) -> None:
        async with self._writing() as session:
            await session.execute(update(Batch).where(Batch.id == batch_id).values(**changes))

    async def claim_batches(self, lease: Lease, limit: int = 5) -> list[Batch]:
        """Unfinished batches whose process stopped (lease run out), each claimed by exactly one replica."""
        now = utcnow()
        abandoned = and_(
            Batch.finished_at.is_(None), or_(Batch.lease_until.is_(None), Batch.lease_until < now)
        )
        async with self._reading() as session:
            candidates = list(
                await session.scalars(select(Batch.id).where(abandoned).order_by(Batch.id).limit(limit))
            )
        claimed: list[Batch] = []
        for batch_id in candidates:
            async with self._writing() as session:
                batch = await session.scalar(
                    update(Batch)
                    .where(Batch.id == batch_id, abandoned)
                    .values(lease_owner=lease.owner, lease_until=lease.until)
                    .returning(Batch)
                )
                if batch is not None:
                    claimed.append(batch)
        return claimed

    async def renew_batch(self, batch_id: int, lease: Lease) -> bool:
        """Keep running the batch; False when another process took it over (this one must stop)."""
        async with self._writing() as session:
            return await self._renew_batch(session, batch_id, lease)

    async def finish_batch(self, batch_id: int, owner: str, finished_at: datetime) -> bool:
        """End the batch: True for the one process whose lease it still was when it ended (that one posts the
        summary); False when it had ended already or another process holds it."""
        async with self._writing() as session:
            ended = await session.scalar(
                update(Batch)
                .where(Batch.id == batch_id, Batch.finished_at.is_(None), Batch.lease_owner == owner)
                .values(finished_at=finished_at, lease_owner=None, lease_until=None)
                .returning(Batch.id)
            )
            return ended is not None

    async def release_batch(self, batch_id: int, owner: str) -> None:
        """Hand an unfinished batch to whichever replica sweeps next (at a stop)."""
        async with self._writing() as session:
            await session.execute(
                update(Batch)
                .where(Batch.id == batch_id, Batch.lease_owner == owner)
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )

    async def batch_outcomes(self, batch_id: int) -> dict[str, int]:
        """How many of the batch's operations have each outcome."""
        async with self._reading() as session:
            rows = await session.execute(
                select(Operation.outcome, func.count())
                .where(Operation.batch_id == batch_id)
                .group_by(Operation.outcome)
            )
            return {outcome: int(count) for outcome, count in rows.all()}

    async def batch_operations(self, batch_id: int) -> dict[int, Operation]:
        """Each line's latest operation (a line without one has not been sent yet)."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(Operation).where(Operation.batch_id == batch_id).order_by(Operation.id)
            )
            return {operation.batch_line: operation for operation in rows if operation.batch_line is not None}

    # --- the Slack outbox ---

    async def outbox_add(self, threads: Sequence[Sequence[OutboxItem]], lease: Lease) -> list[bool]:
        """Record each of `threads` (the items of one put, for one number), in one transaction; each item's id is
        set. Each thread's items are held by `lease` (True), so this process delivers them, unless an earlier item of
        that number is not this process's to deliver (another replica holds it, or it was handed over): they then
        wait, unleased, for whoever claims that one (False)."""
        number_ids = {item.number_id for items in threads for item in items}
        async with self._writing_rows() as connection:
            others = set(
                await connection.scalars(
                    select(OutboxItem.number_id).where(
                        OutboxItem.number_id.in_(number_ids),
                        OutboxItem.delivered_at.is_(None),
                        or_(OutboxItem.lease_owner.is_(None), OutboxItem.lease_owner != lease.owner),
                    )
                )
            )
            now = utcnow()
            held = [not any(item.number_id in others for item in items) for items in threads]
            rows = [
                (item, {"lease_owner": lease.owner, "lease_until": lease.until} if mine else {})
                for items, mine in zip(threads, held, strict=True)
                for item in items
            ]
            values = [
                {
                    "number_id": item.number_id,
                    "kind": item.kind,
                    "message": item.message,
                    "created_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                    **leased,
                }
                for item, leased in rows
            ]
            # One statement for all: the ids come back in the order of `values` (sort_by_parameter_order).
            inserted = await connection.execute(
                insert(OutboxItem).returning(OutboxItem.id, sort_by_parameter_order=True), values
            )
            for (item, _), item_id in zip(rows, inserted.scalars(), strict=True):
                item.id = item_id
            return held

    async def outbox_claim(self, lease: Lease, limit: int = 50) -> list[OutboxItem]:
        """Undelivered items nobody holds (their lease ran out, or was released), thread by thread: a thread is
        claimed when its first undelivered item is free, and then all its free items with it, in order. Locked
        rows are another replica's claim: skipped, and the rest of their thread waits behind them."""
        now = utcnow()
        free = and_(
            OutboxItem.delivered_at.is_(None),
            or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
        )
        earlier = aliased(OutboxItem)
        first_in_line = ~exists().where(
            earlier.number_id == OutboxItem.number_id,
            earlier.delivered_at.is_(None),
            earlier.id < OutboxItem.id,
        )
        async with self._writing() as session:
            threads = list(
                await session.scalars(
                    select(OutboxItem.number_id)
                    .where(free, first_in_line)
                    .order_by(OutboxItem.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not threads:
                return []
            claimed = await session.scalars(
                update(OutboxItem)
                .where(OutboxItem.number_id.in_(threads), free)
                .values(lease_owner=lease.owner, lease_until=lease.until)
                .returning(OutboxItem)
            )
            return sorted(claimed, key=lambda item: item.id)

    async def outbox_renew(self, item_ids: Collection[int], lease: Lease) -> None:
        """Keep this process's undelivered items its own while Slack keeps it waiting."""
        if not item_ids:
            return
        async with self._writing() as session:
            await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id.in_(list(item_ids)),
                    OutboxItem.lease_owner == lease.owner,
                    OutboxItem.delivered_at.is_(None),
                )
                .values(lease_until=lease.until)
            )

    async def outbox_delivered(self, items: dict[int, tuple[int, str, str] | None]) -> None:
        """Slack took these items; a parent's thread (number id, channel, ts) goes on the number's row in the same
        transaction."""
        async with self._writing_rows() as connection:
            for thread in items.values():
                if thread is not None:
                    number_id, channel_id, thread_ts = thread
                    await connection.execute(
                        update(Number)
                        .where(Number.id == number_id)
                        .values(channel_id=channel_id, thread_ts=thread_ts, updated_at=utcnow())
                    )
            await connection.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(items)))
                .values(delivered_at=utcnow(), lease_until=None)
            )

    async def outbox_release(self, item_ids: Collection[int], owner: str) -> None:
        """Hand undelivered items to whichever replica claims next (at a stop), rather than when their lease ends."""
        if not item_ids:
            return
        async with self._writing() as session:
            await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id.in_(list(item_ids)),
                    OutboxItem.lease_owner == owner,
                    OutboxItem.delivered_at.is_(None),
                )
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )

    # --- the sandbox provider's numbers ---

    async def sandbox_number(self, account: str, e164: str) -> SandboxNumber | None:
        async with self._reading() as session:
            found: SandboxNumber | None = await session.scalar(
                select(SandboxNumber).where(SandboxNumber.account == account, SandboxNumber.e164 == e164)
            )
            return found

    async def sandbox_add(self, account: str, e164: str, phone_number_id: str) -> SandboxNumber | None:
        """The sandbox's new number; None when the account already has it (one add wins a race)."""
        try:
            async with self._writing() as session:
                number = SandboxNumber(
                    account=account, e164=e164, phone_number_id=phone_number_id, profile={}
                )
                session.add(number)
            return number
        except IntegrityError:
            return None

    async def sandbox_change(self, number_id: int, **changes: Any) -> None:
        async with self._writing() as session:
            await session.execute(
                update(SandboxNumber).where(SandboxNumber.id == number_id).values(**changes)
            )

    # --- inside a transaction ---

    async def _apply(
        self, session: AsyncSession, number_id: int, transition: Transition | None, **also: Any
    ) -> Number | None:
        values = {**also, **(transition.fields if transition else {})}
        statement = update(Number).where(Number.id == number_id)
        if transition is not None and transition.sources:
            statement = statement.where(Number.state.in_(list(transition.sources)))
        if transition is not None and transition.otp_cooldown is not None:
            # A code is asked for at most once per cool-down: claimed in the operation's own transaction, so a
            # click whose intent was already received claims nothing.
            now = utcnow()
            statement = statement.where(
                or_(
                    Number.otp_requested_at.is_(None),
                    Number.otp_requested_at <= now - transition.otp_cooldown,
                )
            )
            values["otp_requested_at"] = now
        if transition is not None and transition.profile:
            # Merged into what is stored now, under the row's lock: two updates at once keep both changes.
            stored = await session.scalar(
                select(Number.profile).where(Number.id == number_id).with_for_update()
            )
            values["profile"] = {**(stored or {}), **transition.profile}
        if transition is not None and transition.target is not None:
            values["state"] = transition.target
        if not values:
            return await session.get(Number, number_id)
        values["updated_at"] = utcnow()
        moved: Number | None = await session.scalar(
            statement.values(**values).returning(Number).execution_options(populate_existing=True)
        )
        return moved

    async def _renew_batch(self, session: AsyncSession, batch_id: int, lease: Lease) -> bool:
        renewed = await session.scalar(
            update(Batch)
            .where(Batch.id == batch_id, Batch.finished_at.is_(None), Batch.lease_owner == lease.owner)
            .values(lease_until=lease.until)
            .returning(Batch.id)
        )
        return renewed is not None

    def _insert_number(self, account: str, e164: str, user_id: str, channel_id: str) -> Any:
        """The number's row, created if new, and its id either way: one round trip (the conflict's no-op
        update, `account = numbers.account`, is what makes RETURNING answer for an existing row too; it names the
        table's column rather than `excluded`, which SQLAlchemy would build anew for every statement)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(Number.__table__)  # the table, not the entity: no ORM work per add
        return (
            insert.values(
                account=account,
                e164=e164,
                state="new",
                profile={},
                created_by=user_id,
                channel_id=channel_id,
                created_at=utcnow(),
                updated_at=utcnow(),
                phone_number_id_confirmed=False,
            )
            .on_conflict_do_update(
                index_elements=["account", "e164"], set_={"account": Number.__table__.c.account}
            )
            .returning(Number.__table__.c.id)
        )

    async def _operation_of(self, intent: str | None) -> Operation | None:
        if intent is None:
            return None
        async with self._reading() as session:
            found: Operation | None = await session.scalar(
                select(Operation).where(Operation.intent == intent)
            )
            return found


def _retrieved(answer: asyncio.Future[Number | None]) -> None:
    if not answer.cancelled():
        answer.exception()


def _copy(number: Number) -> Number:
    return Number(**{column.key: getattr(number, column.key) for column in Number.__table__.columns})
