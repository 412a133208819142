"""The buttons and selects: Add number (App Home), Enter OTP, Resend code, Retry, Retry failed (a bulk add), and
the modals' account select."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import KaleyraAccount
from bot.lifecycle.bulk import Bulk
from bot.lifecycle.events import Requester
from bot.lifecycle.states import State
from bot.lifecycle.usecases import Numbers
from bot.slack import forms, views
from bot.store import Number
from handlers.payloads import READ_BUDGET_SECONDS, ModalContext, button_intent, requester_of, row_id_of

UNREADABLE_BUTTON = (
    "wa-bot cannot read that button, so nothing was done. Find the number with `/wa-numbers <number>` "
    "and use the buttons in its thread."
)


def register(app: AsyncApp, numbers: Numbers, bulk: Bulk) -> None:
    accounts = numbers.accounts

    async def open_otp_modal(
        number: Number, requester: Requester, trigger_id: str, client: AsyncWebClient
    ) -> None:
        account = accounts.get(number.account)
        if not isinstance(account, KaleyraAccount) or number.state != State.AWAITING_OTP:
            if await numbers.usable(number, requester):
                await numbers.threads.refuse(requester, number, "no code is awaited")
            return
        context = ModalContext(
            channel=requester.channel_id,
            response_url=requester.response_url,
            number_id=number.id,
            account=number.account,
            e164=number.e164,
        )
        view = views.otp_modal(
            number.e164,
            account,
            context.dump(),
            ask_id=not number.phone_number_id_confirmed,
            typed_id=number.phone_number_id,
        )
        await client.views_open(trigger_id=trigger_id, view=view)

    @app.action("account")
    async def switch_account(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Switching the account swaps the modal's fields for what that account needs; typed values stay."""
        await ack()
        view = body["view"]
        chosen = accounts.get(action["selected_option"]["value"])
        context = ModalContext.of(view)
        if chosen is None or context is None:
            return
        typed = forms.values_of(view.get("state"))
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

    async def clicked(body: dict[str, Any], action: dict[str, Any]) -> tuple[Requester, int] | None:
        """Who clicked, and the number or operation ID the button carries; None after saying what is wrong."""
        requester = requester_of(body)
        row_id = row_id_of(action)
        if requester is not None and row_id is None:
            await numbers.threads.tell(requester, UNREADABLE_BUTTON)
        return None if requester is None or row_id is None else (requester, row_id)

    @app.action("add_number")
    async def add_number(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The App Home's Add number: the same add modal as /wa-add. The Home has no channel, so the number's
        thread and every answer go to the person's DM with the bot."""
        await ack()
        requester = requester_of(body)
        if requester is None or not isinstance(body.get("trigger_id"), str):
            return
        account_list = list(accounts.values())
        context = ModalContext(channel=requester.channel_id, response_url=requester.response_url)
        view = views.add_modal(account_list, account_list[0], context.dump())
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("enter_otp")
    async def enter_otp(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        if (click := await clicked(body, action)) is None:
            return
        requester, number_id = click
        number = await asyncio.wait_for(numbers.number(number_id), READ_BUDGET_SECONDS)
        if number is None:
            await numbers.threads.tell(requester, "No code is awaited: the number is unknown to wa-bot.")
            return
        await open_otp_modal(number, requester, body["trigger_id"], client)

    @app.action("resend_otp")
    async def resend_otp(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if (click := await clicked(body, action)) is None:
            return
        requester, number_id = click
        await numbers.resend(number_id, requester, button_intent(body, action))

    @app.action("retry")
    async def retry(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        if (click := await clicked(body, action)) is None:
            return
        requester, operation_id = click
        outcome = await numbers.retry(operation_id, requester, button_intent(body, action))
        if isinstance(outcome, Number):  # a verify: the person enters a code again
            await open_otp_modal(outcome, requester, body["trigger_id"], client)

    @app.action("retry_failed")
    async def retry_failed(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A bulk add's summary: run again, once per click, the failed lines that may succeed."""
        await ack()
        if (click := await clicked(body, action)) is None:
            return
        requester, batch_id = click
        words = await bulk.retry_failed(batch_id, requester, button_intent(body, action))
        if words is not None:
            await numbers.threads.tell(requester, words)
