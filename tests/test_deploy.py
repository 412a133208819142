"""Running it for real: hosting services' database URLs, a proxy in the way, JSON logs, quiet probes, and an older
replica meeting a store a newer wa-bot migrated during a rolling upgrade."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiohttp
import pytest
from conftest import SIGNING_SECRET, free_port, running, wa_bot
from sqlalchemy import text
from standins import KaleyraStandIn, SlackStandIn
from standins.http_proxy import HttpProxyStandIn
from test_startup import stand_in_env, wait_healthy
from test_v2_failures import add_number, reply_saying

from bot import logs
from bot.settings import Settings, StoreSettings
from bot.store import Store, head_revision

# --- DATABASE_URL as RDS and Heroku hand it out ---


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
async def test_a_postgres_url_as_hosting_services_give_it_reaches_the_store(
    scheme: str, postgres_url: str, tmp_path: Path
) -> None:
    url = postgres_url.replace("postgresql+asyncpg://", f"{scheme}://", 1)

    status, stdout, stderr = await wa_bot(tmp_path, "migrate", DATABASE_URL=url)

    assert (status, stdout, stderr) == (0, f"store at revision {head_revision()} (head)\n", "")


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    settings = StoreSettings(
        _env_file=None, database_url="postgres://wa:pw@db.example.com/wa?sslmode=require"
    )  # type: ignore[call-arg]

    assert settings.database_url == "postgresql+asyncpg://wa:pw@db.example.com/wa?ssl=require"


# --- provider calls through HTTP_PROXY ---


@pytest.fixture
async def http_proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[HttpProxyStandIn]:
    """A forward proxy that HTTP_PROXY names, with NO_PROXY excluding nothing (not even loopback)."""
    async with HttpProxyStandIn() as proxy:
        for name in (
            "HTTPS_PROXY",
            "https_proxy",
            "http_proxy",
            "NO_PROXY",
            "no_proxy",
            "ALL_PROXY",
            "all_proxy",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        yield proxy


async def test_a_provider_call_goes_through_the_proxy_the_environment_names(
    http_proxy: HttpProxyStandIn,
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
) -> None:
    async with running(settings_for(), slack) as person:
        await add_number(person, slack)
        await reply_saying(slack, "Added")

    [add] = [line for line in http_proxy.passed_on if line.startswith(f"POST {kaleyra.base_url}/v2/")]
    assert add.endswith("/number/add")
    assert len(kaleyra.requests) == 1


# --- logs ---


async def start(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn, **variables: str
) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env={**stand_in_env(tmp_path, slack, kaleyra, port), **variables},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return process, port


async def stop(process: asyncio.subprocess.Process) -> list[str]:
    """SIGTERM, then every line the process wrote to stderr."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    return stderr.decode().splitlines()


async def test_log_format_json_writes_one_object_a_line(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    process, port = await start(tmp_path, slack, kaleyra, LOG_FORMAT="json")
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=15)
    finally:
        lines = await stop(process)

    entries = [json.loads(line) for line in lines]  # every line, or this raises
    assert len(entries) >= 3  # at least: serving as…, the open-door warning, listens on…
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
    warning = next(e for e in entries if "WA_BOT_ALLOWED_USERS" in e["message"])
    assert (warning["level"], warning["logger"]) == ("WARNING", "bot.app")
    assert any("listens on http://127.0.0.1" in e["message"] for e in entries)
    assert all(
        secret not in "\n".join(lines) for secret in (SIGNING_SECRET, "test-kaleyra-key", "xoxb-test-token")
    )


