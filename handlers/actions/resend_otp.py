"""A thread's Resend code: a new code, at most once per cool-down however often it is clicked."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from handlers.actions.buttons import clicked_row
from handlers.payloads import button_intent


async def resend_otp(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], numbers: Numbers, requester: Requester | None
) -> None:
    await ack()
    number_id = clicked_row(action)
    if requester is not None:
        await numbers.resend(number_id, requester, button_intent(body, action))
