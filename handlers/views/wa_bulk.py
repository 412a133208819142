"""The bulk add form's submission: every line checked (and none live on the account) before the batch is recorded
and acknowledged."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.lifecycle.bulk import Bulk
from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from bot.slack import forms, words
from handlers.payloads import ModalContext, bounded, view_intent
from handlers.views.modal import account_of


async def wa_bulk(
    ack: AsyncAck,
    view: dict[str, Any],
    numbers: Numbers,
    bulk: Bulk,
    modal: ModalContext,
    values: dict[str, str | None],
    requester: Requester,
) -> None:
    account = account_of(numbers, values, modal)
    lines = forms.bulk_lines(values.get("numbers") or "", account)
    live = await bounded(numbers.live_among(account.name, [line.e164 for line in lines])) or []
    if live:  # the lifecycle would refuse these lines one by one; say so before anything is sent
        state_of = {number.e164: words.state_words(number.state) for number in live}
        problems = [
            f"Line {line.line}: {line.e164} is already {state_of[line.e164]} on this account."
            for line in lines
            if line.e164 in state_of
        ]
        raise forms.FormErrors({"numbers": forms.problems_in_words(problems)})
    # Recorded before the acknowledgement: what was pasted survives a crash from here on.
    batch = await bulk.submit(account.name, lines, requester, view_intent(view))
    await ack()
    if batch is not None:  # None: a double submission, already running
        bulk.launch(batch)
