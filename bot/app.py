"""Wiring: everything one process runs, built in dependency order on one AsyncExitStack. Each resource's stop is
registered beside its start, so a stop (or a start that fails half-way) unwinds them in reverse, each step within
what is left of one shared deadline."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.accounts import Account, accounts_from
from bot.lifecycle.bulk import Bulk
from bot.lifecycle.operations import Leases
from bot.lifecycle.sweeper import Sweeper
from bot.lifecycle.usecases import HOME_ORDER, Numbers
from bot.metrics import Metrics
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
from bot.store import Store, StoreNewerThanCode
from bot.web import bolt_app
from handlers.acks import Acknowledgements
from handlers.authorize import Gate

log = logging.getLogger(__name__)

# From SIGTERM (or Ctrl-C) to the exit: most orchestrators kill a process 30 s after their SIGTERM.
STOP_SECONDS = 20.0
# Of those, the last ones are kept for cancelling what still runs, handing it to the sweeper and closing.
HANDOVER_SECONDS = 5.0
# At a stop, how long the outbox may still try Slack before it hands what is left to another replica.
OUTBOX_FLUSH_SECONDS = 2.0
# A replica of older code meeting a store a newer wa-bot migrated asks again this often, and says so once a minute.
NEWER_STORE_RETRY_SECONDS = 5.0
NEWER_STORE_LOG_EVERY = 12


class Deadline:
    """The one moment a stop must be over by, shared by all its steps: each waits at most what is left."""

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.at = self._loop.time() + seconds

    def left(self, keep: float = 0.0) -> float:
        """The seconds left, less `keep` for the steps that follow; never below 0."""
        return max(0.0, self.at - keep - self._loop.time())


# A connection's release is tried this long even once the stop's deadline has passed.
RELEASE_SECONDS = 0.25


class Stop:
    """The steps of a stop, registered at build on `stack`; the deadline they share is known once it begins."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self.stack = stack
        self.deadline: Deadline | None = None

    def left(self, keep: float = 0.0) -> float:
        if self.deadline is None:  # a build that failed half-way unwinds what it had started
            self.deadline = Deadline(STOP_SECONDS)
        return self.deadline.left(keep)

    def then(self, step: Callable[[], Awaitable[object]], release: bool = False) -> None:
        """Run `step` at the stop, before the steps registered earlier, within what is left of the deadline: one
        that hangs (a store away) is cut off there, and those after it get only what remains. A `release` (of
        connections) is tried for a moment even past the deadline: a store's connection left open would outlive
        the event loop."""

        async def bounded() -> None:
            async with asyncio.timeout(max(self.left(), RELEASE_SECONDS if release else 0.0)):
                await step()

        self.stack.push_async_callback(bounded)


@dataclass
class Bot:
    """Everything one process runs, started by `build()`; `close()` stops it."""

    settings: Settings
    identity: Identity  # who the token is, from auth.test at build()
    accounts: dict[str, Account]
    store: Store
    session: aiohttp.ClientSession  # the providers'
    slack_session: aiohttp.ClientSession  # the Web API's keep-alive connections, apart from slow providers
    metrics: Metrics
    leases: Leases
    numbers: Numbers
    bulk: Bulk
    sweeper: Sweeper
    app: AsyncApp
    gate: Gate
    home: HomePublisher
    acks: Acknowledgements  # HTTP mode counts the requests waiting for their answer (bot/web.py)
    outbox: Outbox  # what the threads are sent, recorded until Slack takes it
    stop: Stop = field(repr=False)

    async def close(self, seconds: float = STOP_SECONDS, deadline: Deadline | None = None) -> None:
        """Stop by `deadline` (`seconds` from now if none), unwinding build(): bulk halts; operations in flight,
        bulk lines included, may finish until HANDOVER_SECONDS before it; the rest are handed to the sweeper;
        then everything is released."""
        self.stop.deadline = deadline or Deadline(seconds)
        try:
            await self.stop.stack.aclose()
        except TimeoutError:
            log.warning("the stop's deadline passed before everything was closed")


async def build(settings: Settings, backoff_seconds: float = 0.5) -> Bot:
    """The bot, serving nothing yet but with its background work running: Slack says who the token is
    (auth.test), then the store is migrated.

    auth.test comes first so that a start Slack would refuse changes nothing: migrating is the one step that
    writes, and a store migrated to a newer schema keeps older replicas on it from starting.
    Raises SlackRefusedToken or SlackUnreachable (bot.slack.identity), StoreNewerThanCode, OSError or
    SQLAlchemyError for the store; what was started by then is stopped first.
    """
    async with AsyncExitStack() as stack:  # unwound here only when the build fails half-way
        stop = Stop(stack)
        bot = await _started(stop, settings, backoff_seconds)
        stop.stack = stack.pop_all()  # from here on, close() unwinds it
    return bot


