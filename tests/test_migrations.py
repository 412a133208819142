"""The store's schema under Alembic, on SQLite and PostgreSQL: empty, unversioned, current and newer stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import (
    CHANNEL,
    OPERATOR,
    a_postgres_database,
    free_port,
    seed_number,
    seed_operation,
    wa_bot,
)
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)

from bot.store import Base, Store, StoreNewerThanCode, StoreServesOther, head_revision
from bot.store.schema import alembic_config

# The tables as create_tables() made them before the schema had revisions (0001_initial), frozen here so
# that "a store made by the old code" keeps meaning that whatever the models become.
BEFORE_REVISIONS = MetaData()
Table(
    "numbers",
    BEFORE_REVISIONS,
    Column("id", Integer, primary_key=True),
    Column("account", String(64), nullable=False),
    Column("e164", String(20), nullable=False, index=True),
    Column("phone_number_id", String(64)),
    Column("display_name", Text),
    Column("verification_type", String(8)),
    Column("state", String(16), nullable=False),
    Column("profile", JSON, nullable=False),
    Column("channel_id", String(32)),
    Column("thread_ts", String(32)),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("otp_requested_at", DateTime),
    UniqueConstraint("account", "e164"),
)
Table(
    "operations",
    BEFORE_REVISIONS,
    Column("id", Integer, primary_key=True),
    Column("number_id", Integer, ForeignKey("numbers.id"), nullable=False, index=True),
    Column("user_id", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("request", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("provider_code", String(32)),
    Column("provider_message", Text),
    Column("response", JSON),
    Column("requested_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)
THEN = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store with nothing in it: a new SQLite file, or a new PostgreSQL database for this test alone."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    with a_postgres_database() as url:
        yield url


@pytest.fixture
async def store(empty_url: str) -> AsyncIterator[Store]:
    store = Store(empty_url)
    yield store
    await store.close()


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def drift(connection: Connection) -> list[Any]:
    """What `alembic revision --autogenerate` would write: nothing, when migrations and models agree."""
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_an_empty_store_is_migrated_to_head(store: Store) -> None:
    assert await store.current_revision() is None

    assert await store.migrate() == head_revision() == store.head_revision()

    assert await store.current_revision() == head_revision()
    async with store.engine.connect() as connection:
        assert await connection.run_sync(tables) == {
            "alembic_version",
            "batches",
            "numbers",
            "operations",
            "outbox",
            "sandbox_numbers",
            "store_use",
        }
        assert await connection.run_sync(drift) == []


async def test_every_revision_from_nothing_builds_exactly_the_models_schema(store: Store) -> None:
    """migrate() builds an empty store from the models in one step; the revisions must build the same one."""

    def every_revision(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with store.engine.begin() as connection:
        await connection.run_sync(every_revision)
    assert await store.current_revision() == head_revision()
    async with store.engine.connect() as connection:
        assert await connection.run_sync(drift) == []
    assert await store.migrate() == head_revision()  # and a start after it changes nothing


async def test_a_store_made_before_revisions_is_stamped_and_keeps_its_rows(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.run_sync(BEFORE_REVISIONS.create_all)
        numbers, operations = BEFORE_REVISIONS.tables["numbers"], BEFORE_REVISIONS.tables["operations"]
        await connection.execute(
            numbers.insert().values(
                id=1,
                account="kaleyra",
                e164="+919876543210",
                display_name="Acme Support",
                phone_number_id="7654XXXXXXXXXX",
                state="verified",
                profile={"about": "Nous répondons vite ✓"},
                channel_id=CHANNEL,
                thread_ts="1700000000.000100",
                created_by=OPERATOR,
                created_at=THEN,
                updated_at=THEN,
            )
        )
        await connection.execute(
            operations.insert().values(
                number_id=1,
                user_id=OPERATOR,
                action="add",
                request={"phone_number": "9876543210", "country_code": "+91"},
                outcome="ok",
                provider_code="WA200",
                requested_at=THEN,
                finished_at=THEN,
            )
        )
    assert await store.current_revision() is None

    assert await store.migrate() == head_revision()

    assert await store.current_revision() == head_revision()
    [number] = await store.numbers_with("+919876543210")
    assert number.phone_number_id_confirmed  # an ID stored before the lifecycle came from Kaleyra
    assert (number.id, number.state, number.profile, number.thread_ts) == (
        1,
        "verified",
        {"about": "Nous répondons vite ✓"},
        "1700000000.000100",
    )
    [operation] = await store.history(number.id)
    assert (operation.action, operation.outcome, operation.request) == (
        "add",
        "ok",
        {"phone_number": "9876543210", "country_code": "+91"},
    )
    async with store.engine.connect() as connection:
        assert await connection.run_sync(drift) == []


async def test_a_store_at_0005_keeps_its_operations_and_then_holds_provider_codes_of_any_length(
    store: Store,
) -> None:
    def to(revision: str) -> Callable[[Connection], None]:
        return lambda connection: command.upgrade(alembic_config(connection), revision)

    async with store.engine.begin() as connection:
        await connection.run_sync(to("0005_batches"))
    number = await seed_number(store, "kaleyra", "+919876543210", "failed")
    await seed_operation(store, number.id, "add", "failed", provider_code="WA400", provider_message="exists")

    assert await store.migrate() == head_revision()

    long_code = (
        "WA400_PHONE_NUMBER_NOT_ELIGIBLE_FOR_WABA"  # 40 characters: PostgreSQL refused it in String(32)
    )
    await seed_operation(store, number.id, "add", "failed", provider_code=long_code)
    assert sorted(o.provider_code or "" for o in await store.history(number.id)) == ["WA400", long_code]

    # And going back to 0005 clips what it cannot hold rather than failing
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0005_batches"))
    assert sorted(o.provider_code or "" for o in await store.history(number.id)) == ["WA400", long_code[:32]]


async def test_a_store_at_0007_keeps_its_numbers_and_is_claimed_by_its_first_start_only(
    store: Store, empty_url: str
) -> None:
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(alembic_config(c), "0007_outbox"))
    number = await seed_number(store, "kaleyra", "+919876543210", "verified")

    assert await store.migrate() == head_revision()

    # Unclaimed (what it served before cannot be told), its numbers kept
    assert await store.use() is None
    assert [n.id for n in await store.numbers_with("+919876543210")] == [number.id]
    # Two first starts at once, one live and one with the sandbox: one claims it, the other is refused
    replicas = [Store(empty_url) for _ in range(2)]
    try:
        outcomes = await asyncio.gather(
            replicas[0].claim(sandbox=False), replicas[1].claim(sandbox=True), return_exceptions=True
        )
    finally:
        for replica in replicas:
            await replica.close()
    [refused] = [outcome for outcome in outcomes if isinstance(outcome, StoreServesOther)]
    assert outcomes.count(None) == 1
    use = await store.use()
    assert use is not None and use[0] is refused.store_sandbox  # the winner's use, which the refusal names
    await store.claim(sandbox=use[0])  # the same use again: fine


async def test_migrating_twice_changes_nothing(store: Store) -> None:
    await store.migrate()
    number = await seed_number(store, "kaleyra", "+919876543210", "verified")

    assert await store.migrate() == head_revision()

    assert [n.id for n in await store.numbers_with("+919876543210")] == [number.id]
    async with store.engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert versions == [(head_revision(),)]


async def test_a_store_newer_than_the_code_is_refused(store: Store) -> None:
    await a_future_store(store)

    with pytest.raises(StoreNewerThanCode) as refused:
        await store.migrate()

    message = str(refused.value)
    assert "9999_from_the_future" in message and head_revision() in message
    assert "older than the store" in message and "upgrade wa-bot" in message
    assert await store.current_revision() == "9999_from_the_future"  # left as it was


async def test_replicas_migrating_at_once_migrate_once(empty_url: str) -> None:
    replicas = [Store(empty_url) for _ in range(4)]
    try:
        # Without the lock they would trip over each other's DDL (or wait on each other for ever).
        reached = await asyncio.wait_for(asyncio.gather(*(r.migrate() for r in replicas)), timeout=30)
        assert reached == [head_revision()] * 4
        assert await replicas[0].current_revision() == head_revision()
    finally:
        for replica in replicas:
            await replica.close()


async def a_future_store(store: Store) -> None:
    """What a newer wa-bot leaves behind: a revision this code has never heard of."""
    await store.migrate()
    async with store.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))


# --- `wa-bot migrate` and `wa-bot`, the real entry point ---


async def test_wa_bot_migrate_refuses_a_newer_store_with_exit_2(
    store: Store, empty_url: str, tmp_path: Path
) -> None:
    await a_future_store(store)

    status, stdout, stderr = await wa_bot(tmp_path, "migrate", DATABASE_URL=empty_url)

    assert status == 2
    assert stdout == ""
    [line] = stderr.splitlines()
    assert "9999_from_the_future" in line and head_revision() in line and "upgrade wa-bot" in line


async def test_wa_bot_migrate_upgrades_an_empty_sqlite_file_without_a_slack_token(tmp_path: Path) -> None:
    path = tmp_path / "wa-bot.db"
    path.touch()

    status, stdout, stderr = await wa_bot(tmp_path, "migrate", DATABASE_URL=f"sqlite+aiosqlite:///{path}")

    assert (status, stdout, stderr) == (0, f"store at revision {head_revision()} (head)\n", "")
    store = Store(f"sqlite+aiosqlite:///{path}")
    try:
        assert await store.current_revision() == head_revision()
    finally:
        await store.close()


async def test_wa_bot_migrate_reads_database_url_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite+aiosqlite:///from-dotenv.db\nPORT=not-needed-here\n")

    status, stdout, _ = await wa_bot(tmp_path, "migrate")

    assert status == 0 and head_revision() in stdout
    assert (tmp_path / "from-dotenv.db").exists()


async def test_wa_bot_migrate_names_an_unreachable_store_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://wa:db-pass-SECRET-7@127.0.0.1:{free_port()}/wa"

    status, stdout, stderr = await wa_bot(tmp_path, "migrate", DATABASE_URL=url)

    assert status == 1
    [line] = stderr.splitlines()
    assert "DATABASE_URL" in line
    assert "db-pass-SECRET-7" not in stdout + stderr


async def test_wa_bot_help_lists_the_commands_without_any_setting(tmp_path: Path) -> None:
    # Settings that would stop any command: --help does not read them.
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxp-a-user-token\nPORT=abc\nDATABASE_URL=nonsense\n")

    status, stdout, stderr = await wa_bot(tmp_path, "--help")

    assert (status, stderr) == (0, "")
    assert "run" in stdout and "migrate" in stdout and "check" in stdout and ".env" in stdout
