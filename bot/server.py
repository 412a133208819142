"""Wiring and serving: settings → accounts, Slack identity, store, adapters, Slack app; HTTP or Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from sqlalchemy.exc import SQLAlchemyError

import handlers
from bot.accounts import KaleyraAccount, MetaAccount, accounts_from
from bot.lifecycle.bulk import Bulk
from bot.lifecycle.operations import Leases
from bot.lifecycle.sweeper import Sweeper
from bot.lifecycle.usecases import HOME_ORDER, Numbers
from bot.providers.base import Providers
from bot.providers.kaleyra import KaleyraClient, KaleyraProvider
from bot.providers.meta import MetaClient, MetaProvider
from bot.providers.sandbox import Sandbox
from bot.settings import Settings
from bot.slack.batches import SlackBoard
from bot.slack.home import HomePublisher
from bot.slack.identity import Identity, identify, slack_client
from bot.slack.outbox import Outbox
from bot.slack.threads import SlackThreads
from bot.store import Store
from handlers.acks import Acknowledgements
from handlers.authorize import Gate

log = logging.getLogger(__name__)

# At a stop, how long the outbox may still try Slack before it hands what is left to another replica.
OUTBOX_FLUSH_SECONDS = 2.0


@dataclass
class Bot:
    """Everything one process runs, started by `build()`; `close()` releases it."""

    settings: Settings
    identity: Identity  # who the token is, from auth.test at build()
    accounts: dict[str, KaleyraAccount | MetaAccount]
    store: Store
    session: aiohttp.ClientSession  # the providers'
    slack_session: aiohttp.ClientSession  # the Web API's keep-alive connections, apart from slow providers
    numbers: Numbers
    bulk: Bulk
    sweeper: Sweeper
    app: AsyncApp
    gate: Gate
    home: HomePublisher
    acks: Acknowledgements  # HTTP mode counts the requests waiting for their answer (web_app)
    outbox: Outbox  # what the threads are sent, recorded until Slack takes it

    def start(self) -> None:
        """The background work of a running replica: lease renewal, the sweeper and the Slack outbox's claims."""
        crashed = self.numbers.metrics.background_crashed
        self.numbers.leases.start(crashed)
        self.sweeper.start(crashed)
        self.outbox.start(crashed)

    async def close(self, grace_seconds: float = 15) -> None:
        """Let operations in flight finish (or hand them to the sweeper), then release everything."""
        await self.bulk.stop(grace_seconds)  # first: no bulk line starts once the stop began
        await self.numbers.leases.stop(grace_seconds)
        await self.gate.close()
        await self.home.close()
        await self.sweeper.stop()
        await self.outbox.close(flush_seconds=min(grace_seconds, OUTBOX_FLUSH_SECONDS))
        await self.session.close()
        await self.slack_session.close()
        await self.store.close()


