"""The App Home, published when a person opens it."""

from __future__ import annotations

from typing import Any

from bot.slack.home import HomePublisher


async def home_opened(event: dict[str, Any], home: HomePublisher) -> None:
    """Bolt acknowledges the event first; the Home is read and published after."""
    user = event.get("user")
    if event.get("tab", "home") != "home" or not isinstance(user, str) or not user:
        return
    await home.publish(user)
