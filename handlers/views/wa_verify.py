"""The OTP form's submission: the code checked at the door, then with Kaleyra while the modal says so; a refused
code brings the form back with the reason."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Account
from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers, Result, VerifyRequest
from bot.slack import forms, modals
from bot.slack.words import explain
from handlers.payloads import ModalContext, view_intent
from handlers.views.modal import ACCOUNT_GONE, kaleyra_account_of, show


async def wa_verify(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    numbers: Numbers,
    modal: ModalContext,
    values: dict[str, str | None],
    requester: Requester,
) -> None:
    account, request = verify_form(numbers, modal, values)
    await ack(
        response_action="update", view=modals.notice_modal("Verifying…", ["Checking the code with Kaleyra…"])
    )
    result = await numbers.verify(account.name, request, requester, view_intent(view))
    await show(client, view, after_verify(account, modal, result))


def verify_form(
    numbers: Numbers, modal: ModalContext, values: dict[str, str | None]
) -> tuple[Account, VerifyRequest]:
    """The account and the request of an OTP form; every problem with it under its field."""
    errors: dict[str, str] = {}
    request: VerifyRequest | None = None
    try:
        request = forms.verify_request(values, modal.e164 or "")
    except forms.FormErrors as error:
        errors = error.errors
    account = kaleyra_account_of(numbers, values, modal)
    if account is None:
        errors["account" if "account" in values else "otp"] = ACCOUNT_GONE  # under a block the form has
    if errors:
        raise forms.FormErrors(errors)
    if account is None or request is None or modal.e164 is None:
        raise forms.FormErrors({"otp": "This form has expired: run /wa-verify again."})
    return account, request


def after_verify(account: Account, modal: ModalContext, result: Result) -> dict[str, Any]:
    """The modal after Kaleyra answered: verified, the OTP form again with the reason, or where to look."""
    number = result.number
    if result.done and number is not None:
        lines = [f":white_check_mark: *{number.e164}* is verified.", "The number's thread has the details."]
        return modals.notice_modal("Verified", lines)
    if number is None or result.error is None:
        return modals.notice_modal("Not verified", ["wa-bot sent you a message saying why."])
    modal.number_id = number.id
    return modals.otp_modal(
        number.e164,
        account,
        modal.dump(),
        problem=explain(result.error),
        ask_id=not number.phone_number_id_confirmed,
        typed_id=number.phone_number_id,
    )
