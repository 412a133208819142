"""Alembic's environment, as `alembic init -t async` writes it, run on the connection `Store.migrate()` hands over."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import StoreSettings
from bot.store.models import Base

target_metadata = Base.metadata


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    )
    with context.begin_transaction():  # inside Store.migrate()'s transaction, this opens none of its own
        context.run_migrations()


async def run_async_migrations() -> None:
    """From the `alembic` command line (writing a revision): an engine of its own on DATABASE_URL."""
    engine = create_async_engine(StoreSettings().database_url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
