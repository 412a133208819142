"""Refusals are raised, and one answerer puts them where the person asked: under a form's fields, in the modal, in
the command's ephemeral answer, or by `Threads.tell` (ephemeral, else DM). Any other failure is logged and told."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from bot.lifecycle.events import Requester
from bot.lifecycle.usecases import Numbers
from bot.slack import modals
from bot.slack.forms import FormErrors
from bot.store import StoreUnavailable
from handlers.payloads import requester_of

log = logging.getLogger(__name__)
BOLT_ACK_POLL_SECONDS = 0.01  # slack_bolt/listener/asyncio_runner.py: `await asyncio.sleep(0.01)`
STORE_AWAY = (
    ":x: wa-bot's database cannot be reached right now, so nothing was sent to a provider. "
    "Try again in a minute; tell an admin if it persists."
)


class Refusal(Exception):
    """Nothing was done, and `text` says why. In a modal it replaces the form, under `title`."""

    def __init__(self, text: str, title: str = "Not done") -> None:
        super().__init__(text)
        self.text = text
        self.title = title


class FormExpired(Refusal):
    """A form that cannot be read (forged, or from an older bot): nothing was sent, start `command` again."""

    def __init__(self, command: str) -> None:
        words = (
            f"wa-bot cannot read this form any more, so nothing was sent. Close it and run {command} again."
        )
        super().__init__(words, "Form expired")


async def answer(
    error: Exception,
    body: dict[str, Any],
    ack: AsyncAck,
    respond: AsyncRespond,
    response: BoltResponse | None,
    context: dict[str, Any],
) -> BoltResponse | None:
    """Bolt's error handler. `response` is None once the request was acknowledged: then only a message can say it.

    A command, a submission or a middleware that raised before acknowledging is answered by the acknowledgement
    this returns."""
    if response is not None and isinstance(error, FormErrors):
        await ack(response_action="errors", errors=error.errors)
        return ack.response
    if response is not None and isinstance(error, Refusal):
        if body.get("type") == "view_submission":
            await ack(response_action="update", view=modals.notice_modal(error.title, [error.text]))
        else:
            await ack(response_type="ephemeral", text=error.text)
        return ack.response
    # Once this returns, Bolt's runner sets `ack.response` back to None, and its loop waiting for the
    # acknowledgement looks every 10 ms: it must have seen this request's acknowledgement by then.
    await asyncio.sleep(BOLT_ACK_POLL_SECONDS * 2)
    requester, numbers = requester_of(body), context.get("numbers")
    if isinstance(error, Refusal) and "command" in body:
        await respond(response_type="ephemeral", text=error.text)
    elif isinstance(error, Refusal):
        if requester is not None and numbers is not None:
            await tell(numbers, requester, error.text)
    else:
        await tell_the_failure(error, numbers, requester)
    return None


async def tell_the_failure(error: Exception, numbers: Numbers | None, requester: Requester | None) -> None:
    """A listener failed after its acknowledgement: the person still hears about it."""
    log.error("listener failed: %s", type(error).__name__, exc_info=error)
    if requester is None or numbers is None:
        return
    if isinstance(error, StoreUnavailable):  # an operation is recorded before its call: none was made
        text = STORE_AWAY
    else:
        text = (
            f":x: wa-bot could not finish that ({type(error).__name__}). If a provider was asked anything, "
            "the number's thread says so (`/wa-numbers <number>`); try again, and tell an admin if it "
            "persists."
        )
    await tell(numbers, requester, text)


async def tell(numbers: Numbers, requester: Requester, text: str) -> None:
    try:
        await numbers.threads.tell(requester, text)
    except Exception as failure:
        log.error("could not tell %s about the failure: %s", requester.user_id, type(failure).__name__)
