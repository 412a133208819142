"""What the use-cases report: who asked and where, and one event per result, as facts the Slack side puts in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.providers.errors import ProviderError
from bot.store import Number


@dataclass(frozen=True)
class Requester:
    """Who asked, and where: the channel of the command, and its response_url when Slack gave one."""

    user_id: str
    channel_id: str
    response_url: str | None = None


class Kind(StrEnum):
    ADDED = "added"
    CODE_SENT = "code_sent"
    VERIFIED = "verified"
    UPDATED = "updated"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the request may have reached the provider and no answer came
    INTERRUPTED = "interrupted"


@dataclass
class Facts:
    """What the provider said or did, plainly; no markup."""

    provider: str = ""
    phone_number_id: str | None = None
    via: str | None = None  # "SMS" or "VOICE": how the code comes
    record_status: str | None = None  # Kaleyra v1's created record
    record_name: str | None = None
    changed: dict[str, str] = field(default_factory=dict)  # update: field → new value
    already_approved: bool = False
    unrecorded: bool = False  # the store could not record this answer (yet)
    late: bool = False  # the answer came after the sweeper reported the operation interrupted
    sandbox_otp: str | None = None  # the sandbox only: the code that works


@dataclass
class Event:
    """One result for a number's thread."""

    kind: Kind
    action: str
    user_id: str
    facts: Facts = field(default_factory=Facts)
    error: ProviderError | None = None
    awaiting_code: bool = False
    retry_operation_id: int | None = None  # offers Retry for this operation


class Threads(Protocol):
    """Where results go: one thread per number (implemented for Slack in bot/slack/threads.py)."""

    async def open(self, number: Number, requester: Requester) -> Number: ...
    async def post(self, number: Number, event: Event, requester: Requester) -> None: ...
    async def tell(self, requester: Requester, text: str) -> None: ...
    async def refuse(self, requester: Requester, number: Number, reason: str) -> None: ...
