"""The modals' account select: switching the account swaps the modal's fields for what that account needs; what
was typed stays."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Account
from bot.lifecycle.usecases import Numbers
from bot.slack import forms, modals
from bot.slack.ids import CallbackId
from handlers.payloads import ModalContext


async def switch_account(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, numbers: Numbers
) -> None:
    await ack()
    view = body["view"]
    chosen = numbers.accounts.get(action["selected_option"]["value"])
    context = ModalContext.of(view)
    if chosen is None or context is None:
        return
    context.account = chosen.name
    new_view = swapped(numbers, view, chosen, context)
    if new_view is not None:
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)


def swapped(
    numbers: Numbers, view: dict[str, Any], chosen: Account, context: ModalContext
) -> dict[str, Any] | None:
    """`view` for the `chosen` account, with what was typed; None when the modal has no such variant."""
    typed = forms.values_of(view.get("state"))
    kaleyra = numbers.verifying_accounts
    choices = list(kaleyra.values())
    if view["callback_id"] == CallbackId.ADD:
        number = typed.get("phone_number") or typed.get("wa_number")
        name = typed.get("name") or typed.get("display_name")
        carried = {"phone_number": number, "wa_number": number, "name": name, "display_name": name}
        return modals.add_modal(list(numbers.accounts.values()), chosen, context.dump(), carried)
    if view["callback_id"] == CallbackId.UPDATE and chosen.name in kaleyra and context.e164:
        return modals.update_modal(context.e164, kaleyra[chosen.name], typed, context.dump(), choices=choices)
    if view["callback_id"] == CallbackId.VERIFY and context.e164:
        return modals.otp_modal(context.e164, chosen, context.dump(), ask_id=True, choices=choices)
    return None
