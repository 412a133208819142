"""The Slack side of the `Threads` port: parent messages, thread replies, and word to the requester.

Everything for a number's thread goes through the outbox (bot/slack/outbox.py): recorded, then delivered by
`deliver()`, in order, until Slack takes it. Word to the requester (`tell`) goes straight to Slack."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.accounts import Account
from bot.lifecycle.events import Event, Requester
from bot.providers.dialects import dialect_of
from bot.providers.sandbox import otp_of
from bot.slack import messages
from bot.slack.outbox import EDIT, MASK, NOTICE, PARENT, REPLY, Item, Outbox, Thread, unsent
from bot.slack.words import describe
from bot.store import Number, Store

log = logging.getLogger(__name__)

PARENT_WAIT_SECONDS = 2.0  # open() waits at most this long for the parent to be posted and written down


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
        changed_by: Callable[[str], None] | None = None,
        sandbox: bool = False,
        lease: timedelta = timedelta(seconds=45),
        backoff_seconds: float = 0.5,
    ) -> None:
        self.client = client
        self.store = store
        self.accounts = accounts
        self.sandbox = sandbox
        self.changed_by = changed_by  # told who changed a number (the App Home republishes theirs)
        self.outbox = Outbox(store, self.deliver, lease, first_pause=backoff_seconds)

    async def open(self, number: Number, requester: Requester) -> Number:
        """Record the number's parent message unless it has one; it goes in a DM if the channel refuses the bot."""
        if number.channel_id and number.thread_ts:
            return number
        if number.id not in self.outbox.threads:
            text, blocks = messages.parent_message(
                number, self.accounts.get(number.account), sandbox=self.sandbox
            )
            channel = number.channel_id or requester.channel_id
            message = {"channel": channel, "text": text, "blocks": blocks, "e164": number.e164}
            await self.outbox.put(Item(number.id, PARENT, message, requester))
            # With Slack and the store up, the thread is posted and written down before the provider is called:
            # a process that dies mid-call leaves a thread the sweeper replies in. With either away, the call
            # does not wait longer than this; the parent stays recorded and is delivered when it can be.
            await self.outbox.written(number.id, PARENT_WAIT_SECONDS)
        thread = self.outbox.threads.get(number.id)
        if thread is None:  # not posted yet: the thread's replies wait for it in the outbox
            return number
        opened = Number(**{column.key: getattr(number, column.key) for column in Number.__table__.columns})
        opened.channel_id, opened.thread_ts = thread
        return opened

    async def post(self, number: Number, event: Event, requester: Requester) -> None:
        """Record the reply in the thread and the parent message's edit to the new state; the outbox delivers them
        (if the thread could not be started anywhere, the person is told instead).

        Whoever acted from somewhere else than the thread (another channel, or a thread that lives in someone
        else's DM) hears the result too, ephemerally, with a link to the thread. Their App Home is republished.
        """
        if self.changed_by is not None:  # in the background: never slows an acknowledgement or this reply
            self.changed_by(requester.user_id)
        summary, lines = describe(event, number.e164)
        account = self.accounts.get(number.account)
        resend = event.awaiting_code and account is not None and dialect_of(account).offers_resend
        text, blocks = messages.thread_reply(
            summary,
            lines,
            number.id,
            offer_otp=event.awaiting_code,
            offer_resend=resend,
            retry_operation_id=event.retry_operation_id,
        )
        told = "\n".join([f"{number.e164}: {summary}", *lines])
        parent_text, parent_blocks = messages.parent_message(number, account, sandbox=self.sandbox)
        # The sandbox's code is derived, never stored: the outbox's record holds a mask, filled in at delivery.
        secret = event.facts.sandbox_otp
        extra = {"sandbox_code_of": number.phone_number_id} if secret and number.phone_number_id else {}
        items = [
            Item(number.id, REPLY, {"text": text, "blocks": blocks, "told": told, **extra}, requester, secret)
        ]
        thread = self.outbox.threads.get(number.id) or (
            (number.channel_id, number.thread_ts) if number.channel_id and number.thread_ts else None
        )
        if thread is None or _elsewhere(
            requester, thread
        ):  # decided at delivery when the thread is not known
            items.append(Item(number.id, NOTICE, {"text": f"{number.e164}: {summary}"}, requester))
        items.append(Item(number.id, EDIT, {"text": parent_text, "blocks": parent_blocks}, requester))
        await self.outbox.put(*items)

    async def deliver(self, item: Item, thread: Thread | None) -> Thread | None:
        """Make the outbox's `item` in Slack; the thread it now knows. Raises what `unsent()` reads as "try again";
        Slack's lasting refusals are answered as before: the thread moves to a DM, or the person is told."""
        message = _unmasked(item.message)
        if item.kind == PARENT:
            if thread is None and item.claimed:  # another process may have posted it before it stopped
                thread = await self._stored_thread(item.number_id)
            return thread or await self._post_parent(message, item.requester)
        if thread is None:
            thread = await self._stored_thread(item.number_id)
        requester = item.requester
        if item.kind == REPLY:
            if thread is None:  # the thread could not be started anywhere: the person still hears
                await self.tell(requester, message["told"])
                return None
            try:
                await self.client.chat_postMessage(
                    channel=thread[0], thread_ts=thread[1], text=message["text"], blocks=message["blocks"]
                )
            except SlackApiError as error:
                if unsent(error):
                    raise
                log.warning(
                    "could not reply in the thread of number %s: %s",
                    item.number_id,
                    error.response.get("error"),
                )
                await self.tell(requester, message["told"])
        elif item.kind == NOTICE:
            if thread is not None and _elsewhere(requester, thread):
                await self._tell(requester, message["text"] + messages.thread_link(*thread))
        elif item.kind == EDIT and thread is not None:
            try:
                await self.client.chat_update(
                    channel=thread[0], ts=thread[1], text=message["text"], blocks=message["blocks"]
                )
            except SlackApiError as error:
                if unsent(error):
                    raise
                log.warning(
                    "could not update the parent of number %s: %s",
                    item.number_id,
                    error.response.get("error"),
                )
        return thread

    async def _post_parent(self, message: dict[str, Any], requester: Requester) -> Thread:
        text, blocks, channel = message["text"], message["blocks"], message["channel"]
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
                f"`/invite @wa-bot`. I've started the thread for {message['e164']} in our DM "
                "instead, and everything about it will go there.",
            )
        return str(posted["channel"]), str(posted["ts"])

    async def _stored_thread(self, number_id: int) -> Thread | None:
        number = await self.store.number(number_id)
        if number is None or not (number.channel_id and number.thread_ts):
            return None
        return number.channel_id, number.thread_ts

    async def refuse(self, requester: Requester, number: Number, reason: str) -> None:
        """Nothing was done: say why, with the number's state and a link to its thread."""
        await self.tell(requester, messages.refusal(number, reason))

    async def tell(self, requester: Requester, text: str) -> None:
        """Ephemerally: through the command's response_url, else in the channel, else (or from the App Home) by DM.
        Never raises for Slack's sake: what cannot be said is logged."""
        try:
            await self._tell(requester, text)
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning("could not tell %s something: %s", requester.user_id, reason)

    async def _tell(self, requester: Requester, text: str) -> None:
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
            if unsent(error):
                raise
            log.info("ephemeral refused (%s); sending a DM", error.response.get("error"))
        await self.client.chat_postMessage(channel=requester.user_id, text=text)


def _elsewhere(requester: Requester, thread: Thread) -> bool:
    """The person acted somewhere else than the thread's conversation."""
    return requester.channel_id != thread[0] and requester.user_id != thread[0]


def _unmasked(message: dict[str, Any]) -> dict[str, Any]:
    """The message as Slack gets it: a sandbox code the store kept masked is derived again from its number's ID."""
    of = message.get("sandbox_code_of")
    if not of or MASK not in json.dumps(message):
        return message
    return dict(json.loads(json.dumps(message).replace(MASK, otp_of(of))))
