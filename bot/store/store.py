"""The store: every number the bot knows and every operation on it (SQLAlchemy 2 async, SQLite or PostgreSQL).

Never an API key, a token or an OTP: operations keep what a person typed minus the OTP, and what the
provider answered.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, inspect, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.store.models import Number, NumberState, Operation, Outcome, utcnow

MIGRATIONS = Path(__file__).with_name("migrations")
UNVERSIONED = "0001_initial"  # what create_tables() made before the schema had revisions
MIGRATION_LOCK = 0x7761_626F_7400  # one fixed key for pg_advisory_xact_lock: "wabot"


class StoreNewerThanCode(Exception):
    """The store's schema revision is not among this code's: a newer wa-bot migrated it."""

    def __init__(self, store_revision: str, code_head: str) -> None:
        super().__init__(
            f"the store is at schema revision {store_revision}, unknown to this wa-bot (its newest is "
            f"{code_head}): this wa-bot is older than the store; upgrade wa-bot"
        )
        self.store_revision = store_revision
        self.code_head = code_head


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here rather than read from an alembic.ini."""
    config = Config(attributes={"connection": connection})
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    return _head_of(ScriptDirectory.from_config(alembic_config()))


def _head_of(script: ScriptDirectory) -> str:
    head = script.get_current_head()  # raises if versions/ ever grows two heads
    assert head is not None, "versions/ holds at least 0001_initial"
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> str:
    """One transaction: wait for any other migration, refuse a newer store, stamp an unversioned one, upgrade."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")  # readers never wait for a writer
        # The write lock before Alembic starts: another process waits here, and the DDL commits as one.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":  # another replica waits here until this one commits
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    head = _head_of(script)
    known = {revision.revision for revision in script.walk_revisions()}
    current = MigrationContext.configure(connection).get_current_heads()
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise StoreNewerThanCode(", ".join(unknown), head)
    if not current and inspect(connection).has_table("numbers"):
        command.stamp(config, UNVERSIONED)
    command.upgrade(config, "head")
    return head


def _engine_options(url: str) -> dict[str, Any]:
    """SQLite waits for a writer rather than failing at once; PostgreSQL needs nothing more."""
    return {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}


class Store:
    """One small interface over SQLite and PostgreSQL; returned rows are plain, detached objects."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=True, **_engine_options(url))
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self) -> str:
        """Bring the schema to this code's head revision (an empty store too); the revision reached."""
        async with self.engine.begin() as connection:
            return await connection.run_sync(_upgrade)

    async def current_revision(self) -> str | None:
        """The store's schema revision; None before the first migrate()."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(_current_revision)

    @staticmethod
    def head_revision() -> str:
        return head_revision()

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def start_number(
        self,
        *,
        account: str,
        e164: str,
        user_id: str,
        channel_id: str,
        display_name: str | None = None,
        verification_type: str | None = None,
        state: NumberState = NumberState.ADDING,
    ) -> Number:
        """The number's row, created or reused (a number keeps one row and one thread per account)."""
        async with self._sessions.begin() as session:
            number = await session.scalar(
                select(Number).where(Number.account == account, Number.e164 == e164)
            )
            if number is None:
                number = Number(
                    account=account,
                    e164=e164,
                    created_by=user_id,
                    channel_id=channel_id,
                    state=state,
                    profile={},
                )
                session.add(number)
            number.state = state
            number.display_name = display_name or number.display_name
            number.verification_type = verification_type or number.verification_type
        return number

    async def number(self, number_id: int) -> Number | None:
        async with self._sessions() as session:
            return await session.get(Number, number_id)

    async def numbers_with(self, e164: str) -> list[Number]:
        async with self._sessions() as session:
            return list(await session.scalars(select(Number).where(Number.e164 == e164).order_by(Number.id)))

    async def numbers(self, limit: int) -> tuple[list[Number], int]:
        """The most recently changed numbers, and how many there are in all."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Number).order_by(Number.updated_at.desc(), Number.id.desc()).limit(limit)
            )
            total = await session.scalar(select(func.count()).select_from(Number))
            return list(rows), int(total or 0)

    async def change(self, number_id: int, **changes: Any) -> Number:
        async with self._sessions.begin() as session:
            number = await session.get(Number, number_id)
            if number is None:
                raise LookupError(f"no number {number_id}")
            for name, value in changes.items():
                setattr(number, name, value)
        return number

    async def begin(self, number_id: int, user_id: str, action: str, request: dict[str, Any]) -> int:
        """Record an operation before the provider is called, so a crash leaves a trace."""
        async with self._sessions.begin() as session:
            operation = Operation(number_id=number_id, user_id=user_id, action=action, request=request)
            session.add(operation)
            await session.flush()
            return operation.id

    async def finish(
        self,
        operation_id: int,
        outcome: Outcome,
        *,
        code: str | None = None,
        message: str | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Operation)
                .where(Operation.id == operation_id)
                .values(
                    outcome=outcome,
                    provider_code=code,
                    provider_message=message,
                    response=response,
                    finished_at=utcnow(),
                )
            )

    async def history(self, number_id: int, limit: int = 20) -> list[Operation]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Operation)
                .where(Operation.number_id == number_id)
                .order_by(Operation.requested_at.desc(), Operation.id.desc())
                .limit(limit)
            )
            return list(rows)

    async def interrupt_stale(self, older_than: timedelta) -> list[Operation]:
        """Operations left pending by a crash or restart: marked interrupted, each by exactly one replica."""
        now = utcnow()
        async with self._sessions.begin() as session:
            marked = await session.scalars(
                update(Operation)
                .where(Operation.outcome == Outcome.PENDING, Operation.requested_at < now - older_than)
                .values(outcome=Outcome.INTERRUPTED, finished_at=now)
                .returning(Operation)
            )
            return list(marked)

    async def claim_otp_request(self, number_id: int, cooldown: timedelta) -> bool:
        """True for the one caller that may ask for a code now; a double click or a second replica gets False."""
        now = utcnow()
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Number)
                .where(
                    Number.id == number_id,
                    or_(Number.otp_requested_at.is_(None), Number.otp_requested_at <= now - cooldown),
                )
                .values(otp_requested_at=now)
            )
            return bool(getattr(result, "rowcount", 0) == 1)
