"""Which PostgreSQL the tests use: an explicit URL, else the server at the default address, else an embedded one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, PostgresForTests, admin, clean_env, free_port, postgres_for_tests, refusal_of
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store import Store


def test_an_explicit_url_wins_over_any_server_and_is_named_without_its_password() -> None:
    explicit = f"postgresql+asyncpg://wa:pw-SECRET-3@127.0.0.1:{free_port()}/wa"

    chosen = PostgresForTests({"WA_BOT_TEST_DATABASE_URL": explicit}, default=postgres_for_tests().url())

    assert chosen.url() == explicit  # even though it answers nothing and the default does
    assert (
        chosen.described
        == f"PostgreSQL: postgresql+asyncpg://wa:***@127.0.0.1:{make_url(explicit).port}/wa (WA_BOT_TEST_DATABASE_URL)"
    )


def test_a_server_that_lets_us_in_at_the_default_address_wins() -> None:
    answering = postgres_for_tests().url()  # the machine's server, or this run's embedded one

    chosen = PostgresForTests({}, default=answering)

    assert chosen.url() == answering
    assert chosen.described.startswith("PostgreSQL: the server at ")


def test_with_no_server_an_embedded_one_serves_the_store_and_is_removed_afterwards() -> None:
    nothing = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test"

    chosen = PostgresForTests({}, default=nothing)
    assert "an embedded one" in chosen.described and "ConnectionRefusedError" in chosen.described
    url = chosen.url()
    try:
        socket_dir = Path(make_url(url).query["host"])  # type: ignore[arg-type]
        assert list(socket_dir.glob(".s.PGSQL.*")), "it listens on a Unix socket"
        asyncio.run(admin(url, 'CREATE DATABASE "embedded_store"'))
        asyncio.run(a_migrated_store_answers(make_url(url).set(database="embedded_store").render_as_string()))
    finally:
        chosen.stop()

    assert not socket_dir.exists()  # its directory is gone with it
    assert asyncio.run(refusal_of(url)) is not None


async def a_migrated_store_answers(url: str) -> None:
    store = Store(url)
    try:
        await store.migrate()
        async with store.engine.connect() as connection:
            version = await connection.scalar(text("SHOW server_version"))
        assert str(version).startswith("18")
    finally:
        await store.close()


def test_the_run_says_which_postgresql_it_uses_in_its_first_line() -> None:
    explicit = f"postgresql+asyncpg://wa:pw-SECRET-4@127.0.0.1:{free_port()}/wa"

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "tests/test_phone.py",
        ],
        cwd=ROOT,
        env=clean_env(WA_BOT_TEST_DATABASE_URL=explicit),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    first, *_ = run.stdout.splitlines()
    assert (
        first
        == f"PostgreSQL: postgresql+asyncpg://wa:***@127.0.0.1:{make_url(explicit).port}/wa (WA_BOT_TEST_DATABASE_URL)"
    )
    assert "pw-SECRET-4" not in run.stdout + run.stderr
