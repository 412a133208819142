"""The use-cases: add, verify, update, resend and retry, each an operation through the lifecycle, and the reads
the listeners need. They know providers, the store and the `Threads` port; they never assign a state."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from time import perf_counter
from typing import Any

from aiolimiter import AsyncLimiter
from pydantic import BaseModel, SecretStr, ValidationError

from bot.accounts import Account
from bot.lifecycle.events import Event, Facts, Kind, Requester, Threads
from bot.lifecycle.operations import Leases, call_with_policy, write_until_stored
from bot.lifecycle.states import LIVE, Move, State, keep_state, stay_awaiting, to
from bot.metrics import Metrics
from bot.providers.base import Providers
from bot.providers.dialects import AddRequest, dialect_of
from bot.providers.errors import Delivery, ProviderError, Reason
from bot.providers.requests import RetryOtpRequest, UpdatePhoneNumberRequest, VerifyPhoneNumberRequest
from bot.store import (
    AuditRow,
    DuplicateIntent,
    Finished,
    MoveRefused,
    Number,
    Operation,
    Outcome,
    Store,
    StoreUnavailable,
    Transition,
    utcnow,
)

log = logging.getLogger(__name__)

RETRYABLE = {Outcome.FAILED, Outcome.UNKNOWN, Outcome.INTERRUPTED}
ALREADY_LIVE = "ALREADY_LIVE"  # the code of a bulk line refused because its number became live meanwhile
# The App Home's order: what waits for a person first (a code, a check before retrying, a refusal), then the rest.
HOME_ORDER = (
    State.AWAITING_OTP,
    State.UNKNOWN,
    State.FAILED,
    State.ADDED,
    State.VERIFIED,
    State.ADDING,
    State.KNOWN,
)


@dataclass
class Answer:
    """A provider's success: what to record, how the number moves, and what the thread says."""

    code: str | None
    response: dict[str, Any]
    transition: Transition | None
    event: Event
    message: str | None = None


@dataclass(frozen=True)
class BatchLine:
    """An add that is one line of a bulk add: recorded against its batch and line, each call (retries included)
    paced by the batch's limiter, and reported by the batch's message, not a thread of its own. `answered` is
    called once the provider has answered (or could not be reached): the batch's next line may go while this one's
    answer is written down."""

    batch_id: int
    line: int
    pace: AsyncLimiter
    answered: Callable[[], None]


class VerifyRequest(BaseModel):
    """What the OTP form gives verify: the number, the code (a secret from the form on) and, when the form asked
    for it, the phone number ID the person typed."""

    phone_number: str
    otp: SecretStr
    id: str | None = None


@dataclass
class Result:
    """What a listener may still show where the person typed: the refusal, or that it went through."""

    done: bool
    error: ProviderError | None = None
    number: Number | None = None


@dataclass
class _Run:
    """One operation under way: what the steps of `Numbers._execute` share."""

    action: str
    number: Number
    operation: Operation
    requester: Requester
    threads: Threads
    awaiting_code: bool


@dataclass(frozen=True)
class _Record:
    """An answer as the store records it."""

    outcome: Outcome
    code: str | None
    message: str | None
    response: dict[str, Any]
    transition: Transition | None


