"""Slack listeners only: parse, authorize, acknowledge, hand over to bot/."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp

from bot.lifecycle.bulk import Bulk
from bot.lifecycle.usecases import Numbers
from bot.slack.home import HomePublisher
from bot.store import StoreUnavailable
from handlers import actions, commands, events, submissions
from handlers.acks import Acknowledgements
from handlers.authorize import Gate
from handlers.payloads import requester_of

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    numbers: Numbers,
    bulk: Bulk,
    gate: Gate,
    home: HomePublisher,
    acks: Acknowledgements,
) -> None:
    app.use(gate.middleware)
    commands.register(app, numbers)
    submissions.register(app, numbers, bulk, acks)
    actions.register(app, numbers, bulk)
    events.register(app, home)

    @app.error
    async def tell_the_person(error: Exception, body: dict[str, Any]) -> None:
        """A listener failed after its acknowledgement: the person still hears about it."""
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        requester = requester_of(body)
        if requester is None:
            return
        if isinstance(error, StoreUnavailable):  # an operation is recorded before its call: none was made
            text = (
                ":x: wa-bot's database cannot be reached right now, so nothing was sent to a provider. "
                "Try again in a minute; tell an admin if it persists."
            )
        else:
            text = (
                f":x: wa-bot could not finish that ({type(error).__name__}). If a provider was asked anything, "
                "the number's thread says so (`/wa-numbers <number>`); try again, and tell an admin if it "
                "persists."
            )
        try:
            await numbers.threads.tell(requester, text)
        except Exception as failure:
            log.error("could not tell %s about the failure: %s", requester.user_id, type(failure).__name__)
