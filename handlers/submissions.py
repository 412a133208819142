"""The three modal submissions: validate at the door (errors inline), acknowledge, then hand over."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import KaleyraAccount, MetaAccount
from bot.lifecycle.bulk import Bulk
from bot.lifecycle.usecases import Numbers
from bot.providers.requests import AddWhatsAppNumberRequest
from bot.slack import forms, views
from bot.slack.words import explain
from handlers.acks import Acknowledgements
from handlers.payloads import ModalContext, bounded, user_of, view_intent

log = logging.getLogger(__name__)


ACCOUNT_GONE = "Pick one of the Kaleyra accounts."
NO_SUCH_ACCOUNT = {"account": "Pick one of the accounts in the list."}


def expired(command: str) -> dict[str, Any]:
    """The answer to a form that cannot be read (forged, or from an older bot): nothing was sent, start again."""
    words = f"wa-bot cannot read this form any more, so nothing was sent. Close it and run {command} again."
    return views.notice_modal("Form expired", [words])


def register(app: AsyncApp, numbers: Numbers, bulk: Bulk, acks: Acknowledgements) -> None:
    accounts = numbers.accounts

    def account_of(
        values: dict[str, str | None], context: ModalContext
    ) -> KaleyraAccount | MetaAccount | None:
        """The account picked in the modal (or the one it was opened for); None for a name not configured."""
        return accounts.get(values.get("account") or context.account or next(iter(accounts)))

    async def read(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], command: str
    ) -> tuple[ModalContext, str, dict[str, str | None]] | None:
        """The modal's context, who submitted it and what they typed; None after saying the form is unreadable."""
        context, user = ModalContext.of(view), user_of(body)
        if context is None or user is None:
            await ack(response_action="update", view=expired(command))
            return None
        return context, user, forms.values_of(view.get("state"))

    async def show(client: AsyncWebClient, view: dict[str, Any], next_view: dict[str, Any]) -> None:
        try:
            await client.views_update(view_id=view["id"], view=next_view)
        except SlackApiError as error:  # the person closed the modal: the thread has the result
            log.info("could not update the modal: %s", error.response.get("error"))

    @app.view("wa_add")
    async def wa_add(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if (form := await read(ack, body, view, "/wa-add")) is None:
            return
        context, user, values = form
        account = account_of(values, context)
        if account is None:
            await ack(response_action="errors", errors=NO_SUCH_ACCOUNT)
            return
        try:
            request = forms.add_request(account, values)
        except forms.FormErrors as error:
            await ack(response_action="errors", errors=error.errors)
            return
        number_block = forms.number_block(account)
        live = await bounded(numbers.live(account.name, request.e164))
        if live is not None:  # nothing is sent and nothing changes; the lifecycle would refuse it anyway
            await ack(response_action="errors", errors={number_block: views.live_number(live)})
            return
        requester = context.requester(user)
        if not isinstance(request, AddWhatsAppNumberRequest):
            await ack()
            await acks.settled()
            await numbers.add(account.name, request, requester, view_intent(view))
            return
        # v1 answers with field errors (E947/E413, E962): keep the form open to show them where they were typed.
        await ack(
            response_action="update",
            view=views.notice_modal("Adding…", ["Asking Kaleyra to add the number…"]),
        )
        result = await numbers.add(account.name, request, requester, view_intent(view))
        refusal = result.error
        form_fields = set(forms.initial_values_of(view))
        problems = {k: v for k, v in (refusal.field_errors if refusal else {}).items() if k in form_fields}
        if problems:
            next_view = views.add_modal(list(accounts.values()), account, context.dump(), values, problems)
        elif refusal:
            next_view = views.notice_modal("Not added", explain(refusal))
        elif result.done:
            next_view = views.notice_modal(
                "Added", [":white_check_mark: The number's thread has the record."]
            )
        else:
            next_view = views.notice_modal("Not added", ["wa-bot sent you a message saying why."])
        await show(client, view, next_view)

    @app.view("wa_bulk")
    async def wa_bulk(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Every line checked (and none live on the account) before the batch is recorded and acknowledged."""
        if (form := await read(ack, body, view, "/wa-add bulk")) is None:
            return
        context, user, values = form
        account = account_of(values, context)
        if account is None:
            await ack(response_action="errors", errors=NO_SUCH_ACCOUNT)
            return
        try:
            lines = forms.bulk_lines(values.get("numbers") or "", account)
        except forms.FormErrors as error:
            await ack(response_action="errors", errors=error.errors)
            return
        live = await bounded(numbers.live_among(account.name, [line.e164 for line in lines])) or []
        if live:  # the lifecycle would refuse these lines one by one; say so before anything is sent
            state_of = {number.e164: views.state_words(number.state) for number in live}
            problems = [
                f"Line {line.line}: {line.e164} is already {state_of[line.e164]} on this account."
                for line in lines
                if line.e164 in state_of
            ]
            await ack(response_action="errors", errors={"numbers": forms.problems_in_words(problems)})
            return
        # Recorded before the acknowledgement: what was pasted survives a crash from here on.
        batch = await bulk.submit(account.name, lines, context.requester(user), view_intent(view))
        await ack()
        if batch is not None:  # None: a double submission, already running
            bulk.launch(batch)

    @app.view("wa_verify")
    async def wa_verify(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if (form := await read(ack, body, view, "/wa-verify")) is None:
            return
        context, user, values = form
        errors: dict[str, str] = {}
        otp = typed_id = ""
        try:
            otp = forms.otp_of(values)
        except forms.FormErrors as error:
            errors.update(error.errors)
        account = accounts.get(values.get("account") or context.account or "")
        if not isinstance(account, KaleyraAccount):
            errors["account" if "account" in values else "otp"] = ACCOUNT_GONE  # under a block the form has
        if "id" in values:  # the modal asks for the phone number ID
            try:
                typed_id = forms.phone_number_id_of(values)
            except forms.FormErrors as error:
                errors.update(error.errors)
        if errors or account is None or context.e164 is None:
            await ack(
                response_action="errors",
                errors=errors or {"otp": "This form has expired: run /wa-verify again."},
            )
            return
        requester = context.requester(user)
        await ack(
            response_action="update",
            view=views.notice_modal("Verifying…", ["Checking the code with Kaleyra…"]),
        )
        result = await numbers.verify(
            account.name, context.e164, otp, requester, view_intent(view), phone_number_id=typed_id or None
        )
        number = result.number
        if result.done and number is not None:
            lines = [
                f":white_check_mark: *{number.e164}* is verified.",
                "The number's thread has the details.",
            ]
            await show(client, view, views.notice_modal("Verified", lines))
            return
        if number is None or result.error is None:
            await show(
                client, view, views.notice_modal("Not verified", ["wa-bot sent you a message saying why."])
            )
            return
        context.number_id = number.id
        next_view = views.otp_modal(
            number.e164,
            account,
            context.dump(),
            problem=explain(result.error),
            ask_id=not number.phone_number_id_confirmed,
            typed_id=number.phone_number_id,
        )
        await show(client, view, next_view)

    @app.view("wa_update")
    async def wa_update(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = await read(ack, body, view, "/wa-update")
        if form is None:
            return
        context, user, values = form
        fields = [block_id for block_id in values if block_id != "account"]
        if context.e164 is None or not fields:  # the bot opens it with a number, and fields to change
            await ack(response_action="update", view=expired("/wa-update"))
            return
        account = accounts.get(values.get("account") or context.account or "")
        if not isinstance(account, KaleyraAccount):
            where = "account" if "account" in values else fields[0]
            await ack(response_action="errors", errors={where: ACCOUNT_GONE})
            return
        try:
            request = forms.update_request(values, context.e164)
        except forms.FormErrors as error:
            await ack(response_action="errors", errors=error.errors)
            return
        typed = request.model_dump(mode="json", exclude_none=True, exclude={"phone_number"})
        before = forms.initial_values_of(view)
        if not any(before.get(name) != value for name, value in typed.items()):
            words = "Change at least one field: every filled-in field already has this value."
            await ack(
                response_action="errors",
                errors={fields[0]: words if typed else "Fill in at least one field."},
            )
            return
        await ack()
        await acks.settled()
        await numbers.update(account.name, request, context.requester(user), view_intent(view))
