"""Wiring and serving: settings → accounts, Slack identity, store, adapters, Slack app; HTTP or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from sqlalchemy.exc import SQLAlchemyError

import handlers
from bot.accounts import Account, accounts_from
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
from bot.slack.identity import (
    Identity,
    SlackRefusedToken,
    SlackUnreachable,
    identify,
    slack_client,
    socket_url,
)
from bot.slack.outbox import Outbox
from bot.slack.threads import SlackThreads
from bot.store import Store, StoreNewerThanCode
from handlers.acks import Acknowledgements
from handlers.authorize import Gate

log = logging.getLogger(__name__)

# From SIGTERM (or Ctrl-C) to the exit: most orchestrators kill a process 30 s after their SIGTERM.
STOP_SECONDS = 20.0
# Of those, the last ones are kept for cancelling what still runs, handing it to the sweeper and closing.
HANDOVER_SECONDS = 5.0
# What a request in progress at a stop is given to finish: Slack's own wait for an acknowledgement. The work
# it started runs apart from it and is waited for by Bot.close().
ACK_SECONDS = 3.0
# One attempt to open the Socket Mode connection (apps.connections.open, then the WebSocket handshake, each);
# attempts that fail are made again after 1, 2, 4… s, at most CONNECT_BACKOFF_MAX_SECONDS apart.
CONNECT_SECONDS = 10.0
CONNECT_BACKOFF_MAX_SECONDS = 30.0
_QUIET = logging.getLogger(f"{__name__}.connecting")
_QUIET.setLevel(logging.CRITICAL + 1)


class Deadline:
    """The one moment a stop must be over by, shared by all its steps: each waits at most what is left."""

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.at = self._loop.time() + seconds

    def left(self, keep: float = 0.0) -> float:
        """The seconds left, less `keep` for the steps that follow; never below 0."""
        return max(0.0, self.at - keep - self._loop.time())


# A replica of older code meeting a store a newer wa-bot migrated asks again this often, and says so once a minute.
NEWER_STORE_RETRY_SECONDS = 5.0
NEWER_STORE_LOG_EVERY = 12

# The end of a stop kept for releasing the connections (sessions, the store's pools).
RELEASE_SECONDS = 0.5  # out of HANDOVER_SECONDS
# At a stop, how long the outbox may still try Slack before it hands what is left to another replica.
OUTBOX_FLUSH_SECONDS = 2.0


@dataclass
class Bot:
    """Everything one process runs, started by `build()`; `close()` releases it."""

    settings: Settings
    identity: Identity  # who the token is, from auth.test at build()
    accounts: dict[str, Account]
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

    async def close(self, seconds: float = STOP_SECONDS, deadline: Deadline | None = None) -> None:
        """Stop by `deadline` (`seconds` from now if none): operations in flight, bulk lines included, may finish
        until HANDOVER_SECONDS before it; the rest are handed to the sweeper; then everything is released."""
        deadline = deadline or Deadline(seconds)
        self.bulk.halt()  # first: no bulk line starts once the stop began
        try:
            # A store that hangs cannot hold the exit up; the last half second is kept for the connections' release.
            async with asyncio.timeout(deadline.left(keep=RELEASE_SECONDS)):
                # The leases before the batches: a line still running is cancelled and released with the rest.
                await self.numbers.leases.stop(deadline.left(keep=HANDOVER_SECONDS))
                await self.bulk.stop(
                    deadline.left(keep=RELEASE_SECONDS)
                )  # their lines are settled: only release
                await self.gate.close()
                await self.home.close()
                await self.sweeper.stop()
                await self.outbox.close(
                    flush_seconds=min(deadline.left(keep=RELEASE_SECONDS), OUTBOX_FLUSH_SECONDS)
                )
        except TimeoutError:
            log.warning("the stop's deadline passed before everything was closed")
        # Whatever happened above, the connections are let go (a store's left open would outlive the loop).
        with contextlib.suppress(Exception):
            async with asyncio.timeout(max(deadline.left(), 0.1)):
                await self.session.close()
                await self.slack_session.close()
                await self.store.close()


async def build(settings: Settings, backoff_seconds: float = 0.5) -> Bot:
    """The bot, ready to serve: Slack says who the token is (auth.test), then the store is migrated.

    auth.test comes first so that a start Slack would refuse changes nothing: migrating is the one step that
    writes, and a store migrated to a newer schema keeps older replicas on it from starting.
    Raises SlackRefusedToken or SlackUnreachable (bot.slack.identity), StoreNewerThanCode, StoreServesOther,
    OSError or SQLAlchemyError for the store.
    """
    accounts = accounts_from(settings)
    slack_session = aiohttp.ClientSession()
    client = slack_client(settings.slack_bot_token, settings.slack_api_url, slack_session)
    store: Store | None = None
    try:
        identity = await identify(client)
        log.info("Slack: serving as %s", identity)
        store = Store(settings.database_url)
        await _migrate(store)
        await store.claim(sandbox=settings.wa_bot_sandbox)  # a store serves live numbers or the sandbox's
    except BaseException:
        if store is not None:
            await store.close()
        await slack_session.close()
        raise
    # HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply to Kaleyra and Meta as slack_sdk applies them to Slack.
    session = aiohttp.ClientSession(trust_env=True)
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


async def _migrate(store: Store) -> None:
    """Migrate the store; one a newer wa-bot migrated is waited for rather than refused at once.

    During a rolling upgrade an older replica that restarts meets the newer schema: exiting would only have its
    orchestrator restart it again and again. It asks again every few seconds, says why once a minute, and starts
    once the store is at a revision it knows (the newer release was rolled back). SIGTERM or SIGINT meanwhile
    ends the wait with StoreNewerThanCode, the start's one line and exit status 2, as before waiting existed.
    """
    before = await store.current_revision()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    attempt = 0
    try:
        while True:
            try:
                revision = await store.migrate()
                break
            except StoreNewerThanCode as newer:
                if attempt == 0:
                    for signal_number in signals:
                        loop.add_signal_handler(signal_number, stop.set)
                if attempt % NEWER_STORE_LOG_EVERY == 0:
                    log.warning(
                        "%s. Waiting: checking the store again every %g s until it is at a revision this "
                        "wa-bot knows, or the process is stopped",
                        newer,
                        NEWER_STORE_RETRY_SECONDS,
                    )
                attempt += 1
                try:
                    await asyncio.wait_for(stop.wait(), NEWER_STORE_RETRY_SECONDS)
                except TimeoutError:
                    continue
                raise
    finally:
        if attempt:
            for signal_number in signals:
                loop.remove_signal_handler(signal_number)
    # Alembic's own lines are off (bot/logs.py): this says what changed, and only when something did.
    if revision != before:
        log.info("store: schema migrated from %s to %s", before or "none", revision)


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
    """Serve until SIGINT or SIGTERM, then stop within STOP_SECONDS: the socket or the HTTP server, the work in
    flight (finished or handed to the sweeper), sessions, the store."""
    try:
        bot = await build(settings)
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnreachable(f"the store cannot be reached ({type(error).__name__})") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    bot.start()
    close_door: Callable[[], Awaitable[None]] | None = None  # the socket's or the HTTP server's close
    try:
        if settings.slack_app_token is not None:
            app_token = settings.slack_app_token.get_secret_value()
            handler = AsyncSocketModeHandler(bot.app, app_token)
            close_door = handler.close_async
            if await _unless_stopped(_connect(handler, app_token), stop):
                log.info("wa-bot is connected in Socket Mode")
                await stop.wait()
            return
        # A request in progress at a stop is an acknowledgement; the work it started is Bot.close()'s to wait for.
        runner = web.AppRunner(web_app(bot), shutdown_timeout=ACK_SECONDS)
        close_door = runner.cleanup
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("wa-bot listens on http://%s:%d/slack/events", settings.host, settings.port)
        await stop.wait()
    finally:
        deadline = Deadline(STOP_SECONDS)
        log.info("stopping: in %g s at most", STOP_SECONDS)
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
        try:
            async with asyncio.timeout(deadline.left(keep=HANDOVER_SECONDS)):
                if close_door is not None:
                    await close_door()
        except TimeoutError:
            log.warning("the connection to Slack was not closed in time; going on with the stop")
        await bot.close(deadline=deadline)
        log.info("wa-bot stopped")


async def _unless_stopped(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run `work` until it is done (True) or `stop` is set first (False: `work` is cancelled)."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, stopping):
            task.cancel()
        await asyncio.gather(working, stopping, return_exceptions=True)
    if working in done:
        working.result()  # an error of its own is raised here
        return True
    return False


async def _connect(handler: AsyncSocketModeHandler, app_token: str) -> None:
    """Open the Socket Mode connection, trying again with a backoff until it opens; each attempt is bounded, and
    each failure is one line naming the token Slack refused or the network. Once open, slack_sdk reconnects."""
    client = handler.client
    sdk_logger = client.logger
    # slack_sdk logs each failed handshake with a traceback (and the URL, whose ticket is a credential) and
    # tries again every ping interval, for ever: here each attempt is this function's, and said in one line.
    client.logger = _QUIET
    try:
        for attempt in itertools.count():
            try:
                client.wss_uri = await socket_url(client.web_client, app_token, CONNECT_SECONDS)
                problem = (
                    f"the WebSocket at {_host_of(client.wss_uri)} did not open within {CONNECT_SECONDS:g} s"
                )
                async with asyncio.timeout(CONNECT_SECONDS):
                    await client.connect()  # type: ignore[no-untyped-call]
                return
            except SlackRefusedToken as refused:
                problem = str(refused)
            except SlackUnreachable as unreachable:
                problem = str(unreachable)
            except TimeoutError:
                problem += " (the network, a proxy or a firewall between wa-bot and Slack?)"
            wait = min(CONNECT_BACKOFF_MAX_SECONDS, 2.0**attempt)
            log.error("Socket Mode cannot connect: %s; trying again in %g s", problem, wait)
            await asyncio.sleep(wait)
    finally:
        client.logger = sdk_logger


def _host_of(url: str) -> str:
    """Scheme and host of a WebSocket URL, without its query (a one-time ticket)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
