"""The HTTP side of one process: Bolt's app on POST /slack/events, GET /healthz and GET /metrics, with the
middlewares every request goes through (its timing for /metrics, the count of those waiting for their answer)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack.identity import Identity
from bot.store import Store
from handlers.acks import Acknowledgements


class Served(Protocol):
    """What the web side needs of a built bot (bot/app.py's `Bot`), without importing the wiring."""

    @property
    def app(self) -> AsyncApp: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def acks(self) -> Acknowledgements: ...
    @property
    def store(self) -> Store: ...
    @property
    def accounts(self) -> Mapping[str, object]: ...
    @property
    def identity(self) -> Identity: ...


def bolt_app(client: AsyncWebClient, settings: Settings, metrics: Metrics) -> AsyncApp:
    """Bolt's app on the bot's Web API client; the listeners are registered on it by `handlers.register`."""
    secret = settings.slack_signing_secret
    # Bolt's and the Socket Mode client's loggers carry whole payloads (OTPs too): logs.configure() caps them.
    with _hidden_from_bolt():
        app = AsyncApp(
            client=client,
            signing_secret=secret.get_secret_value() if secret else None,
            process_before_response=False,
            logger=logging.getLogger("slack_bolt.wa-bot"),
        )
    app.use(metrics.note_kind)  # first: a request the gate refuses is counted by its kind too
    return app


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


def web_app(bot: Served) -> web.Application:
    """Bolt's aiohttp app on POST /slack/events, plus GET /healthz and GET /metrics."""
    application: web.Application = bot.app.web_app(path="/slack/events")
    application.middlewares.append(bot.metrics.middleware)
    application.middlewares.append(bot.acks.middleware)
    application.router.add_get("/metrics", bot.metrics.page)

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
