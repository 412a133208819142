"""`/wa-numbers` lists the numbers; `/wa-numbers <number>` shows its history; `/wa-numbers audit [days]` sends the
audit CSV by DM."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.lifecycle.usecases import Numbers
from bot.slack import audit, messages, words
from bot.store import StoreUnavailable
from handlers.answers import Refusal
from handlers.commands.arguments import HELP_WORDS, audit_days, number_argument

log = logging.getLogger(__name__)


async def wa_numbers(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, numbers: Numbers
) -> None:
    text = command.get("text", "").strip()
    if text.lower() in HELP_WORDS:
        raise Refusal(words.usage("/wa-numbers"))
    days = audit_days(text)
    if isinstance(days, str):
        raise Refusal(words.usage("/wa-numbers", days))
    if days is not None:
        await ack(response_type="ephemeral", text=f"Exporting the last {days} days of operations…")
        told = await export_audit(numbers, client, command["user_id"], days)
        await respond(response_type="ephemeral", text=told)
        return
    if not text:
        await ack()
        labels = {name: account.label for name, account in numbers.accounts.items()}
        listed, total = await numbers.listing(limit=40)
        blocks = messages.numbers_list(listed, total, labels)
        await respond(response_type="ephemeral", text=f"{total} numbers", blocks=blocks)
        return
    e164 = number_argument(command)
    await ack()
    await respond(response_type="ephemeral", text=f"History of {e164}", blocks=await history(numbers, e164))


async def history(numbers: Numbers, e164: str) -> list[dict[str, Any]]:
    """The history of `e164` on (at most three of) the accounts that hold it."""
    found = await numbers.with_number(e164)
    if not found:
        raise Refusal(f"wa-bot has no record of {e164}. Add it with `/wa-add {e164}`.")
    blocks = []
    for number in found[:3]:
        label = words.account_label(number.account, numbers.accounts.get(number.account))
        blocks += messages.history(number, label, await numbers.history(number.id, limit=30))
    return blocks[:50]


async def export_audit(numbers: Numbers, client: AsyncWebClient, user_id: str, days: int) -> str:
    """Hand the export over; what the requester is told afterwards."""
    try:
        export = await audit.send(client, user_id, numbers.audit(days), days)
    except (SlackApiError, SlackRequestError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else "upload failed"
        return f"Could not send the audit CSV: Slack said `{reason}`."
    except StoreUnavailable:
        log.exception("audit export: the store could not be read")
        return "Could not read the store for the audit CSV: try again in a moment."
    return audit.summary(export, days)
