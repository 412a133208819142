"""The Slack side of the `Threads` port: parent messages, thread replies, and word to the requester."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.accounts import KaleyraAccount, MetaAccount
from bot.lifecycle.onboarding import Event, Kind, Requester
from bot.slack import views
from bot.slack.words import explain
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
HEADLINES = {
    Kind.ADDED: ":white_check_mark: Added",
    Kind.CODE_SENT: ":incoming_envelope: New code requested",
    Kind.VERIFIED: ":white_check_mark: Verified",
    Kind.UPDATED: ":pencil2: Profile updated",
    Kind.INTERRUPTED: ":warning: Interrupted",
}


def describe(event: Event) -> tuple[str, list[str]]:
    """The summary line and the detail lines of an event, as a person reads them."""
    if event.kind == Kind.FAILED:
        summary = f":x: The {event.action} failed (asked by <@{event.user_id}>)"
        return summary, explain(event.error) if event.error else []
    verb = "asked" if event.kind == Kind.INTERRUPTED else "by"
    return f"{HEADLINES[event.kind]} ({event.action}, {verb} <@{event.user_id}>)", list(event.details)


class SlackThreads:
    def __init__(
        self, client: AsyncWebClient, store: Store, accounts: dict[str, KaleyraAccount | MetaAccount]
    ) -> None:
        self.client = client
        self.store = store
        self.accounts = accounts

    async def open(self, number: Number, requester: Requester) -> Number:
        """Post the number's parent message unless it has one; in a DM when the channel refuses the bot."""
        if number.channel_id and number.thread_ts:
            return number
        text, blocks = views.parent_message(number, self.accounts[number.account])
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
        """Reply in the thread and bring the parent message up to date; if the thread is gone, tell the person."""
        summary, lines = describe(event)
        if not (number.channel_id and number.thread_ts):  # open() failed earlier: the person still hears
            await self.tell(requester, "\n".join([f"{number.e164}: {summary}", *lines]))
            return
        account = self.accounts[number.account]
        resend = event.awaiting_code and isinstance(account, KaleyraAccount) and account.api_version == "v2"
        text, blocks = views.thread_reply(
            summary, lines, number.id, offer_otp=event.awaiting_code, offer_resend=resend
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
        parent_text, parent_blocks = views.parent_message(number, account)
        try:
            await self.client.chat_update(
                channel=number.channel_id, ts=number.thread_ts, text=parent_text, blocks=parent_blocks
            )
        except SlackApiError as error:
            log.warning(
                "could not update the parent of number %s: %s", number.id, error.response.get("error")
            )

    async def tell(self, requester: Requester, text: str) -> None:
        """Ephemerally: through the command's response_url, else in the channel, else by DM."""
        if requester.response_url:
            try:
                sent = await AsyncWebhookClient(requester.response_url).send_dict(
                    {"response_type": "ephemeral", "replace_original": False, "text": text}
                )
                if sent.status_code == 200:
                    return
            except Exception as error:
                log.warning("response_url refused a message: %s", type(error).__name__)
        try:
            await self.client.chat_postEphemeral(
                channel=requester.channel_id, user=requester.user_id, text=text
            )
            return
        except SlackApiError as error:
            log.info("ephemeral refused (%s); sending a DM", error.response.get("error"))
        await self.client.chat_postMessage(channel=requester.user_id, text=text)
