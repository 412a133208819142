"""The one authorization middleware: everyone outside the allow-lists is refused at every door, politely.

The middleware runs before a listener acknowledges, inside Slack's 3 seconds, so it never calls Slack: the
allowed user groups' members come from a cache that a background task re-reads every `ttl` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import background
from bot.slack import home, modals
from handlers.payloads import channel_of, in_background

log = logging.getLogger(__name__)
REFUSAL = (
    "Sorry, you are not on wa-bot's allow-list, so you cannot add, verify or update numbers. "
    "Ask an admin to add you to WA_BOT_ALLOWED_USERS or an allowed user group."
)
NOT_CHECKED_YET = (
    "wa-bot could not check its allowed user groups' members yet: if you are in one, try again in a moment."
)


class Gate:
    """Who may act: WA_BOT_ALLOWED_USERS, members of WA_BOT_ALLOWED_USERGROUPS, or everyone when both are unset.

    `start()` begins re-reading the user groups every `ttl_seconds`; `close()` stops it. Until the first
    reading is done, a request not from WA_BOT_ALLOWED_USERS waits for it at most `cold_wait_seconds`.
    """

    def __init__(
        self,
        users: frozenset[str],
        usergroups: frozenset[str],
        client: AsyncWebClient,
        ttl_seconds: float = 60.0,
        cold_wait_seconds: float = 1.0,
    ) -> None:
        self.users = users
        self.usergroups = usergroups
        self.client = client
        self.ttl = ttl_seconds
        self.cold_wait = cold_wait_seconds
        self._members: dict[str, frozenset[str]] = {}  # each group's last good reading
        self._first_reading = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def open(self) -> bool:
        return not self.users and not self.usergroups

    def start(self) -> None:
        if self.usergroups and self._refresher is None:
            self._refresher = background.start("user groups refresh", self._keep_fresh)

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None

    async def refresh(self) -> None:
        """Read every group's members; a group that cannot be read keeps its last good members."""
        await asyncio.gather(*(self._read(group) for group in self.usergroups))
        self._first_reading.set()

    async def refusal_for(self, user_id: str | None) -> str | None:
        """None when `user_id` may act; otherwise what to tell them."""
        if self.open or (user_id and user_id in self.users):
            return None
        if not user_id or not self.usergroups:
            return REFUSAL
        if not self._first_reading.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_reading.wait(), self.cold_wait)
        if any(user_id in members for members in self._members.values()):
            return None
        if self._members.keys() < self.usergroups:  # a group never read yet: the person may be in it
            return f"{REFUSAL} {NOT_CHECKED_YET}"
        return REFUSAL

    async def _keep_fresh(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.ttl)

    async def _read(self, group: str) -> None:
        try:
            answer = await self.client.usergroups_users_list(usergroup=group)
        except Exception as error:  # whatever went wrong, the last good members stand until the next reading
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning(
                "cannot read the members of user group %s (%s): keeping what was known", group, reason
            )
            return
        self._members[group] = frozenset(answer.get("users") or [])

    async def middleware(
        self, body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        refusal = await self.refusal_for(context.get("user_id"))
        if refusal is None:
            await next()
            return None
        kind = body.get("type") or ("slash_command" if "command" in body else "")
        log.info("refused %s from %s", kind or "a request", context.get("user_id"))
        if kind == "view_submission":
            view = modals.notice_modal("Not allowed", [refusal])
            return BoltResponse(status=200, body={"response_action": "update", "view": view})
        channel = channel_of(body)
        if kind == "block_actions" and channel:
            in_background(self._refuse_in_channel(channel, str(context.get("user_id")), refusal))
        if kind == "event_callback" and context.get("user_id"):  # the App Home: why, and no number
            in_background(self._refuse_home(str(context.get("user_id")), refusal))
        if kind == "slash_command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": refusal})
        return BoltResponse(status=200, body="")

    async def _refuse_home(self, user_id: str, refusal: str) -> None:
        try:
            await self.client.views_publish(user_id=user_id, view=home.refused_view(refusal))
        except SlackApiError as error:
            log.warning("could not publish the refusal Home of %s: %s", user_id, error.response.get("error"))

    async def _refuse_in_channel(self, channel: str, user_id: str, refusal: str) -> None:
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user_id, text=refusal)
        except SlackApiError:
            await self.client.chat_postMessage(channel=user_id, text=refusal)
