"""The middlewares that put what listeners need into Bolt's `context`, which Bolt hands them by name: the
use-cases on every request, and for a modal submission its `ModalContext`, its form `values` and its requester."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.lifecycle.bulk import Bulk
from bot.lifecycle.usecases import Numbers
from bot.slack import forms
from bot.slack.home import HomePublisher
from bot.slack.ids import CallbackId
from handlers.acks import Acknowledgements
from handlers.answers import FormExpired
from handlers.payloads import ModalContext, requester_of, user_of

# The command a person runs again when a modal cannot be read.
COMMAND_OF_MODAL: dict[str, str] = {
    CallbackId.ADD: "/wa-add",
    CallbackId.BULK: "/wa-add bulk",
    CallbackId.VERIFY: "/wa-verify",
    CallbackId.UPDATE: "/wa-update",
}


class Resources(AsyncMiddleware):
    """`numbers`, `bulk`, `acks`, `home` and the `requester` (who sent the request, and where), on every request.

    A class rather than a function middleware: it runs on every request, and Bolt builds no keyword arguments
    for it."""

    def __init__(self, numbers: Numbers, bulk: Bulk, acks: Acknowledgements, home: HomePublisher) -> None:
        self.numbers = numbers
        self.bulk = bulk
        self.acks = acks
        self.home = home

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        req.context["numbers"] = self.numbers
        req.context["bulk"] = self.bulk
        req.context["acks"] = self.acks
        req.context["home"] = self.home
        req.context["requester"] = requester_of(req.body)
        await next()
        return resp


async def read_form(
    body: dict[str, Any], view: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[None]]
) -> None:
    """A submission's `modal` (what the bot wrote into it), its `values` (block_id → typed) and its `requester`
    (who submitted it, answered in the channel the modal was opened from)."""
    modal, user = ModalContext.of(view), user_of(body)
    if modal is None or user is None:
        raise FormExpired(COMMAND_OF_MODAL.get(str(view.get("callback_id")), "the command"))
    context["modal"] = modal
    context["values"] = forms.values_of(view.get("state"))
    context["requester"] = modal.requester(user)
    await next()
