"""Slack listeners only: parse, authorize, acknowledge, hand over to bot/."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from handlers import actions, commands, submissions
from handlers.authorize import Gate

log = logging.getLogger(__name__)


def register(app: AsyncApp, numbers: Numbers, gate: Gate) -> None:
    app.use(gate.middleware)
    commands.register(app, numbers)
    submissions.register(app, numbers)
    actions.register(app, numbers)

    @app.error
    async def tell_the_person(error: Exception, body: dict[str, Any]) -> None:
        """A listener failed after its acknowledgement: the person still hears about it."""
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        if not user:
            return
        channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or user
        requester = Requester(user_id=user, channel_id=channel, response_url=body.get("response_url"))
        text = (
            f":x: wa-bot could not finish that ({type(error).__name__}). If a provider was asked anything, "
            "the number's thread says so (`/wa-numbers <number>`); try again, and tell an admin if it persists."
        )
        try:
            await numbers.threads.tell(requester, text)
        except Exception as failure:
            log.error("could not tell %s about the failure: %s", user, type(failure).__name__)
