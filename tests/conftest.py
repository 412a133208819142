"""Shared scenario fixtures: the stand-ins, the real bot on loopback, a person driving it, PostgreSQL databases."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from hypothesis import settings
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from standins import KaleyraStandIn, MetaStandIn, SlackStandIn

# The kit (tests/standins/), which scripts/bench.py shares; tests import the names bound "as" from here too.
from standins.kit import CHANNEL, OPERATOR, SID, SIGNING_SECRET, WABA_ID, clean_env, state_of
from standins.kit import ROOT as ROOT
from standins.kit import free_port as free_port
from standins.postgres import PostgresForTests, asyncpg_dsn, shown
from standins.postgres import refusal_of as refusal_of

from bot.app import Bot, build
from bot.settings import Settings
from bot.slack.signing import signed_headers
from bot.store import Base, Number, Operation, Store
from bot.web import web_app


async def wa_bot(cwd: Path, *arguments: str, **variables: str) -> tuple[int, str, str]:
    """Run `python -m bot …` to its end in `cwd` with only `variables` of the bot's settings set.

    Asynchronous, so that the stand-ins on this test's event loop answer the process meanwhile.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *arguments,
        cwd=cwd,
        env=clean_env(**variables),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


# --- PostgreSQL: a database of its own for each run (or test), on the server PostgresForTests chose ---


@functools.cache
def postgres_for_tests() -> PostgresForTests:
    return PostgresForTests()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say which PostgreSQL this run uses, in one line before the first test (also under -q)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(postgres_for_tests().described)


def pytest_sessionfinish(session: pytest.Session) -> None:
    postgres_for_tests().stop()


async def admin(url: str, statement: str) -> None:
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL at {shown(url)} is unreachable "
            f"({type(error).__name__}: {error}). Start it (CI does, see .ci/run) or point WA_BOT_TEST_DATABASE_URL "
            "at one where this user may CREATE DATABASE.",
            pytrace=False,
        )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def a_postgres_database() -> Iterator[str]:
    """A new, empty database, dropped afterwards, so reruns and parallel runs never see each other's rows."""
    base = postgres_for_tests().url()
    name = f"wa_bot_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """One database for a test module."""
    with a_postgres_database() as url:
        yield url


# Property tests run the same examples everywhere (CI included) and keep nothing between runs.
settings.register_profile("wa-bot", derandomize=True, database=None, deadline=None)
settings.load_profile("wa-bot")


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(usergroups={"S0OPS": ["U0GROUP"]}) as stand_in:
        yield stand_in


@pytest.fixture
async def kaleyra() -> AsyncIterator[KaleyraStandIn]:
    async with KaleyraStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def meta() -> AsyncIterator[MetaStandIn]:
    async with MetaStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def settings_for(slack: SlackStandIn, kaleyra: KaleyraStandIn, tmp_path: Path) -> Callable[..., Settings]:
    """Settings as an operator would set them, pointed at the stand-ins; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": "xoxb-test-token",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "kaleyra_sid": SID,
            "kaleyra_api_key": "test-kaleyra-key",
            "kaleyra_waba_id": WABA_ID,
            "kaleyra_base_url": kaleyra.base_url,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}",
            **overrides,
        }
        return Settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})  # type: ignore[call-arg]

    return make