@contextmanager
def configured_logs(secrets: list[str], log_format: str) -> Iterator[io.StringIO]:
    """Logging as bot/__main__.py configures it, its stream captured; restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    logs.configure("INFO", secrets, log_format)
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers, root.level = saved_handlers, saved_level


def test_a_json_line_carries_the_exception_with_secrets_redacted() -> None:
    with configured_logs(["kaleyra-key-SECRET-77"], "json") as stream:
        try:
            raise RuntimeError("refused with api-key kaleyra-key-SECRET-77 and xoxb-1-2-3")
        except RuntimeError:
            logging.getLogger("bot.lifecycle").exception("the add failed")

    [entry] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "bot.lifecycle", "the add failed")
    assert (
        entry["exception"].startswith("Traceback")
        and "RuntimeError: refused with api-key" in entry["exception"]
    )
    assert "SECRET" not in stream.getvalue() and "xoxb-1" not in stream.getvalue()


async def test_probes_write_nothing_to_the_log(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    probes = 20
    process, port = await start(tmp_path, slack, kaleyra)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=15)
        async with aiohttp.ClientSession() as session:
            for path in ["/healthz"] * probes + ["/metrics"] * 5:
                async with session.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == 200
    finally:
        lines = await stop(process)

    [listening] = [i for i, line in enumerate(lines) if "listens on http://" in line]
    after = lines[listening + 1 :]  # what the probes could have added, then the stop
    assert len(after) < probes, after
    assert not [line for line in lines if "alembic" in line or "healthz" in line or "metrics" in line]
    # The first start on a new store says, in one line of its own, what the migration did.
    assert len([line for line in lines[:listening] if "schema migrated from none to" in line]) == 1


async def test_a_start_logs_the_schema_only_when_it_migrated_something(
    settings_for: Callable[..., Settings], slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for()
    caplog.set_level(logging.INFO, logger="bot.app")
    async with running(settings, slack):
        pass
    first = [r.getMessage() for r in caplog.records if r.name == "bot.app" and "schema" in r.getMessage()]
    caplog.clear()
    async with running(settings, slack):
        pass
    second = [r.getMessage() for r in caplog.records if r.name == "bot.app" and "schema" in r.getMessage()]

    assert first == [f"store: schema migrated from none to {head_revision()}"]
    assert second == []


# --- an older replica meeting a newer store ---


async def future_store(tmp_path: Path) -> str:
    """A SQLite store as a newer wa-bot leaves it: stamped with a revision this code has never heard of."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await stamp(url, "9999_from_the_future")
    return url


async def stamp(url: str, revision: str) -> None:
    store = Store(url)
    try:
        if await store.current_revision() is None:
            await store.migrate()
        async with store.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        await store.close()


async def line_saying(process: asyncio.subprocess.Process, words: str, timeout: float = 15) -> str:  # noqa: ASYNC109
    """The first line of the process's stderr with `words`, waiting for it."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), deadline - time.monotonic())
        if not line:
            raise AssertionError(f"wa-bot exited ({await process.wait()}) without saying {words!r}")
        if words in line.decode():
            return line.decode()


@asynccontextmanager
async def an_older_replica(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    url = await future_store(tmp_path)
    process, port = await start(tmp_path, slack, kaleyra, DATABASE_URL=url)
    try:
        yield process, port
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_an_older_replica_waits_for_a_newer_store_and_stops_on_sigterm(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with an_older_replica(tmp_path, slack, kaleyra) as (process, _):
        waiting = await line_saying(process, "Waiting")
        assert (
            "9999_from_the_future" in waiting and head_revision() in waiting and "upgrade wa-bot" in waiting
        )
        assert process.returncode is None  # waiting, not crash-looping

        process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), timeout=5)
        assert process.stderr is not None
        rest = (await process.stderr.read()).decode()

    assert status == 2
    [line] = [line for line in rest.splitlines() if "wa-bot cannot start" in line]
    assert "9999_from_the_future" in line and "upgrade wa-bot" in line
    assert "Traceback" not in rest


async def test_an_older_replica_starts_once_the_store_is_at_a_revision_it_knows(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with an_older_replica(tmp_path, slack, kaleyra) as (process, port):
        await line_saying(process, "Waiting")

        await stamp(
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", head_revision()
        )  # the newer release rolled back

        health = await wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=15)
        assert (health["ok"], health["schema"]) == (True, head_revision())
        lines = await stop(process)
    assert process.returncode == 0
    assert "Traceback" not in "\n".join(lines)
