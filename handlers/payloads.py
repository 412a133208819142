"""Typed views of the Slack payloads the listeners read, and the context a modal carries in private_metadata."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from bot.lifecycle.events import Requester
from bot.phone import Phone, try_parse_phone

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()
T = TypeVar("T")
# Slack waits 3 s for an acknowledgement or a views.open: what a listener reads first must fit well inside it.
READ_BUDGET_SECONDS = 1.5


class ModalContext(BaseModel):
    """What a modal remembers between opening and submission (never an OTP, never a secret)."""

    channel: str = Field(min_length=1, max_length=32)  # a Slack ID, as long as the store keeps
    response_url: str | None = None
    account: str | None = None
    number_id: int | None = None
    e164: str | None = Field(default=None, pattern=r"^\+[0-9]{6,18}$")

    def requester(self, user_id: str) -> Requester:
        return Requester(user_id=user_id, channel_id=self.channel, response_url=self.response_url)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    @classmethod
    def of(cls, view: dict[str, Any]) -> ModalContext | None:
        """The context this bot wrote into the modal; None when what came back is not one (lost or forged)."""
        metadata = view.get("private_metadata")
        if not isinstance(metadata, str):
            return None
        try:
            return cls.model_validate_json(metadata)
        except ValidationError:
            return None


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
    container, channel = _object(body.get("container")), _object(body.get("channel"))
    where = container.get("message_ts") or container.get("view_id") or ""
    return f"button:{channel.get('id') or ''}:{where}:{action.get('action_id')}:{action.get('value')}"[:255]


# The store's IDs are PostgreSQL integers: a button's value past them names no row.
LARGEST_ROW_ID = 2**31 - 1


def row_id_of(action: dict[str, Any]) -> int | None:
    """The number or operation ID a button carries as its value, or None when it carries none."""
    value = action.get("value")
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,10}", value):
        return None
    row_id = int(value)
    return row_id if 0 < row_id <= LARGEST_ROW_ID else None


def requester_of(body: dict[str, Any]) -> Requester | None:
    """Who sent a payload and where: its channel (else their DM) and response_url; None if it names no user."""
    user = user_of(body)
    if user is None:
        return None
    response_url = body.get("response_url")
    return Requester(user, channel_of(body) or user, response_url if isinstance(response_url, str) else None)


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel a payload came from (`channel.id`, or a slash command's `channel_id`), if it names one."""
    return _id(body.get("channel")) or _id(body.get("channel_id"))


def user_of(body: dict[str, Any]) -> str | None:
    """The user who sent a payload (`user.id`, or a slash command's `user_id`), as the allow-list read it."""
    return _id(body.get("user")) or _id(body.get("user_id"))


def _id(value: Any) -> str | None:
    """A Slack ID given as "U123" or {"id": "U123"}; None for any other shape."""
    found = value.get("id") if isinstance(value, dict) else value
    return found if isinstance(found, str) and found else None


def _object(value: Any) -> dict[str, Any]:
    """A payload's object, or an empty one where Slack's shape is not what came."""
    return value if isinstance(value, dict) else {}


async def bounded(read: Awaitable[T], seconds: float = READ_BUDGET_SECONDS) -> T | None:
    """A store read a listener needs before answering Slack, given up on (None) rather than miss the 3 s."""
    try:
        async with asyncio.timeout(
            seconds
        ):  # unlike wait_for, no task of its own: one loop turn less per read
            return await read
    except TimeoutError:
        log.warning("a store read took more than %g s; answering without it", seconds)
        return None
