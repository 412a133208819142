"""The App Home's Add number: the same add modal as /wa-add. The Home has no channel, so the number's thread and
every answer go to the person's DM with the bot."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from bot.slack import modals
from handlers.payloads import ModalContext


async def add_number(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, numbers: Numbers, requester: Requester | None
) -> None:
    await ack()
    if requester is None or not isinstance(body.get("trigger_id"), str):
        return
    accounts = list(numbers.accounts.values())
    context = ModalContext(channel=requester.channel_id, response_url=requester.response_url)
    view = modals.add_modal(accounts, accounts[0], context.dump())
    await client.views_open(trigger_id=body["trigger_id"], view=view)
