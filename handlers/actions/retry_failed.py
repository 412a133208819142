"""A bulk add's summary: Retry failed runs again, once per click, the failed lines that may succeed."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.lifecycle.bulk import Bulk
from bot.lifecycle.events import Requester
from handlers.actions.buttons import clicked_row
from handlers.answers import Refusal
from handlers.payloads import button_intent


async def retry_failed(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], bulk: Bulk, requester: Requester | None
) -> None:
    await ack()
    batch_id = clicked_row(action)
    if requester is None:
        return
    words = await bulk.retry_failed(batch_id, requester, button_intent(body, action))
    if words is not None:
        raise Refusal(words)
