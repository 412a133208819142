"""The use-cases: add, verify, update and resend, with every step recorded in the store and reported to a thread.

They know providers and the store, and report through the `Threads` port; they know nothing of Block Kit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.accounts import KaleyraAccount, MetaAccount
from bot.providers.errors import ProviderError
from bot.providers.kaleyra import (
    AddPhoneNumberRequest,
    AddWhatsAppNumberRequest,
    KaleyraClient,
    RetryOtpRequest,
    UpdatePhoneNumberRequest,
    VerifyPhoneNumberRequest,
    category_from_words,
)
from bot.providers.meta import AddPhoneNumbersRequest, MetaClient
from bot.slack.mrkdwn import escape
from bot.store import Number, NumberState, Outcome, Store

log = logging.getLogger(__name__)

Account = KaleyraAccount | MetaAccount
AddRequest = AddPhoneNumberRequest | AddWhatsAppNumberRequest | AddPhoneNumbersRequest
V1_TO_PROFILE = {
    "address": "address",
    "business_description": "description",
    "incoming_url": "incoming_url",
    "contact_email": "email",
}


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
    INTERRUPTED = "interrupted"


@dataclass
class Event:
    """One result for a number's thread."""

    kind: Kind
    action: str
    user_id: str
    details: list[str] = field(default_factory=list)
    error: ProviderError | None = None
    awaiting_code: bool = False


class Threads(Protocol):
    """Where results go: one thread per number (implemented for Slack in bot/notifier.py)."""

    async def open(self, number: Number, requester: Requester) -> Number: ...
    async def post(self, number: Number, event: Event, requester: Requester) -> None: ...
    async def tell(self, requester: Requester, text: str) -> None: ...


@dataclass
class VerifyResult:
    verified: bool
    error: ProviderError | None = None


