"""Slack listeners only: parse, authorize, acknowledge, hand over to bot/."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from bot.onboarding import Onboarding
from handlers import actions, commands, submissions
from handlers.authorize import Gate


def register(app: AsyncApp, onboarding: Onboarding, gate: Gate) -> None:
    app.use(gate.middleware)
    commands.register(app, onboarding)
    submissions.register(app, onboarding)
    actions.register(app, onboarding)