async def build(settings: Settings, backoff_seconds: float = 0.5) -> Bot:
    """The bot, ready to serve: Slack says who the token is (auth.test), then the store is migrated.

    auth.test comes first so that a start Slack would refuse changes nothing: migrating is the one step that
    writes, and a store migrated to a newer schema keeps older replicas on it from starting.
    Raises SlackRefusedToken or SlackUnreachable (bot.slack.identity), StoreNewerThanCode, OSError or
    SQLAlchemyError for the store.
    """
    accounts = accounts_from(settings)
    slack_session = aiohttp.ClientSession()
    client = slack_client(settings.slack_bot_token, settings.slack_api_url, slack_session)
    store: Store | None = None
    try:
        identity = await identify(client)
        log.info("Slack: serving as %s", identity)
        store = Store(settings.database_url)
        await store.migrate()
    except BaseException:
        if store is not None:
            await store.close()
        await slack_session.close()
        raise
    session = aiohttp.ClientSession()
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    # Bolt's and the Socket Mode client's loggers carry whole payloads (OTPs too): logs.configure() caps them.
    with _hidden_from_bolt():
        app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            process_before_response=False,
            logger=logging.getLogger("slack_bolt.wa-bot"),
        )
    threads = SlackThreads(
        client,
        store,
        accounts,
        sandbox=settings.wa_bot_sandbox,
        lease=timedelta(seconds=settings.wa_bot_lease_seconds),
        backoff_seconds=backoff_seconds,
    )
    numbers = Numbers(
        store=store,
        accounts=accounts,
        providers=Providers(
            KaleyraProvider(KaleyraClient(session)),
            MetaProvider(MetaClient(session)),
            Sandbox(store) if settings.wa_bot_sandbox else None,
        ),
        threads=threads,
        leases=Leases(store, timedelta(seconds=settings.wa_bot_lease_seconds)),
        resend_cooldown=timedelta(seconds=settings.wa_bot_resend_cooldown_seconds),
        backoff_seconds=backoff_seconds,
    )
    home = HomePublisher(client, numbers.registry, accounts, HOME_ORDER, sandbox=settings.wa_bot_sandbox)
    threads.home = home
    board = SlackBoard(client, accounts, home, sandbox=settings.wa_bot_sandbox)
    bulk = Bulk(numbers, board, settings.wa_bot_bulk_rate_per_second)
    sweeper = Sweeper(store, threads, settings.wa_bot_sweep_seconds, resume=bulk.resume)
    gate = Gate(
        settings.allowed_users,
        settings.allowed_usergroups,
        client,
        ttl_seconds=settings.wa_bot_usergroups_refresh_seconds,
    )
    if gate.open:
        log.warning(
            "WA_BOT_ALLOWED_USERS and WA_BOT_ALLOWED_USERGROUPS are unset: every member of the workspace "
            "may add, verify and update numbers"
        )
    acks = Acknowledgements()
    handlers.register(app, numbers, bulk, gate, home, acks)
    gate.start()  # the user groups' members are read in the background, never on a request's way in
    return Bot(
        settings,
        identity,
        accounts,
        store,
        session,
        slack_session,
        numbers,
        bulk,
        sweeper,
        app,
        gate,
        home,
        acks,
        threads.outbox,
    )


@contextmanager
def _hidden_from_bolt() -> Iterator[None]:
    """Bolt reads some variables itself, whatever wa-bot's settings say: SLACK_BOT_TOKEN (a warning that the
    client's token wins) and SLACK_CLIENT_ID/SECRET (an OAuth flow wa-bot does not serve). It gets none of them."""
    names = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def web_app(bot: Bot) -> web.Application:
    """Bolt's aiohttp app on POST /slack/events, plus GET /healthz and GET /metrics."""
    application: web.Application = bot.app.web_app(path="/slack/events")
    application.middlewares.append(bot.numbers.metrics.middleware)
    application.middlewares.append(bot.acks.middleware)
    application.router.add_get("/metrics", bot.numbers.metrics.page)

    async def healthz(_: web.Request) -> web.Response:
        try:
            await bot.store.ping()
            schema = await bot.store.current_revision()
        except Exception as error:
            return web.json_response({"ok": False, "store": type(error).__name__}, status=503)
        return web.json_response(
            {
                "ok": True,
                "store": "reachable",
                "accounts": len(bot.accounts),
                "bot_user": bot.identity.user_id,
                "bot_name": bot.identity.user,
                "team": bot.identity.team,
                "team_id": bot.identity.team_id,
                "schema": schema,
            }
        )

    application.router.add_get("/healthz", healthz)
    return application


class StoreUnreachable(Exception):
    """The store could not be reached at start; the message names the cause, never the URL's password."""


async def serve(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then close everything: the socket or the HTTP server, sessions, the store."""
    try:
        bot = await build(settings)
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnreachable(f"the store cannot be reached ({type(error).__name__})") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    bot.start()
    try:
        if settings.slack_app_token is not None:
            handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token.get_secret_value())
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("wa-bot is connected in Socket Mode")
            try:
                await stop.wait()
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
            return
        runner = web.AppRunner(web_app(bot))
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("wa-bot listens on http://%s:%d/slack/events", settings.host, settings.port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
        await bot.close(grace_seconds=15)
        log.info("wa-bot stopped")
