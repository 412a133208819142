"""Serving: the bot bot/app.py builds, over HTTP or Socket Mode, until SIGINT or SIGTERM; then its stop."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlalchemy.exc import SQLAlchemyError

from bot import app
from bot.settings import Settings
from bot.slack.identity import SlackRefusedToken, SlackUnreachable, socket_url
from bot.web import web_app

log = logging.getLogger(__name__)

# What a request in progress at a stop is given to finish: Slack's own wait for an acknowledgement. The work
# it started runs apart from it and is waited for by the bot's close() (bot/app.py).
ACK_SECONDS = 3.0
# One attempt to open the Socket Mode connection (apps.connections.open, then the WebSocket handshake, each);
# attempts that fail are made again after 1, 2, 4… s, at most CONNECT_BACKOFF_MAX_SECONDS apart.
CONNECT_SECONDS = 10.0
CONNECT_BACKOFF_MAX_SECONDS = 30.0
_QUIET = logging.getLogger(f"{__name__}.connecting")
_QUIET.setLevel(logging.CRITICAL + 1)


class StoreUnreachable(Exception):
    """The store could not be reached at start; the message names the cause, never the URL's password."""


async def serve(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then stop within app.STOP_SECONDS: the socket or the HTTP server, the work
    in flight (finished or handed to the sweeper), sessions, the store."""
    try:
        bot = await app.build(settings)
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnreachable(f"the store cannot be reached ({type(error).__name__})") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
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
        # A request in progress at a stop is an acknowledgement; the work it started is bot.close()'s to wait for.
        runner = web.AppRunner(web_app(bot), shutdown_timeout=ACK_SECONDS)
        close_door = runner.cleanup
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("wa-bot listens on http://%s:%d/slack/events", settings.host, settings.port)
        await stop.wait()
    finally:
        deadline = app.Deadline(app.STOP_SECONDS)
        log.info("stopping: in %g s at most", app.STOP_SECONDS)
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
        try:
            async with asyncio.timeout(deadline.left(keep=app.HANDOVER_SECONDS)):
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
