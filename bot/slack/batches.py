"""The Slack side of a bulk add's `Board`: one message with a progress bar, edited in place, and a summary in
its thread with Retry failed. Never a message per number."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Account
from bot.lifecycle.bulk import Failure, Progress
from bot.slack import messages, words
from bot.slack.blocks import clip
from bot.slack.home import HomePublisher
from bot.store import Batch

log = logging.getLogger(__name__)
# While a batch runs, its requester's App Home is rebuilt at most this often (each rebuild reads every number);
# once it ends, at once.
HOME_EVERY_SECONDS = 15.0


class SlackBoard:
    def __init__(
        self,
        client: AsyncWebClient,
        accounts: dict[str, Account],
        home: HomePublisher | None = None,
        sandbox: bool = False,
    ) -> None:
        self.client = client
        self.accounts = accounts
        self.home = home
        self.sandbox = sandbox
        self._home_at: dict[int, float] = {}  # batch → when its requester's Home was last asked for

    def _label(self, batch: Batch) -> str:
        return words.account_label(batch.account, self.accounts.get(batch.account))

    async def begin(self, batch: Batch, skipped: Sequence[Failure]) -> str | None:
        """Post the batch's message (a reply in the first batch's thread for a Retry failed); its ts."""
        progress = Progress(batch.id, batch.account, total=len(batch.lines))
        text, blocks = messages.batch_message(batch, progress, self._label(batch), self.sandbox)
        try:
            posted = await self.client.chat_postMessage(
                channel=batch.channel_id, thread_ts=batch.thread_ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            log.warning("bulk add %s: message not posted (%s)", batch.id, error.response.get("error"))
            await self._dm(batch, f"Bulk add #{batch.id} could not post in <#{batch.channel_id}>: {text}")
            return None
        if skipped:  # in the thread the batch's message is in: Slack threads a reply only on its parent
            thread = batch.thread_ts or posted["ts"]
            await self._reply(batch, thread, "\n".join(messages.skipped_lines(skipped)), None)
        ts: str = posted["ts"]
        return ts

    async def show(self, batch: Batch, progress: Progress) -> None:
        if batch.message_ts is None:
            return
        text, blocks = messages.batch_message(batch, progress, self._label(batch), self.sandbox)
        try:
            await self.client.chat_update(
                channel=batch.channel_id, ts=batch.message_ts, text=text, blocks=blocks
            )
        except SlackApiError as error:  # the next edit brings it up to date
            log.warning("bulk add %s: progress not shown (%s)", batch.id, error.response.get("error"))
        self._refresh_home(batch, progress.finished)

    def _refresh_home(self, batch: Batch, finished: bool) -> None:
        now = time.monotonic()
        if self.home is None or (
            not finished and now - self._home_at.get(batch.id, 0.0) < HOME_EVERY_SECONDS
        ):
            return
        self._home_at[batch.id] = now
        if finished:
            self._home_at.pop(batch.id, None)
        self.home.schedule(batch.user_id)

    async def end(self, batch: Batch, progress: Progress) -> None:
        """The summary in the batch's thread (by DM if the channel refuses)."""
        text, blocks = messages.batch_summary(batch, progress, self.accounts.get(batch.account))
        self._refresh_home(batch, finished=True)
        if batch.message_ts is not None:
            thread = batch.thread_ts or batch.message_ts
            if await self._reply(batch, thread, text, blocks):
                return
        await self._dm(batch, text, blocks)

    async def _reply(
        self, batch: Batch, thread_ts: str, text: str, blocks: list[dict[str, Any]] | None
    ) -> bool:
        try:
            await self.client.chat_postMessage(
                channel=batch.channel_id, thread_ts=thread_ts, text=clip(text, 3000), blocks=blocks
            )
            return True
        except SlackApiError as error:
            log.warning("bulk add %s: thread reply refused (%s)", batch.id, error.response.get("error"))
            return False

    async def _dm(self, batch: Batch, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        try:
            await self.client.chat_postMessage(channel=batch.user_id, text=clip(text, 3000), blocks=blocks)
        except SlackApiError as error:
            log.error(
                "bulk add %s: could not reach <@%s> (%s)",
                batch.id,
                batch.user_id,
                error.response.get("error"),
            )
