"""The store's tables: numbers and the operations on them (SQLAlchemy 2 models, SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Naive UTC, stored the same way by SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class Outcome(StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the request may have reached the provider, and no answer came
    INTERRUPTED = "interrupted"  # the process working on it stopped; found by the sweeper


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class Number(Base):
    """One number on one account; `state` changes only through bot/lifecycle/states.py's moves."""

    __tablename__ = "numbers"
    __table_args__ = (UniqueConstraint("account", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    phone_number_id: Mapped[str | None] = mapped_column(String(255))
    # False while the ID is only what a person typed; True once Kaleyra returned or accepted it.
    phone_number_id_confirmed: Mapped[bool] = mapped_column(default=False, server_default=false())
    display_name: Mapped[str | None] = mapped_column(Text)
    verification_type: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    last_user_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    otp_requested_at: Mapped[datetime | None]


class Operation(Base):
    """One intent of a person (an add, a verify…): written before the provider is called, leased while it runs."""

    __tablename__ = "operations"
    __table_args__ = (UniqueConstraint("intent", name="uq_operations_intent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"), index=True)
    # Taken from Slack (view id + hash, message ts + action…): one row, so one provider call, per intent.
    intent: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(16), default=Outcome.PENDING, index=True)
    # The provider's own text, whatever its length (PostgreSQL refuses what is longer than a String's bound).
    provider_code: Mapped[str | None] = mapped_column(Text)
    provider_message: Mapped[str | None] = mapped_column(Text)
    response: Mapped[dict[str, Any] | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the audit window
    finished_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    retry_of: Mapped[int | None]
    # A bulk add's line: the batch and its line number (1-based, as the person pasted it).
    batch_id: Mapped[int | None] = mapped_column(index=True)
    batch_line: Mapped[int | None]


class Batch(Base):
    """One bulk add: its lines as checked and built at submission, and the message that shows its progress.

    Each line runs as an ordinary add operation (intent `batch:<id>:<line>`), so a line is done, failed or
    in flight exactly as its operation says; the batch's lease says which process is running the rest.
    """

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("intent", name="uq_batches_intent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intent: Mapped[str | None] = mapped_column(String(255))  # the submission (or the Retry failed click)
    account: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # a retry's message is a reply in this thread
    message_ts: Mapped[str | None] = mapped_column(String(32))  # the progress message, once posted
    # [{"line": 3, "e164": "+91…", "request": {…the provider request…}, "retry_of": operation id or null}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    retry_of: Mapped[int | None]  # the batch whose failures this one retries
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class OutboxItem(Base):
    """A message or edit the bot means to make in a number's thread (bot/slack/outbox.py): recorded first, then
    delivered, in id order per number, by the process whose lease it holds; `delivered_at` once Slack took it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # parent, reply, notice, edit
    message: Mapped[dict[str, Any]]  # what Slack is sent (never a response_url, never a sandbox code)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class SandboxNumber(Base):
    """A number the built-in sandbox provider holds, as Kaleyra would (never an OTP: it is derived, not kept)."""

    __tablename__ = "sandbox_numbers"
    __table_args__ = (UniqueConstraint("account", "e164", name="uq_sandbox_numbers_account_e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str] = mapped_column(String(20))
    phone_number_id: Mapped[str] = mapped_column(String(32), unique=True)
    verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoreUse(Base):
    """What the store serves, decided by the first start on it: live numbers or the sandbox's, never both.

    One row (id 1). A store is refused to the other use, so no sandbox number ever shows in live use."""

    __tablename__ = "store_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox: Mapped[bool]
    since: Mapped[datetime] = mapped_column(default=utcnow)
