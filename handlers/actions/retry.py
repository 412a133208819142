"""A thread's Retry: the failed, unknown or interrupted operation again, once per click; a verify opens the OTP
form instead (a code is single use)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from bot.store import Number
from handlers.actions.buttons import clicked_row, open_otp_modal
from handlers.payloads import button_intent


async def retry(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    numbers: Numbers,
    requester: Requester | None,
) -> None:
    await ack()
    operation_id = clicked_row(action)
    if requester is None:
        return
    outcome = await numbers.retry(operation_id, requester, button_intent(body, action))
    if isinstance(outcome, Number):  # a verify: the person enters a code again
        await open_otp_modal(numbers, outcome, requester, body["trigger_id"], client)
