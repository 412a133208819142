"""Typed views of the Slack payloads the listeners read, and the context a modal carries in private_metadata."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel

from bot.lifecycle.events import Requester
from bot.phone import Phone, try_parse_phone

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()
T = TypeVar("T")
# Slack waits 3 s for an acknowledgement or a views.open: what a listener reads first must fit well inside it.
READ_BUDGET_SECONDS = 1.5


class ModalContext(BaseModel):
    """What a modal remembers between opening and submission (never an OTP, never a secret)."""

    channel: str
    response_url: str | None = None
    account: str | None = None
    number_id: int | None = None
    e164: str | None = None

    def requester(self, user_id: str) -> Requester:
        return Requester(user_id=user_id, channel_id=self.channel, response_url=self.response_url)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    @classmethod
    def of(cls, view: dict[str, Any]) -> ModalContext:
        return cls.model_validate(json.loads(view.get("private_metadata") or "{}"))


def split_number_and_name(text: str) -> tuple[Phone | None, str, str | None]:
    """`+91 98765 43210 Acme Support` → the number, the text of the number as typed, and the name."""
    tokens = text.split()
    for count in range(len(tokens), 0, -1):
        typed = " ".join(tokens[:count])
        phone = try_parse_phone(typed)
        if phone:
            return phone, typed, " ".join(tokens[count:]) or None
    return None, "", None


def in_background(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` after the acknowledgement, keeping a reference so it is not collected mid-way."""
    task = asyncio.get_running_loop().create_task(work)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background work failed: %s", type(task.exception()).__name__)


def view_intent(view: dict[str, Any]) -> str:
    """One intent per rendering of a modal: a double submit or a redelivery carries the same id and hash."""
    return f"view:{view.get('id', '')}:{view.get('hash', '')}"[:255]


def button_intent(body: dict[str, Any], action: dict[str, Any]) -> str:
    """One intent per button of one message: a double click or a redelivery is the same intent."""
    container = body.get("container") or {}
    where = container.get("message_ts") or container.get("view_id") or ""
    channel = (body.get("channel") or {}).get("id") or ""
    return f"button:{channel}:{where}:{action.get('action_id')}:{action.get('value')}"[:255]


async def bounded(read: Awaitable[T], seconds: float = READ_BUDGET_SECONDS) -> T | None:
    """A store read a listener needs before answering Slack, given up on (None) rather than miss the 3 s."""
    try:
        return await asyncio.wait_for(read, seconds)
    except TimeoutError:
        log.warning("a store read took more than %g s; answering without it", seconds)
        return None
