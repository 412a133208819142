"""The Slack side of the `Threads` port: parent messages, thread replies, and word to the requester."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.accounts import Account
from bot.lifecycle.events import Event, Requester
from bot.providers.dialects import dialect_of
from bot.slack import views
from bot.slack.home import HomePublisher
from bot.slack.words import describe
from bot.store import Number, Store

log = logging.getLogger(__name__)

# Answers of chat.postMessage that mean "not in this channel": the thread moves to a DM with the requester.
CHANNEL_REFUSALS = {
    "not_in_channel",
    "channel_not_found",
    "is_archived",
    "restricted_action",
    "access_denied",
    "ekm_access_denied",
    "team_access_not_granted",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel",
}


class SlackThreads:
    def __init__(
        self,
        client: AsyncWebClient,
        store: Store,
        accounts: dict[str, Account],
        sandbox: bool = False,
    ) -> None:
        self.client = client
        self.store = store
        self.accounts = accounts
        self.sandbox = sandbox
        self.home: HomePublisher | None = None  # set once the use-cases exist: it reads through them

    async def open(self, number: Number, requester: Requester) -> Number:
        """Post the number's parent message unless it has one; in a DM when the channel refuses the bot."""
        if number.channel_id and number.thread_ts:
            return number
        text, blocks = views.parent_message(number, self.accounts.get(number.account), sandbox=self.sandbox)
        channel = number.channel_id or requester.channel_id
        try:
            posted = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as error:
            reason = error.response.get("error", "refused")
            if reason not in CHANNEL_REFUSALS:  # rate limits, outages: not a reason to move the thread
                raise
            posted = await self.client.chat_postMessage(channel=requester.user_id, text=text, blocks=blocks)
            await self.tell(
                requester,
                f":warning: I can't post in <#{channel}> (`{reason}`): invite me with "
                f"`/invite @wa-bot`. I've started the thread for {number.e164} in our DM "
                "instead, and everything about it will go there.",
            )
        return await self.store.change(number.id, channel_id=posted["channel"], thread_ts=posted["ts"])

    async def post(self, number: Number, event: Event, requester: Requester) -> None:
        """Reply in the thread and bring the parent message up to date; if the thread is gone, tell the person.

        Whoever acted from somewhere else than the thread (another channel, or a thread that lives in someone
        else's DM) hears the result too, ephemerally, with a link to the thread. Their App Home is republished.
        """
        if self.home is not None:  # in the background: never slows an acknowledgement or this reply
            self.home.schedule(requester.user_id)
        summary, lines = describe(event, number.e164)
        if not (number.channel_id and number.thread_ts):  # open() failed earlier: the person still hears
            await self.tell(requester, "\n".join([f"{number.e164}: {summary}", *lines]))
            return
        account = self.accounts.get(number.account)
        resend = event.awaiting_code and account is not None and dialect_of(account).offers_resend
        text, blocks = views.thread_reply(
            summary,
            lines,
            number.id,
            offer_otp=event.awaiting_code,
            offer_resend=resend,
            retry_operation_id=event.retry_operation_id,
        )
        try:
            await self.client.chat_postMessage(
                channel=number.channel_id, thread_ts=number.thread_ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            log.warning(
                "could not reply in the thread of number %s: %s", number.id, error.response.get("error")
            )
            await self.tell(requester, "\n".join([f"{number.e164}: {summary}", *lines]))
        else:
            if requester.channel_id != number.channel_id and requester.user_id != number.channel_id:
                link = views.thread_link(number.channel_id, number.thread_ts)
                await self.tell(requester, f"{number.e164}: {summary}{link}")
        parent_text, parent_blocks = views.parent_message(number, account, sandbox=self.sandbox)
        try:
            await self.client.chat_update(
                channel=number.channel_id, ts=number.thread_ts, text=parent_text, blocks=parent_blocks
            )
        except SlackApiError as error:
            log.warning(
                "could not update the parent of number %s: %s", number.id, error.response.get("error")
            )

    async def refuse(self, requester: Requester, number: Number, reason: str) -> None:
        """Nothing was done: say why, with the number's state and a link to its thread."""
        await self.tell(requester, views.refusal(number, reason))

    async def tell(self, requester: Requester, text: str) -> None:
        """Ephemerally: through the command's response_url, else in the channel, else (or from the App Home) by DM."""
        if requester.response_url:
            try:
                sent = await AsyncWebhookClient(requester.response_url).send_dict(
                    {"response_type": "ephemeral", "replace_original": False, "text": text}
                )
                if sent.status_code == 200:
                    return
            except Exception as error:
                log.warning("response_url refused a message: %s", type(error).__name__)
        if requester.channel_id == requester.user_id:  # from the App Home (no channel): by DM
            await self.client.chat_postMessage(channel=requester.user_id, text=text)
            return
        try:
            await self.client.chat_postEphemeral(
                channel=requester.channel_id, user=requester.user_id, text=text
            )
            return
        except SlackApiError as error:
            log.info("ephemeral refused (%s); sending a DM", error.response.get("error"))
        await self.client.chat_postMessage(channel=requester.user_id, text=text)