class Onboarding:
    def __init__(
        self,
        store: Store,
        accounts: dict[str, Account],
        kaleyra: KaleyraClient,
        meta: MetaClient,
        threads: Threads,
        resend_cooldown: timedelta,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.kaleyra = kaleyra
        self.meta = meta
        self.threads = threads
        self.resend_cooldown = resend_cooldown
        self._in_flight: set[asyncio.Task[Any]] = set()

    async def settle(self, grace_seconds: float) -> None:
        """At a stop: give operations in flight a moment to record the provider's answer (else recover() will)."""
        if self._in_flight:
            log.info("waiting up to %g s for %d operations in flight", grace_seconds, len(self._in_flight))
            await asyncio.wait(set(self._in_flight), timeout=grace_seconds)

    async def add(self, account_name: str, request: AddRequest, requester: Requester) -> ProviderError | None:
        """Record the request, open the thread, call the provider, record and report what it said."""
        account = self.accounts[account_name]
        if isinstance(request, AddPhoneNumberRequest):
            e164, name, via = (
                f"{request.country_code}{request.phone_number}",
                request.name,
                request.verification_type,
            )
        elif isinstance(request, AddWhatsAppNumberRequest):
            e164, name, via = request.wa_number, request.display_name, None
        else:
            e164, name, via = request.phone_number, None, None
        number = await self.store.start_number(
            account=account.name,
            e164=e164,
            user_id=requester.user_id,
            channel_id=requester.channel_id,
            display_name=name,
            verification_type=via,
        )
        return await self._run(
            number,
            requester,
            "add",
            request.model_dump(mode="json", exclude_none=True),
            lambda number: self._add(account, request, number),
            failed_state=NumberState.FAILED,
        )

    async def _add(
        self, account: Account, request: AddRequest, number: Number
    ) -> tuple[Event, dict[str, Any]]:
        if isinstance(account, MetaAccount):
            assert isinstance(request, AddPhoneNumbersRequest)
            added = await self.meta.add_phone_number(account, request)
            await self.store.change(number.id, state=NumberState.ADDED, phone_number_id=added.id)
            event = Event(Kind.ADDED, "add", "", [f"Meta added the number: ID `{escape(added.id)}`."])
            return event, {"code": "HTTP 200", **added.model_dump()}
        if isinstance(request, AddWhatsAppNumberRequest):
            record = await self.kaleyra.add_whatsapp_number(account, request)
            sent = request.model_dump(mode="json", exclude_none=True)
            profile = {V1_TO_PROFILE[k]: v for k, v in sent.items() if k in V1_TO_PROFILE}
            category = category_from_words(request.business_category or "")
            if category:
                profile["category"] = category.value
            await self.store.change(
                number.id,
                state=NumberState.ADDED,
                phone_number_id=str(record.id),
                profile={**number.profile, **profile},
            )
            details = [
                f"Kaleyra created the record: ID `{escape(record.id)}`, status `{escape(record.status)}`, "
                f"name {escape(record.name)}."
            ]
            return Event(Kind.ADDED, "add", "", details), {
                "code": "I102",
                "data": record.model_dump(mode="json"),
            }
        assert isinstance(request, AddPhoneNumberRequest)
        phone_number_id = await self.kaleyra.add_phone_number(account, request)
        await self.store.change(number.id, state=NumberState.AWAITING_OTP, phone_number_id=phone_number_id)
        await self.store.claim_otp_request(number.id, timedelta(0))
        via = "a voice call" if request.verification_type == "VOICE" else "SMS"
        details = [
            f"Phone number ID: `{escape(phone_number_id)}`.",
            f"Kaleyra is sending a six-digit code to {number.e164} by {via}: press *Enter OTP* when it arrives.",
        ]
        return Event(Kind.ADDED, "add", "", details, awaiting_code=True), {
            "code": "WA200",
            "data": phone_number_id,
        }

    async def verify(self, number_id: int, otp: str, requester: Requester) -> VerifyResult:
        """Verify with the stored phone number ID; the OTP goes to Kaleyra and nowhere else."""
        number = await self._number(number_id)
        account = self.accounts[number.account]
        assert isinstance(account, KaleyraAccount) and number.phone_number_id
        request = VerifyPhoneNumberRequest.model_validate(
            {"id": number.phone_number_id, "phone_number": number.e164, "otp": otp}
        )
        result = VerifyResult(verified=False)

        async def call(number: Number) -> tuple[Event, dict[str, Any]]:
            details = [f"{number.e164} is verified."]
            answer: dict[str, Any] = {"code": "WA200", "data": number.phone_number_id}
            try:
                await self.kaleyra.verify_phone_number(account, request)
            except ProviderError as error:
                if "already approved" not in error.message.lower():
                    result.error = error
                    raise
                details = [f"Kaleyra says {number.e164} was already approved: nothing more to do."]
                answer = {"code": error.code, "message": error.message}
            await self.store.change(number.id, state=NumberState.VERIFIED)
            result.verified = True
            return Event(Kind.VERIFIED, "verify", "", details), answer

        await self._run(
            number,
            requester,
            "verify",
            request.model_dump(mode="json", exclude={"otp"}),
            call,
            awaiting_code=True,
        )
        return result

    async def update(self, number_id: int, request: UpdatePhoneNumberRequest, requester: Requester) -> None:
        number = await self._number(number_id)
        account = self.accounts[number.account]
        assert isinstance(account, KaleyraAccount)
        sent = request.model_dump(mode="json", exclude_none=True)

        async def call(number: Number) -> tuple[Event, dict[str, Any]]:
            await self.kaleyra.update_phone_number(account, request)
            changed = {k: v for k, v in sent.items() if k != "phone_number"}
            await self.store.change(number.id, profile={**number.profile, **changed})
            details = [f"• `{name}`: {escape(value)}" for name, value in changed.items()]
            return Event(Kind.UPDATED, "update", "", ["Kaleyra accepted the new profile:", *details]), {
                "code": "WA200",
                "data": 1,
            }

        await self._run(number, requester, "update", sent, call)

    async def resend(self, number_id: int, requester: Requester) -> None:
        """Ask Kaleyra for a new code, at most once per cool-down, whoever clicks and however often."""
        number = await self._number(number_id)
        account = self.accounts[number.account]
        if number.state != NumberState.AWAITING_OTP or not isinstance(account, KaleyraAccount):
            await self.threads.tell(requester, f"{number.e164} is not waiting for a code, so none was sent.")
            return
        if not await self.store.claim_otp_request(number.id, self.resend_cooldown):
            seconds = int(self.resend_cooldown.total_seconds())
            await self.threads.tell(
                requester,
                f"A code for {number.e164} was requested less than {seconds} s ago: "
                "wait for it, then try again if it does not arrive.",
            )
            return
        assert number.phone_number_id
        request = RetryOtpRequest(id=number.phone_number_id, phone_number=number.e164)
        via = "a voice call" if number.verification_type == "VOICE" else "SMS"

        async def call(number: Number) -> tuple[Event, dict[str, Any]]:
            try:
                await self.kaleyra.retry_otp(account, request)
            except ProviderError:
                await self.store.change(number.id, otp_requested_at=None)  # a failed request frees the button
                raise
            details = [f"Kaleyra is sending a new code to {number.e164} by {via}."]
            return Event(Kind.CODE_SENT, "resend", "", details, awaiting_code=True), {
                "code": "WA200",
                "data": number.phone_number_id,
            }

        await self._run(number, requester, "resend", request.model_dump(), call, awaiting_code=True)

    async def known_number(
        self, account_name: str, e164: str, requester: Requester, phone_number_id: str | None = None
    ) -> Number:
        """A number added outside the bot (or whose add failed), first seen through an update or a verify."""
        existing = [n for n in await self.store.numbers_with(e164) if n.account == account_name]
        if existing:
            number = existing[0]
        else:
            number = await self.store.start_number(
                account=account_name,
                e164=e164,
                user_id=requester.user_id,
                channel_id=requester.channel_id,
                state=NumberState.KNOWN,
            )
        if phone_number_id and number.phone_number_id != phone_number_id:
            number = await self.store.change(
                number.id, phone_number_id=phone_number_id, state=NumberState.AWAITING_OTP
            )
        return number

    async def recover(self, older_than: timedelta = timedelta(minutes=2)) -> int:
        """After a crash or restart: operations that never got an answer are marked and reported in their thread."""
        stale = await self.store.interrupt_stale(older_than)
        for operation in stale:
            number = await self._number(operation.number_id)
            if operation.action == "add":
                number = await self.store.change(number.id, state=NumberState.FAILED)
            requester = Requester(operation.user_id, number.channel_id or operation.user_id)
            details = [
                "wa-bot stopped before the provider's answer was recorded; what was asked is kept.",
                "Check the number with `/wa-numbers`, then try again "
                "(if the provider says the number already exists, the add went through).",
            ]
            awaiting = number.state == NumberState.AWAITING_OTP
            event = Event(
                Kind.INTERRUPTED, operation.action, operation.user_id, details, awaiting_code=awaiting
            )
            try:
                number = await self.threads.open(number, requester)
                await self.threads.post(number, event, requester)
            except Exception:
                log.exception("could not report interrupted operation %s", operation.id)
        return len(stale)

    async def _number(self, number_id: int) -> Number:
        number = await self.store.number(number_id)
        if number is None:
            raise LookupError(f"wa-bot has no number {number_id}")
        return number

    async def _run(
        self,
        number: Number,
        requester: Requester,
        action: str,
        request: dict[str, Any],
        call: Callable[[Number], Awaitable[tuple[Event, dict[str, Any]]]],
        failed_state: NumberState | None = None,
        awaiting_code: bool = False,
    ) -> ProviderError | None:
        """The shape of every operation: record → thread → provider → record → report. No failure is silent.

        Returns the provider's refusal, if any, for a caller that can show it where the person typed.
        """
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        operation_id = await self.store.begin(number.id, requester.user_id, action, request)
        try:
            number = await self.threads.open(number, requester)
            event, response = await call(number)
        except ProviderError as error:
            await self.store.finish(
                operation_id,
                Outcome.FAILED,
                code=error.code,
                message=error.message,
                response={"field_errors": error.field_errors, "http_status": error.http_status},
            )
            if failed_state:
                number = await self.store.change(number.id, state=failed_state)
            number = await self._number(number.id)
            event = Event(
                Kind.FAILED,
                action,
                requester.user_id,
                error=error,
                awaiting_code=awaiting_code and number.state == NumberState.AWAITING_OTP,
            )
            await self.threads.post(number, event, requester)
            return error
        except Exception as error:
            log.exception("%s of number %s failed inside wa-bot", action, number.id)
            await self.store.finish(
                operation_id, Outcome.FAILED, code="BOT_ERROR", message=type(error).__name__
            )
            if failed_state:
                await self.store.change(number.id, state=failed_state)
            await self.threads.tell(
                requester,
                f":x: wa-bot hit an internal error ({type(error).__name__}) during the "
                f"{action} of {number.e164}. What you entered is kept in its history "
                "(`/wa-numbers <number>`); try again, and tell an admin if it persists.",
            )
            return None
        code, message = response.pop("code", None), response.pop("message", None)
        await self.store.finish(operation_id, Outcome.OK, code=code, message=message, response=response)
        event.user_id = requester.user_id
        await self.threads.post(await self._number(number.id), event, requester)
        return None