class Person:
    """Someone in Slack: types commands, fills modals, clicks buttons. Every request is signed as Slack signs it."""

    def __init__(
        self, url: str, slack: SlackStandIn, bot: Bot, user_id: str = OPERATOR, channel: str = CHANNEL
    ) -> None:
        self.url = url
        self.slack = slack
        self.bot = bot
        self.user_id = user_id
        self.channel = channel

    def as_user(self, user_id: str) -> Person:
        return Person(self.url, self.slack, self.bot, user_id, self.channel)

    async def post(self, body: str, content_type: str, secret: str = SIGNING_SECRET) -> tuple[int, Any]:
        return await self.deliver(body, signed_headers(body, content_type, secret))

    async def deliver(self, body: str, headers: dict[str, str]) -> tuple[int, Any]:
        """POST `body` with exactly these headers (a request signed once, delivered as Slack would)."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as response,
        ):
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except json.JSONDecodeError:
                return response.status, text

    async def command(self, command: str, text: str = "") -> tuple[int, Any]:
        form = {
            "command": command,
            "text": text,
            "user_id": self.user_id,
            "user_name": "ops",
            "team_id": "T0TEST",
            "channel_id": self.channel,
            "channel_name": "wa-ops",
            "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
            "response_url": self.slack.response_url("cmd"),
            "api_app_id": "A0TEST",
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any]) -> tuple[int, Any]:
        """An Events API event_callback about this person (e.g. {"type": "app_home_opened", "tab": "home"})."""
        body = {
            "token": "unused",
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "event": {"user": self.user_id, "event_ts": str(time.time()), **event},
        }
        return await self.post(json.dumps(body), "application/json")

    async def interact(self, payload: dict[str, Any]) -> tuple[int, Any]:
        return await self.post(self.interaction_body(payload), "application/x-www-form-urlencoded")

    def interaction_body(self, payload: dict[str, Any]) -> str:
        """The form body Slack posts for an interaction (a submission, a click) by this person."""
        payload = {"team": {"id": "T0TEST"}, "user": {"id": self.user_id}, "api_app_id": "A0TEST", **payload}
        return urlencode({"payload": json.dumps(payload)})

    async def opened_view(self, callback_id: str) -> dict[str, Any]:
        """The latest view with `callback_id` that the bot opened, as Slack holds it now (with its id)."""
        await self.slack.wait_for(
            "views.open", lambda call: call.args["view"].get("callback_id") == callback_id
        )
        view_id, view = [(i, v) for i, v in self.slack.views.items() if v.get("callback_id") == callback_id][
            -1
        ]
        return {**view, "id": view_id}

    def current(self, view: dict[str, Any]) -> dict[str, Any]:
        """`view` as Slack holds it now: after the bot updated it, it has new blocks and a new hash."""
        return {**self.slack.views[view["id"]], "id": view["id"]}

    async def submit(self, view: dict[str, Any], values: dict[str, str | None]) -> tuple[int, Any]:
        """Fill `view`'s input blocks with `values` (by block_id) and submit it."""
        return await self.post(self.submission_body(view, values), "application/x-www-form-urlencoded")

    def submission_body(self, view: dict[str, Any], values: dict[str, str | None]) -> str:
        """The form body of `view` submitted with `values` (by block_id)."""
        view = {**view, "state": {"values": state_of(view, values)}}
        return self.interaction_body(
            {"type": "view_submission", "view": view, "trigger_id": "trigger-submit"}
        )

    async def click(
        self,
        message_blocks: list[dict[str, Any]],
        action_id: str,
        channel: str | None = None,
        message_ts: str = "1700000000.000100",
    ) -> tuple[int, Any]:
        """Click the button `action_id` found in a message's blocks."""
        button = next(
            e
            for b in message_blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        )
        return await self.interact(
            {
                "type": "block_actions",
                "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
                "channel": {"id": channel or self.channel},
                "container": {"type": "message", "message_ts": message_ts},
                "response_url": self.slack.response_url("button"),
                "actions": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "block_id": "number_actions",
                        "value": button["value"],
                        "action_ts": str(time.time()),
                    }
                ],
            }
        )


@asynccontextmanager
async def running(settings: Settings, slack: SlackStandIn) -> AsyncIterator[Person]:
    """The real bot, built from `settings`, serving HTTP on a loopback port."""
    bot = await build(settings, backoff_seconds=0.01)
    runner = web.AppRunner(web_app(bot))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Person(f"http://127.0.0.1:{port}/slack/events", slack, bot)
    finally:
        await runner.cleanup()
        await bot.close(10)  # as serve() does (work in flight gets 5 s): no query outlives the test's loop


@pytest.fixture
async def person(settings_for: Callable[..., Settings], slack: SlackStandIn) -> AsyncIterator[Person]:
    async with running(settings_for(), slack) as driver:
        yield driver


async def seed_number(store: Store, account: str, e164: str, state: str, **fields: Any) -> Number:
    """Given: a number the store already holds in `state`, as earlier operations would have left it."""
    values: dict[str, Any] = {
        "account": account,
        "e164": e164,
        "state": state,
        "profile": {},
        "created_by": OPERATOR,
        "channel_id": CHANNEL,
        "phone_number_id_confirmed": bool(fields.get("phone_number_id")),
        **fields,
    }
    async with store.engine.begin() as connection:
        result = await connection.execute(insert(Number).values(**values).returning(Number.id))
        number_id = result.scalar_one()
    number = await store.number(number_id)
    assert number is not None
    return number


async def seed_operation(
    store: Store, number_id: int, action: str, outcome: str, user_id: str = OPERATOR, **fields: Any
) -> int:
    """Given: an operation the store already recorded."""
    values = {"number_id": number_id, "user_id": user_id, "action": action, "outcome": outcome, "request": {}}
    async with store.engine.begin() as connection:
        result = await connection.execute(
            insert(Operation).values(**{**values, **fields}).returning(Operation.id)
        )
        return int(result.scalar_one())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL, once a SQLite file and once the module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store with empty tables, on each of SQLite and PostgreSQL."""
    store = Store(database_url)
    async with store.engine.begin() as connection:  # every test starts from empty tables
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await store.migrate()
    yield store
    await store.close()
