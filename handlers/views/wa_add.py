"""The add form's submission: checked at the door (errors under the fields), acknowledged, then handed over."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Account
from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers, Result
from bot.slack import forms, messages, modals
from bot.slack.words import explain
from handlers.acks import Acknowledgements
from handlers.payloads import ModalContext, bounded, view_intent
from handlers.views.modal import account_of, show


async def wa_add(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    numbers: Numbers,
    acks: Acknowledgements,
    modal: ModalContext,
    values: dict[str, str | None],
    requester: Requester,
) -> None:
    account = account_of(numbers, values, modal)
    request = forms.add_request(account, values)
    live = await bounded(numbers.live(account.name, request.e164))
    if live is not None:  # nothing is sent and nothing changes; the lifecycle would refuse it anyway
        raise forms.FormErrors({forms.number_block(account): messages.live_number(live)})
    if not forms.keeps_form_open(account):
        await ack()
        await acks.settled()
        await numbers.add(account.name, request, requester, view_intent(view))
        return
    # v1 answers with field errors (E947/E413, E962): the form stays open to show them where they were typed.
    await ack(
        response_action="update", view=modals.notice_modal("Adding…", ["Asking Kaleyra to add the number…"])
    )
    result = await numbers.add(account.name, request, requester, view_intent(view))
    await show(client, view, after_add(numbers, view, modal, values, account, result))


def after_add(
    numbers: Numbers,
    view: dict[str, Any],
    modal: ModalContext,
    values: dict[str, str | None],
    account: Account,
    result: Result,
) -> dict[str, Any]:
    """The modal after a v1 add: the form again with Kaleyra's field errors under its fields, or the outcome."""
    refusal = result.error
    form_fields = set(forms.initial_values_of(view))
    problems = {k: v for k, v in (refusal.field_errors if refusal else {}).items() if k in form_fields}
    if problems:
        return modals.add_modal(list(numbers.accounts.values()), account, modal.dump(), values, problems)
    if refusal:
        return modals.notice_modal("Not added", explain(refusal))
    if result.done:
        return modals.notice_modal("Added", [":white_check_mark: The number's thread has the record."])
    return modals.notice_modal("Not added", ["wa-bot sent you a message saying why."])
