"""Events API listeners, one per file."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from handlers.events.home_opened import home_opened


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)