class Numbers:
    def __init__(
        self,
        store: Store,
        accounts: dict[str, Account],
        providers: Providers,
        threads: Threads,
        leases: Leases,
        metrics: Metrics,
        resend_cooldown: timedelta,
        backoff_seconds: float = 0.5,
        record_for_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.providers = providers
        self.metrics = metrics
        self.threads = threads
        self.leases = leases
        self.resend_cooldown = resend_cooldown
        self.backoff_seconds = backoff_seconds
        self.record_for_seconds = record_for_seconds

    # --- reads for the listeners ---

    async def number(self, number_id: int) -> Number | None:
        return await self.store.number(number_id)

    async def with_number(self, e164: str) -> list[Number]:
        """The number on every account that holds it (that wa-bot has acted on)."""
        return [n for n in await self.store.numbers_with(e164) if n.state != State.NEW]

    async def listing(self, limit: int) -> tuple[list[Number], int]:
        return await self.store.numbers(limit)

    def audit(self, days: int, batch_size: int = 500) -> AsyncGenerator[list[AuditRow], None]:
        """Every operation requested in the last `days` days, oldest first, in batches (never all at once)."""
        return self.store.audit(utcnow() - timedelta(days=days), batch_size)

    async def history(self, number_id: int, limit: int = 30) -> list[Operation]:
        return await self.store.history(number_id, limit)

    @property
    def verifying_accounts(self) -> dict[str, Account]:
        """The accounts whose numbers are verified (and updated) through wa-bot."""
        return {name: a for name, a in self.accounts.items() if dialect_of(a).verifies}

    def unconfigured_account(self, found: list[Number]) -> str | None:
        """The account holding `found` when only accounts no longer configured hold it (else None)."""
        names = sorted({n.account for n in found if n.account not in self.accounts})
        if not names or any(n.account in self.accounts for n in found):
            return None
        return names[0]

    async def live(self, account: str, e164: str) -> Number | None:
        """The number if a new add of it on `account` must be refused (adding, awaiting its OTP, verified…)."""
        number = await self.store.find(account, e164)
        return number if number is not None and number.state in LIVE else None

    async def live_among(self, account: str, e164s: list[str]) -> list[Number]:
        """Those of `e164s` a new add on `account` would be refused for (one query for a bulk add)."""
        return await self.store.live_among(account, e164s, LIVE)

    # --- the use-cases ---

    async def add(
        self,
        account_name: str,
        request: AddRequest,
        requester: Requester,
        intent: str | None,
        retry_of: int | None = None,
        batch: BatchLine | None = None,
    ) -> Result:
        """Move the number to adding (refused if it is live), call the provider, record and report the answer."""
        account = self.accounts[account_name]
        e164, fields = request.e164, request.number_columns()
        started = await self._start(
            account_name,
            e164,
            requester,
            intent,
            "add",
            request.model_dump(mode="json", exclude_none=True),
            to(Move.START_ADD, **fields),
            retry_of,
            batch,
        )
        if started is None:
            return Result(done=False)
        number, operation = started

        def failed(error: ProviderError | None, outcome: Outcome) -> Transition:
            return to(Move.ADD_UNKNOWN if outcome == Outcome.UNKNOWN else Move.ADD_FAILED)

        async def call() -> Answer:
            if batch is not None:
                await batch.pace.acquire()
            return await self._add(account, request, number)

        threads = UNTHREADED if batch else self.threads
        answered = batch.answered if batch else None
        return await self._execute(
            "add", number, operation, requester, call, failed, threads=threads, answered=answered
        )

    async def _add(self, account: Account, request: AddRequest, number: Number) -> Answer:
        added = await self.providers.of(account).add(account, request)
        facts = Facts(
            provider=added.provider,
            phone_number_id=added.phone_number_id,
            via=added.via,
            record_status=added.record_status,
            record_name=added.record_name,
            sandbox_otp=added.sandbox_otp,
        )
        confirmed: dict[str, Any] = {
            "phone_number_id": added.phone_number_id,
            "phone_number_id_confirmed": True,
        }
        if added.awaits_code:
            transition = to(Move.AWAIT_OTP, **confirmed, otp_requested_at=utcnow())
        else:
            transition = to(Move.ADDED, **confirmed, profile=added.profile)
        event = Event(Kind.ADDED, "add", "", facts, awaiting_code=added.awaits_code)
        return Answer(added.code, added.response, transition, event)

    async def verify(
        self, account_name: str, typed: VerifyRequest, requester: Requester, intent: str | None
    ) -> Result:
        """Check the code with Kaleyra, under the stored ID or the one the person typed (then unconfirmed)."""
        e164, phone_number_id = typed.phone_number, typed.id
        account = self.accounts[account_name]
        guard = (
            to(Move.IDENTIFY, phone_number_id=phone_number_id, phone_number_id_confirmed=False)
            if phone_number_id
            else stay_awaiting()
        )
        started = await self._start(
            account_name,
            e164,
            requester,
            intent,
            "verify",
            {"id": phone_number_id, "phone_number": e164} if phone_number_id else {"phone_number": e164},
            guard,
        )
        if started is None:
            return Result(done=False)
        number, operation = started
        if not number.phone_number_id:
            await self._abandon(operation, number, requester, "NO_ID", "no phone number ID is known for it")
            return Result(done=False, number=number)
        request = VerifyPhoneNumberRequest.model_validate(
            {"id": number.phone_number_id, "phone_number": number.e164, "otp": typed.otp}
        )

        async def call() -> Answer:
            facts = Facts(provider=self.providers.of(account).name, phone_number_id=number.phone_number_id)
            response: dict[str, Any] = {"data": number.phone_number_id}
            code, message = "WA200", None
            try:
                await self.providers.of(account).verify(account, request)
            except ProviderError as error:
                if error.reason != Reason.ALREADY_VERIFIED:
                    raise
                facts.already_approved = True
                code, message, response = error.code, error.message, {}
            transition = to(Move.VERIFY, phone_number_id_confirmed=True)
            return Answer(code, response, transition, Event(Kind.VERIFIED, "verify", "", facts), message)

        def failed(error: ProviderError | None, outcome: Outcome) -> Transition | None:
            if error is not None and error.reason == Reason.UNKNOWN_ID:
                return stay_awaiting(phone_number_id_confirmed=False)  # ask for the ID again, pre-filled
            return None

        return await self._execute("verify", number, operation, requester, call, failed, awaiting_code=True)

    async def update(
        self,
        account_name: str,
        request: UpdatePhoneNumberRequest,
        requester: Requester,
        intent: str | None,
        retry_of: int | None = None,
    ) -> Result:
        """Send Kaleyra only the fields whose value differs from what the bot last set."""
        known = await self.store.find(account_name, request.phone_number)
        first_seen = known is None or known.state == State.NEW
        profile = {} if known is None else known.profile
        typed = request.model_dump(mode="json", exclude_none=True, exclude={"phone_number"})
        changed = {k: v for k, v in typed.items() if profile.get(k) != v}
        if not changed:
            await self.threads.tell(
                requester,
                f"Nothing to update for {request.phone_number}: every field already has that value.",
            )
            return Result(done=False)
        started = await self._start(
            account_name,
            request.phone_number,
            requester,
            intent,
            "update",
            {"phone_number": request.phone_number, **changed},
            to(Move.KNOW) if first_seen else None,
            retry_of,
        )
        if started is None:
            return Result(done=False)
        number, operation = started
        account = self.accounts[account_name]
        sending = UpdatePhoneNumberRequest.model_validate({"phone_number": number.e164, **changed})

        async def call() -> Answer:
            await self.providers.of(account).update(account, sending)
            transition = keep_state(profile=changed)
            facts = Facts(
                provider=self.providers.of(account).name, changed={k: str(v) for k, v in changed.items()}
            )
            return Answer("WA200", {"data": 1}, transition, Event(Kind.UPDATED, "update", "", facts))

        return await self._execute("update", number, operation, requester, call, lambda error, outcome: None)

    async def resend(self, number_id: int, requester: Requester, intent: str | None) -> Result:
        """Ask Kaleyra for a new code, at most once per cool-down, whoever clicks and however often."""
        number = await self.store.number(number_id)
        if number is not None and not await self.usable(number, requester):
            return Result(done=False)
        account = self.accounts.get(number.account) if number else None
        verifies = account is not None and dialect_of(account).verifies
        if number is None or account is None or number.state != State.AWAITING_OTP or not verifies:
            e164 = number.e164 if number else "This number"
            await self.threads.tell(requester, f"{e164} is not waiting for a code, so none was sent.")
            return Result(done=False)
        assert number.phone_number_id
        request = RetryOtpRequest(id=number.phone_number_id, phone_number=number.e164)
        # The cool-down is claimed in the operation's own transaction: a click already received claims nothing.
        guard = stay_awaiting(cooldown=self.resend_cooldown)
        started = await self._start(
            number.account, number.e164, requester, intent, "resend", request.model_dump(), guard
        )
        if started is None:
            return Result(done=False)
        number, operation = started

        provider = self.providers.of(account)

        async def call() -> Answer:
            otp = await provider.resend(account, request)
            facts = Facts(provider=provider.name, via=number.verification_type or "SMS", sandbox_otp=otp)
            event = Event(Kind.CODE_SENT, "resend", "", facts, awaiting_code=True)
            return Answer("WA200", {"data": number.phone_number_id}, None, event)

        def failed(error: ProviderError | None, outcome: Outcome) -> Transition | None:
            # A refused request frees the button; one that may have been sent keeps the cool-down.
            return stay_awaiting(otp_requested_at=None) if outcome == Outcome.FAILED else None

        return await self._execute("resend", number, operation, requester, call, failed, awaiting_code=True)

    async def retry(self, operation_id: int, requester: Requester, intent: str | None) -> Result | Number:
        """Run a failed, unknown or interrupted operation again with what was typed, once per click.

        A verify is not sent again (the code is single use): its number comes back, for a fresh OTP form.
        """
        operation = await self.store.operation(operation_id)
        number = await self.store.number(operation.number_id) if operation else None
        if operation is None or number is None:
            await self.threads.tell(requester, "wa-bot has no record of that operation.")
            return Result(done=False)
        if operation.outcome not in RETRYABLE:
            await self.threads.tell(
                requester,
                f"The {operation.action} of {number.e164} is {operation.outcome}: nothing to retry.",
            )
            return Result(done=False)
        if not await self.usable(number, requester):
            return Result(done=False)
        if operation.outcome == Outcome.INTERRUPTED and self._still_running(operation):
            await self.threads.refuse(
                requester,
                number,
                f"its {operation.action} was reported interrupted, but the wa-bot process that sent it is alive "
                "and still waiting for the provider's answer, which will be posted in the thread; retry only if "
                "that answer is a failure",
            )
            return Result(done=False)
        typed = operation.request
        try:
            if operation.action == "add":
                request = self.add_request(self.accounts[number.account], typed)
                return await self.add(number.account, request, requester, intent, retry_of=operation.id)
            if operation.action == "update":
                update = UpdatePhoneNumberRequest.model_validate(typed)
                return await self.update(number.account, update, requester, intent, retry_of=operation.id)
        except ValidationError:
            await self.threads.tell(
                requester, f"What was typed for that {operation.action} can no longer be sent."
            )
            return Result(done=False)
        if operation.action == "resend":
            return await self.resend(number.id, requester, intent)
        return number  # verify: a person enters a code again

    def _still_running(self, operation: Operation) -> bool:
        """The operation's process still works on it: this one holds it, or another renewed its lease."""
        if self.leases.holds(operation.id):
            return True
        return operation.lease_until is not None and operation.lease_until > utcnow()

    async def usable(self, number: Number, requester: Requester) -> bool:
        """False (and the person told why) when the number's account is no longer configured."""
        if number.account in self.accounts:
            return True
        await self.threads.refuse(
            requester,
            number,
            f"its account `{number.account}` is no longer configured in wa-bot; ask an admin to restore it",
        )
        return False

    def add_request(self, account: Account, typed: dict[str, Any]) -> AddRequest:
        """The add request `typed` (as an operation or a batch line recorded it) for `account`'s API."""
        return dialect_of(account).add_request.model_validate(typed)

    # --- the shape of every operation ---

    async def _start(
        self,
        account: str,
        e164: str,
        requester: Requester,
        intent: str | None,
        action: str,
        request: dict[str, Any],
        transition: Transition | None,
        retry_of: int | None = None,
        batch: BatchLine | None = None,
    ) -> tuple[Number, Operation] | None:
        """The operation's row and the number's move, or None after telling the person why not (a bulk line's
        refusal is recorded as its failed operation instead: the batch's summary says it)."""
        try:
            return await self.store.start(
                account=account,
                e164=e164,
                user_id=requester.user_id,
                channel_id=requester.channel_id,
                intent=intent,
                action=action,
                request=request,
                lease=self.leases.new(),
                transition=transition,
                retry_of=retry_of,
                batch_id=batch.batch_id if batch else None,
                batch_line=batch.line if batch else None,
            )
        except DuplicateIntent as duplicate:
            log.info("intent %s already has operation %s", intent, duplicate.operation.id)
            if batch is None:
                number = await self.store.number(duplicate.operation.number_id)
                assert number is not None
                await self.threads.refuse(
                    requester, number, f"this {action} was already received once; it is not sent again"
                )
        except MoveRefused as refused:
            await self._refused(refused.number, requester, intent, action, batch)
        return None

    async def _refused(
        self, number: Number, requester: Requester, intent: str | None, action: str, batch: BatchLine | None
    ) -> None:
        """The number's state refused the move: the person is told why (a bulk line's refusal is recorded as its
        failed operation instead)."""
        if batch is not None:
            await self.store.record_refused(
                number.id,
                intent=intent,
                user_id=requester.user_id,
                action=action,
                code=ALREADY_LIVE,
                message=f"the number is already {number.state} on this account",
                batch_id=batch.batch_id,
                batch_line=batch.line,
            )
        elif action == "resend" and number.state == State.AWAITING_OTP:
            seconds = int(self.resend_cooldown.total_seconds())
            await self.threads.tell(
                requester,
                f"A code for {number.e164} was requested less than {seconds} s ago: "
                "wait for it, then try again if it does not arrive.",
            )
        else:
            await self.threads.refuse(requester, number, f"it cannot be {_verb(action)} now")

    async def _execute(
        self,
        action: str,
        number: Number,
        operation: Operation,
        requester: Requester,
        call: Callable[[], Awaitable[Answer]],
        failed: Callable[[ProviderError | None, Outcome], Transition | None],
        awaiting_code: bool = False,
        threads: Threads | None = None,
        answered: Callable[[], None] | None = None,
    ) -> Result:
        """thread → provider (as the retry policy allows) → record → report. No failure is silent."""
        run = _Run(action, number, operation, requester, threads or self.threads, awaiting_code)
        self.leases.hold(operation.id)
        called = False
        try:
            run.number = await run.threads.open(number, requester)
            called = True
            started = perf_counter()
            try:
                try:
                    answer = await call_with_policy(action, call, self.backoff_seconds)
                finally:  # the provider has answered (or cannot): a bulk add's next line may go
                    if answered is not None:
                        answered()
            except ProviderError as error:
                self.metrics.provider_call(action, error.code, perf_counter() - started)
                return await self._refusal(run, error, failed)
            self.metrics.provider_call(action, answer.code or "ok", perf_counter() - started)
            answer.event.user_id = requester.user_id
            run.awaiting_code = answer.event.awaiting_code
            recorded = _Record(Outcome.OK, answer.code, answer.message, answer.response, answer.transition)
            return Result(done=True, number=await self._finish(run, answer.event, recorded))
        except Exception as error:
            log.exception("%s of number %s failed inside wa-bot", action, number.id)
            await self._crashed(run, error, called, failed)
            return Result(done=False, number=run.number)
        finally:
            self.leases.drop(operation.id)

    async def _refusal(
        self,
        run: _Run,
        error: ProviderError,
        failed: Callable[[ProviderError | None, Outcome], Transition | None],
    ) -> Result:
        """The provider said no, or may have done it without saying so: recorded and reported."""
        unknown = error.delivery in (Delivery.UNANSWERED, Delivery.UNCLEAR)
        outcome = Outcome.UNKNOWN if unknown else Outcome.FAILED
        event = Event(
            Kind.UNKNOWN if unknown else Kind.FAILED,
            run.action,
            run.requester.user_id,
            Facts(provider=error.provider),
            error=error,
            retry_operation_id=run.operation.id,
        )
        response = {
            "field_errors": error.field_errors,
            "http_status": error.http_status,
            "delivery": error.delivery.value,
            "retryable": error.retryable,
        }
        recorded = _Record(outcome, error.code, error.message, response, failed(error, outcome))
        return Result(done=False, error=error, number=await self._finish(run, event, recorded))

    async def _crashed(
        self,
        run: _Run,
        error: Exception,
        called: bool,
        failed: Callable[[ProviderError | None, Outcome], Transition | None],
    ) -> None:
        """A bug inside wa-bot: recorded (never over an outcome already recorded) and said to the person."""
        outcome = Outcome.UNKNOWN if called else Outcome.FAILED
        try:
            await self.store.finish(
                run.operation.id,
                outcome,
                code="BOT_ERROR",
                message=type(error).__name__,
                number_id=run.number.id,
                transition=failed(None, outcome),
            )
        except StoreUnavailable:
            log.error("could not record the internal error of operation %s", run.operation.id)
        sent = "may have reached the provider" if called else "was not sent to a provider"
        e164 = run.number.e164
        await run.threads.tell(
            run.requester,
            f":x: wa-bot hit an internal error ({type(error).__name__}) during the {run.action} of {e164}; "
            f"the request {sent}. Check `/wa-numbers {e164}` before trying again, and tell an admin if it "
            "persists.",
        )

    async def _finish(self, run: _Run, event: Event, recorded: _Record) -> Number:
        """Record the answer and post it in the thread. If the store is away, the answer still reaches the
        thread and the log at once (the phone number ID included), and is written as soon as the store is back,
        however long that takes."""

        async def write() -> Finished:
            return await self.store.finish(
                run.operation.id,
                recorded.outcome,
                code=recorded.code,
                message=recorded.message,
                response=recorded.response,
                number_id=run.number.id,
                transition=recorded.transition,
            )

        try:
            finished = await write()
        except StoreUnavailable as error:
            return await self._finish_later(run, event, recorded, write, error)
        assert finished.number is not None
        if not finished.recorded:
            log.error(
                "the %s of %s (operation %s) had already ended as %s: this answer (%s %s) is not recorded",
                run.action,
                run.number.e164,
                run.operation.id,
                finished.was,
                recorded.code,
                recorded.message or "",
            )
            return finished.number
        event.facts.late = finished.was == Outcome.INTERRUPTED
        event.awaiting_code = run.awaiting_code and finished.number.state == State.AWAITING_OTP
        await self._report(run.threads, finished.number, event, run.requester)
        return finished.number

    async def _finish_later(
        self,
        run: _Run,
        event: Event,
        recorded: _Record,
        write: Callable[[], Awaitable[Finished]],
        error: StoreUnavailable,
    ) -> Number:
        """The store is away: the answer goes to the log and the thread now, to the store once it is back."""
        log.error(
            "the store could not record the %s of %s (operation %s, %s): provider answered %s %s; "
            "phone number ID %s; trying again until it can",
            run.action,
            run.number.e164,
            run.operation.id,
            error,
            recorded.code,
            recorded.message or "",
            event.facts.phone_number_id or "-",
        )
        event.facts.unrecorded = True
        shown = _as_moved(run.number, recorded.transition)
        event.awaiting_code = run.awaiting_code and shown.state == State.AWAITING_OTP
        await self._report(run.threads, shown, event, run.requester)
        finished = await write_until_stored(write)
        log.warning(
            "the %s of %s (operation %s) is recorded after all", run.action, run.number.e164, run.operation.id
        )
        if finished.was == Outcome.INTERRUPTED and finished.number is not None:
            # The thread said "interrupted" meanwhile: it hears the answer again, as the one that stands.
            event.facts.unrecorded, event.facts.late = False, True
            await self._report(run.threads, finished.number, event, run.requester)
        return finished.number or run.number

    async def _report(self, threads: Threads, number: Number, event: Event, requester: Requester) -> None:
        """Post a recorded (or unrecordable) answer: whatever Slack does, the record stands as it is."""
        try:
            await threads.post(number, event, requester)
        except Exception:
            log.exception("could not post the %s of %s in its thread", event.action, number.e164)

    async def _abandon(
        self, operation: Operation, number: Number, requester: Requester, code: str, why: str
    ) -> None:
        await self.store.finish(operation.id, Outcome.FAILED, code=code, message=why)
        await self.threads.refuse(requester, number, why)


def waiting_or_latest(found: list[Number]) -> Number | None:
    """Of the same number on several accounts, the one waiting for a code, else the latest."""
    waiting = [n for n in found if n.state == State.AWAITING_OTP]
    if waiting:
        return waiting[0]
    return found[-1] if found else None


def _as_moved(number: Number, transition: Transition | None) -> Number:
    """The number as `transition` would leave it (for the thread, while the store cannot record the move)."""
    shown = Number(**{column.key: getattr(number, column.key) for column in Number.__table__.columns})
    if transition is None:
        return shown
    for key, value in transition.fields.items():
        setattr(shown, key, value)
    if transition.profile:
        shown.profile = {**(number.profile or {}), **transition.profile}
    if transition.target is not None and (not transition.sources or number.state in transition.sources):
        shown.state = transition.target
    return shown


def _verb(action: str) -> str:
    return {"add": "added", "verify": "verified", "update": "updated", "resend": "sent a new code"}.get(
        action, action
    )


class _Unthreaded:
    """The `Threads` of a bulk add's lines: no parent message, no reply, no word per number. The batch's message
    reports them; the number gets a thread of its own at its first individual action."""

    async def open(self, number: Number, requester: Requester) -> Number:
        return number

    async def post(self, number: Number, event: Event, requester: Requester) -> None:
        return None

    async def tell(self, requester: Requester, text: str) -> None:
        return None

    async def refuse(self, requester: Requester, number: Number, reason: str) -> None:
        return None


UNTHREADED: Threads = _Unthreaded()
