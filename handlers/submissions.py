"""The three modal submissions: validate at the door (errors inline), acknowledge, then hand over."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import KaleyraAccount, MetaAccount
from bot.lifecycle.onboarding import AddRequest, Onboarding
from bot.providers.kaleyra import AddWhatsAppNumberRequest
from bot.slack import forms, views
from bot.slack.words import explain
from handlers.payloads import ModalContext

log = logging.getLogger(__name__)


def register(app: AsyncApp, onboarding: Onboarding) -> None:
    accounts = onboarding.accounts

    def account_of(
        values: dict[str, str | None], context: ModalContext
    ) -> KaleyraAccount | MetaAccount | None:
        """The account picked in the modal (or the one it was opened for); None for a name not configured."""
        return accounts.get(values.get("account") or context.account or next(iter(accounts)))

    @app.view("wa_add")
    async def wa_add(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        context = ModalContext.of(view)
        values = forms.values_of(view["state"])
        account = account_of(values, context)
        if account is None:
            await ack(response_action="errors", errors={"account": "Pick one of the accounts in the list."})
            return
        request: AddRequest
        try:
            if isinstance(account, MetaAccount):
                request = forms.add_meta_request(values)
            elif account.api_version == "v1":
                request = forms.add_v1_request(values)
            else:
                request = forms.add_v2_request(values)
        except forms.FormErrors as error:
            await ack(response_action="errors", errors=error.errors)
            return
        requester = context.requester(body["user"]["id"])
        if not isinstance(request, AddWhatsAppNumberRequest):
            await ack()
            await onboarding.add(account.name, request, requester)
            return
        # v1 answers with field errors (E947/E413, E962): keep the form open to show them where they were typed.
        await ack(
            response_action="update",
            view=views.notice_modal("Adding…", ["Asking Kaleyra to add the number…"]),
        )
        refusal = await onboarding.add(account.name, request, requester)
        form_fields = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
        problems = {k: v for k, v in (refusal.field_errors if refusal else {}).items() if k in form_fields}
        if problems:
            next_view = views.add_modal(list(accounts.values()), account, context.dump(), values, problems)
        elif refusal:
            next_view = views.notice_modal("Not added", explain(refusal))
        else:
            next_view = views.notice_modal(
                "Added", [":white_check_mark: The number's thread has the record."]
            )
        try:
            await client.views_update(view_id=view["id"], view=next_view)
        except SlackApiError as error:
            log.info("could not update the add modal: %s", error.response.get("error"))

    @app.view("wa_verify")
    async def wa_verify(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        context = ModalContext.of(view)
        values = forms.values_of(view["state"])
        errors: dict[str, str] = {}
        otp = phone_number_id = ""
        try:
            otp = forms.otp_of(values)
        except forms.FormErrors as error:
            errors.update(error.errors)
        if context.number_id is None:
            context.account = values.get("account") or context.account
            if not isinstance(accounts.get(context.account or ""), KaleyraAccount):
                errors["account"] = "Pick one of the Kaleyra accounts."
            try:
                phone_number_id = forms.phone_number_id_of(values)
            except forms.FormErrors as error:
                errors.update(error.errors)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        requester = context.requester(body["user"]["id"])
        await ack(
            response_action="update",
            view=views.notice_modal("Verifying…", ["Checking the code with Kaleyra…"]),
        )
        if context.number_id is None:
            assert context.account and context.e164
            known = await onboarding.known_number(context.account, context.e164, requester, phone_number_id)
            context.number_id, context.account, context.e164 = known.id, None, None
        result = await onboarding.verify(context.number_id, otp, requester)
        number = await onboarding.store.number(context.number_id)
        assert number is not None
        if result.verified:
            next_view = views.notice_modal(
                "Verified",
                [f":white_check_mark: *{number.e164}* is verified.", "The number's thread has the details."],
            )
        else:
            problem = explain(result.error) if result.error else ["The code was not accepted."]
            next_view = views.otp_modal(
                number.e164, accounts[number.account], context.dump(), problem=problem
            )
        try:
            await client.views_update(view_id=view["id"], view=next_view)
        except SlackApiError as error:  # the person closed the modal: the thread has the result
            log.info("could not update the OTP modal: %s", error.response.get("error"))

    @app.view("wa_update")
    async def wa_update(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = ModalContext.of(view)
        values = forms.values_of(view["state"])
        number = await onboarding.store.number(context.number_id) if context.number_id else None
        e164 = number.e164 if number else context.e164
        account = number.account if number else values.get("account") or context.account
        assert e164
        if not isinstance(accounts.get(account or ""), KaleyraAccount):
            await ack(response_action="errors", errors={"account": "Pick one of the Kaleyra accounts."})
            return
        try:
            request = forms.update_request(values, e164)
        except forms.FormErrors as error:
            await ack(response_action="errors", errors=error.errors)
            return
        if not request.model_dump(exclude_none=True, exclude={"phone_number"}):
            first = next(b for b in view["state"]["values"] if b != "account")
            await ack(response_action="errors", errors={first: "Fill in at least one field to update."})
            return
        await ack()
        requester = context.requester(body["user"]["id"])
        if number is None:
            assert account
            number = await onboarding.known_number(account, e164, requester)
        await onboarding.update(number.id, request, requester)