async def _started(stop: Stop, settings: Settings, backoff_seconds: float) -> Bot:
    """Start each resource in dependency order and register its stop beside it: the stop runs them backwards."""
    accounts = accounts_from(settings)
    slack_session, client, identity = await _slack(stop, settings)
    store = await _store(stop, settings)
    session, providers = _providers(stop, store, settings.wa_bot_sandbox)
    leases = Leases(store, timedelta(seconds=settings.wa_bot_lease_seconds))
    metrics = Metrics(in_flight=lambda: leases.in_flight)
    home, threads = _slack_side(stop, client, store, accounts, settings, metrics, backoff_seconds)
    numbers = Numbers(
        store=store,
        accounts=accounts,
        providers=providers,
        threads=threads,
        leases=leases,
        metrics=metrics,
        resend_cooldown=timedelta(seconds=settings.wa_bot_resend_cooldown_seconds),
        backoff_seconds=backoff_seconds,
    )
    board = SlackBoard(client, accounts, home, sandbox=settings.wa_bot_sandbox)
    bulk = Bulk(numbers, store, leases, board, metrics, settings.wa_bot_bulk_rate_per_second)
    stop.then(lambda: bulk.stop(stop.left(keep=1.0)))  # by then the leases' stop has settled their lines
    sweeper = Sweeper(store, threads, settings.wa_bot_sweep_seconds, resume=bulk.resume)
    sweeper.start(metrics.background_crashed)
    stop.then(sweeper.stop)
    gate = _gate(stop, settings, client)
    # Started last, so stopped first: operations in flight finish (or are handed over) before batches are released.
    leases.start(metrics.background_crashed)
    stop.then(lambda: leases.stop(stop.left(keep=HANDOVER_SECONDS)))
    stop.stack.callback(bulk.halt)  # the stop's very first step: no bulk line starts once it began
    acks = Acknowledgements()
    app = bolt_app(client, settings, metrics)
    handlers.register(app, numbers, bulk, gate, home, acks)
    return Bot(
        settings=settings,
        identity=identity,
        accounts=accounts,
        store=store,
        session=session,
        slack_session=slack_session,
        metrics=metrics,
        leases=leases,
        numbers=numbers,
        bulk=bulk,
        sweeper=sweeper,
        app=app,
        gate=gate,
        home=home,
        acks=acks,
        outbox=threads.outbox,
        stop=stop,
    )


async def _slack(stop: Stop, settings: Settings) -> tuple[aiohttp.ClientSession, AsyncWebClient, Identity]:
    """The Web API's session and client, and who the token is: a token Slack refuses stops the start here."""
    slack_session = aiohttp.ClientSession()
    stop.then(slack_session.close, release=True)
    client = slack_client(settings.slack_bot_token, settings.slack_api_url, slack_session)
    identity = await identify(client)
    log.info("Slack: serving as %s", identity)
    return slack_session, client, identity


async def _store(stop: Stop, settings: Settings) -> Store:
    store = Store(settings.database_url)
    stop.then(store.close, release=True)
    await _migrate(store)
    await store.claim(sandbox=settings.wa_bot_sandbox)  # a store serves live numbers or the sandbox's
    return store


def _slack_side(
    stop: Stop,
    client: AsyncWebClient,
    store: Store,
    accounts: dict[str, Account],
    settings: Settings,
    metrics: Metrics,
    backoff_seconds: float,
) -> tuple[HomePublisher, SlackThreads]:
    """The App Home's publisher, then the threads, which tell it whose Home to republish, and their outbox."""
    sandbox = settings.wa_bot_sandbox
    home = HomePublisher(
        client, partial(store.numbers_by_state, HOME_ORDER), accounts, HOME_ORDER, sandbox=sandbox
    )
    stop.then(home.close)
    threads = SlackThreads(
        client,
        store,
        accounts,
        changed_by=home.schedule,
        sandbox=sandbox,
        lease=timedelta(seconds=settings.wa_bot_lease_seconds),
        backoff_seconds=backoff_seconds,
    )
    outbox = threads.outbox  # the threads' own: it delivers through them
    outbox.start(metrics.background_crashed)
    stop.then(lambda: outbox.close(flush_seconds=min(stop.left(keep=1.0), OUTBOX_FLUSH_SECONDS)))
    return home, threads


def _providers(stop: Stop, store: Store, sandbox: bool) -> tuple[aiohttp.ClientSession, Providers]:
    # HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply to Kaleyra and Meta as slack_sdk applies them to Slack.
    session = aiohttp.ClientSession(trust_env=True)
    stop.then(session.close, release=True)
    providers = Providers(
        KaleyraProvider(KaleyraClient(session)),
        MetaProvider(MetaClient(session)),
        Sandbox(store) if sandbox else None,
    )
    return session, providers


def _gate(stop: Stop, settings: Settings, client: AsyncWebClient) -> Gate:
    """Who may act, its user groups' members read in the background, never on a request's way in."""
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
    gate.start()
    stop.then(gate.close)
    return gate


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
