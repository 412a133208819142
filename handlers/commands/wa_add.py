"""`/wa-add [number] [name]` opens the add form, pre-filled; `/wa-add bulk` the bulk add form."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.usecases import Numbers
from bot.slack import modals, words
from handlers.answers import Refusal
from handlers.commands.arguments import HELP_WORDS, modal_context
from handlers.payloads import split_number_and_name


async def wa_add(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, numbers: Numbers) -> None:
    accounts = list(numbers.accounts.values())
    text = command.get("text", "").strip()
    if text.lower() in HELP_WORDS:
        raise Refusal(words.usage("/wa-add"))
    if text.lower() == "bulk":
        await ack()
        view = modals.bulk_modal(accounts, accounts[0], modal_context(command))
        await client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    phone, typed, name = split_number_and_name(text)
    if text and phone is None:
        problem = f"`{text.split()[0]}` is not a phone number I can read (include the country code)."
        raise Refusal(words.usage("/wa-add", problem))
    await ack()
    carried = {"phone_number": typed or None, "wa_number": typed or None, "name": name, "display_name": name}
    view = modals.add_modal(accounts, accounts[0], modal_context(command), carried)
    await client.views_open(trigger_id=command["trigger_id"], view=view)
