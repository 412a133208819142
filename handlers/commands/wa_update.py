"""`/wa-update <number>` opens the profile form, pre-filled with what the bot last set."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.usecases import Numbers, waiting_or_latest
from bot.slack import modals
from handlers.answers import Refusal
from handlers.commands.arguments import modal_context, number_argument, refuse_if_gone
from handlers.payloads import READ_BUDGET_SECONDS


async def wa_update(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, numbers: Numbers) -> None:
    e164 = number_argument(command)
    await ack()
    found = await asyncio.wait_for(numbers.with_number(e164), READ_BUDGET_SECONDS)
    kaleyra = numbers.verifying_accounts
    number = waiting_or_latest([n for n in found if n.account in kaleyra])
    if number is not None:
        account = kaleyra[number.account]
        context = modal_context(command, account=account.name, e164=e164, number_id=number.id)
        view = modals.update_modal(e164, account, number.profile, context)
        await client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    refuse_if_gone(numbers, found)
    if found or not kaleyra:
        where = "is on a Meta account, whose profile" if found else "cannot be updated: a profile"
        raise Refusal(f"{e164} {where} is managed through Kaleyra, and no Kaleyra account holds it here.")
    # added outside the bot: the first Kaleyra account, or the one picked in the modal
    first = next(iter(kaleyra.values()))
    context = modal_context(command, account=first.name, e164=e164)
    view = modals.update_modal(e164, first, {}, context, choices=list(kaleyra.values()))
    await client.views_open(trigger_id=command["trigger_id"], view=view)
