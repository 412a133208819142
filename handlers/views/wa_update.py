"""The profile form's submission: only changed, valid fields; acknowledged, then handed over."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from bot.slack import forms
from handlers.acks import Acknowledgements
from handlers.answers import FormExpired
from handlers.payloads import ModalContext, view_intent
from handlers.views.modal import ACCOUNT_GONE, kaleyra_account_of


async def wa_update(
    ack: AsyncAck,
    view: dict[str, Any],
    numbers: Numbers,
    acks: Acknowledgements,
    modal: ModalContext,
    values: dict[str, str | None],
    requester: Requester,
) -> None:
    fields = [block_id for block_id in values if block_id != "account"]
    if modal.e164 is None or not fields:  # the bot opens it with a number, and fields to change
        raise FormExpired("/wa-update")
    account = kaleyra_account_of(numbers, values, modal)
    if account is None:
        raise forms.FormErrors({"account" if "account" in values else fields[0]: ACCOUNT_GONE})
    request = forms.update_request(values, modal.e164)
    typed = request.model_dump(mode="json", exclude_none=True, exclude={"phone_number"})
    before = forms.initial_values_of(view)
    if not any(before.get(name) != value for name, value in typed.items()):
        words = "Change at least one field: every filled-in field already has this value."
        raise forms.FormErrors({fields[0]: words if typed else "Fill in at least one field."})
    await ack()
    await acks.settled()
    await numbers.update(account.name, request, requester, view_intent(view))
