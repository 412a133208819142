"""What the buttons share: the row a button names, and opening the OTP form for a number."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.events import Requester
from bot.lifecycle.states import State
from bot.lifecycle.usecases import Numbers
from bot.slack import messages, modals
from bot.store import Number
from handlers.answers import Refusal
from handlers.payloads import ModalContext, row_id_of

UNREADABLE_BUTTON = (
    "wa-bot cannot read that button, so nothing was done. Find the number with `/wa-numbers <number>` "
    "and use the buttons in its thread."
)


def clicked_row(action: dict[str, Any]) -> int:
    """The number, operation or batch ID the button carries as its value."""
    row_id = row_id_of(action)
    if row_id is None:
        raise Refusal(UNREADABLE_BUTTON)
    return row_id


async def open_otp_modal(
    numbers: Numbers, number: Number, requester: Requester, trigger_id: str, client: AsyncWebClient
) -> None:
    """The OTP form for `number`, or why there is no code to enter."""
    account = numbers.verifying_accounts.get(number.account)
    if account is None or number.state != State.AWAITING_OTP:
        if await numbers.usable(number, requester):  # else it told the person the account is gone
            raise Refusal(messages.refusal(number, "no code is awaited"))
        return
    context = ModalContext(
        channel=requester.channel_id,
        response_url=requester.response_url,
        number_id=number.id,
        account=number.account,
        e164=number.e164,
    )
    view = modals.otp_modal(
        number.e164,
        account,
        context.dump(),
        ask_id=not number.phone_number_id_confirmed,
        typed_id=number.phone_number_id,
    )
    await client.views_open(trigger_id=trigger_id, view=view)
