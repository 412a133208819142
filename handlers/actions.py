"""The buttons and selects: Enter OTP, Resend code, and the add modal's account select."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import KaleyraAccount
from bot.lifecycle.onboarding import Onboarding, Requester
from bot.slack import forms, views
from bot.store import NumberState
from handlers.payloads import ModalContext


def register(app: AsyncApp, onboarding: Onboarding) -> None:
    accounts = onboarding.accounts

    def requester_of(body: dict[str, Any]) -> Requester:
        channel = (body.get("channel") or {}).get("id") or body["user"]["id"]
        return Requester(
            user_id=body["user"]["id"], channel_id=channel, response_url=body.get("response_url")
        )

    @app.action("account")
    async def switch_account(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Switching the account swaps the modal's fields for what that account needs; typed values stay."""
        await ack()
        view = body["view"]
        chosen = accounts.get(action["selected_option"]["value"])
        if chosen is None:
            return
        typed = forms.values_of(view["state"])
        context = ModalContext.of(view)
        context.account = chosen.name
        choices = [a for a in accounts.values() if isinstance(a, KaleyraAccount)]
        if view["callback_id"] == "wa_add":
            number = typed.get("phone_number") or typed.get("wa_number")
            name = typed.get("name") or typed.get("display_name")
            carried = {"phone_number": number, "wa_number": number, "name": name, "display_name": name}
            new_view = views.add_modal(list(accounts.values()), chosen, context.dump(), carried)
        elif view["callback_id"] == "wa_update" and isinstance(chosen, KaleyraAccount) and context.e164:
            new_view = views.update_modal(context.e164, chosen, typed, context.dump(), choices=choices)
        elif view["callback_id"] == "wa_verify" and context.e164:
            new_view = views.otp_modal(context.e164, chosen, context.dump(), ask_id=True, choices=choices)
        else:
            return
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)

    @app.action("enter_otp")
    async def enter_otp(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        requester = requester_of(body)
        number = await onboarding.store.number(int(action["value"]))
        if number is None or number.state != NumberState.AWAITING_OTP:
            state = "unknown to wa-bot" if number is None else f"{views.state_words(number.state).lower()}"
            await onboarding.threads.tell(requester, f"No code is awaited: the number is {state}.")
            return
        context = ModalContext(
            channel=requester.channel_id, response_url=requester.response_url, number_id=number.id
        )
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=views.otp_modal(number.e164, accounts[number.account], context.dump()),
        )

    @app.action("resend_otp")
    async def resend_otp(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await onboarding.resend(int(action["value"]), requester_of(body))
