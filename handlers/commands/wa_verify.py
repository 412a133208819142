"""`/wa-verify <number>` opens the OTP form for the number (asking its phone number ID when it is not known)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.states import State
from bot.lifecycle.usecases import Numbers, waiting_or_latest
from bot.slack import modals, words
from bot.store import Number
from handlers.answers import Refusal
from handlers.commands.arguments import modal_context, number_argument, refuse_if_gone
from handlers.payloads import READ_BUDGET_SECONDS


async def wa_verify(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, numbers: Numbers) -> None:
    e164 = number_argument(command)
    await ack()
    found = await asyncio.wait_for(numbers.with_number(e164), READ_BUDGET_SECONDS)
    kaleyra = numbers.verifying_accounts
    number = waiting_or_latest([n for n in found if n.account in kaleyra])
    refuse_unverifiable(numbers, e164, number, found)
    if number is not None:
        account = kaleyra[number.account]
        context = modal_context(command, account=account.name, e164=e164, number_id=number.id)
        ask_id = not (number.phone_number_id and number.phone_number_id_confirmed)
        view = modals.otp_modal(e164, account, context, ask_id=ask_id, typed_id=number.phone_number_id)
    else:  # unknown to the bot: ask for the phone number ID (and the account, when there are several)
        first = next(iter(kaleyra.values()))
        context = modal_context(command, account=first.name, e164=e164)
        view = modals.otp_modal(e164, first, context, ask_id=True, choices=list(kaleyra.values()))
    await client.views_open(trigger_id=command["trigger_id"], view=view)


def refuse_unverifiable(numbers: Numbers, e164: str, number: Number | None, found: list[Number]) -> None:
    """Refuse when there is no code to enter for `number` (None: no Kaleyra account holds `e164`)."""
    if number is None and not numbers.verifying_accounts:
        raise Refusal("No Kaleyra account is configured: nothing to verify.")
    if number is None:
        refuse_if_gone(numbers, found)
    elif number.state == State.ADDING:
        raise Refusal(f"{e164} is still being added: wait for its thread.")
    elif number.state in (State.VERIFIED, State.ADDED):
        raise Refusal(f"{e164} is {words.state_words(number.state)}: there is no code to enter.")
