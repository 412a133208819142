"""The one authorization middleware: everyone outside the allow-lists is refused at every door, politely."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import views
from handlers.payloads import in_background

log = logging.getLogger(__name__)
REFUSAL = (
    "Sorry, you are not on wa-bot's allow-list, so you cannot add, verify or update numbers. "
    "Ask an admin to add you to WA_BOT_ALLOWED_USERS or an allowed user group."
)


class Gate:
    """Who may act: WA_BOT_ALLOWED_USERS, members of WA_BOT_ALLOWED_USERGROUPS, or everyone when both are unset."""

    def __init__(
        self,
        users: frozenset[str],
        usergroups: frozenset[str],
        client: AsyncWebClient,
        ttl_seconds: float = 60.0,
    ) -> None:
        self.users = users
        self.usergroups = usergroups
        self.client = client
        self.ttl = ttl_seconds
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    @property
    def open(self) -> bool:
        return not self.users and not self.usergroups

    async def allows(self, user_id: str | None) -> bool:
        if self.open:
            return True
        if not user_id:
            return False
        if user_id in self.users:
            return True
        for group in self.usergroups:
            if user_id in await self._members_of(group):
                return True
        return False

    async def _members_of(self, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            answer = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(answer.get("users") or [])
        except SlackApiError as error:
            log.warning("cannot read user group %s: %s", group, error.response.get("error"))
            members = cached[1] if cached else frozenset()
        self._members[group] = (time.monotonic(), members)
        return members

    async def middleware(
        self, body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        if await self.allows(context.get("user_id")):
            await next()
            return None
        kind = body.get("type") or ("slash_command" if "command" in body else "")
        log.info("refused %s from %s", kind or "a request", context.get("user_id"))
        if kind == "view_submission":
            view = views.notice_modal("Not allowed", [REFUSAL])
            return BoltResponse(status=200, body={"response_action": "update", "view": view})
        if kind == "block_actions" and body.get("channel"):
            in_background(self._refuse_in_channel(body["channel"]["id"], str(context.get("user_id"))))
        if kind == "slash_command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": REFUSAL})
        return BoltResponse(status=200, body="")

    async def _refuse_in_channel(self, channel: str, user_id: str) -> None:
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user_id, text=REFUSAL)
        except SlackApiError:
            await self.client.chat_postMessage(channel=user_id, text=REFUSAL)
