"""A thread's Enter OTP: the OTP form for the number, when it awaits a code."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from handlers.actions.buttons import clicked_row, open_otp_modal
from handlers.answers import Refusal
from handlers.payloads import READ_BUDGET_SECONDS


async def enter_otp(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    numbers: Numbers,
    requester: Requester | None,
) -> None:
    await ack()
    number_id = clicked_row(action)
    if requester is None:
        return
    number = await asyncio.wait_for(numbers.number(number_id), READ_BUDGET_SECONDS)
    if number is None:
        raise Refusal("No code is awaited: the number is unknown to wa-bot.")
    await open_otp_modal(numbers, number, requester, body["trigger_id"], client)
