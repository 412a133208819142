"""Slack listeners only: parse, authorize, acknowledge, hand over to bot/.

One folder per kind of request, one listener per file; each folder's `register(app)` lists its listeners. The
middlewares here put what they need into Bolt's `context` (handlers/context.py), and what they raise is answered
by `handlers.answers.answer`."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from bot.lifecycle.bulk import Bulk
from bot.lifecycle.usecases import Numbers
from bot.slack.home import HomePublisher
from handlers import actions, commands, events, views
from handlers.acks import Acknowledgements
from handlers.answers import answer
from handlers.authorize import Gate
from handlers.context import Resources


def register(
    app: AsyncApp,
    numbers: Numbers,
    bulk: Bulk,
    gate: Gate,
    home: HomePublisher,
    acks: Acknowledgements,
) -> None:
    app.use(gate.middleware)
    app.use(Resources(numbers, bulk, acks, home))
    commands.register(app)
    views.register(app)
    actions.register(app)
    events.register(app)
    app.error(answer)
