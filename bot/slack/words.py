"""Every sentence a person reads that is not a Block Kit layout: a provider error (its code and message, the details,
what to do next), each kind of result, the states, the commands' usage."""

from __future__ import annotations

from bot.accounts import Account
from bot.lifecycle.events import Event, Facts, Kind
from bot.lifecycle.states import State
from bot.providers.errors import Delivery, ProviderError, Reason
from bot.slack.mrkdwn import escape, literal

ADMIN_KALEYRA = "Ask an admin to check this account's Kaleyra SID and API key (KALEYRA_SID, KALEYRA_API_KEY or the accounts file)."

# What the person can do, by what the provider's refusal means (the adapters name it; see Reason).
NEXT_STEPS: dict[Reason, str] = {
    Reason.ALREADY_EXISTS: "The number is already on this WABA: look it up with `/wa-numbers <number>`, or add another number.",
    Reason.BAD_PAYLOAD: "Kaleyra did not accept the shape of the request: please report this to the wa-bot maintainers with this thread's link.",
    Reason.BAD_WABA_ID: "Ask an admin to check the WABA ID of this account (KALEYRA_WABA_ID or the accounts file).",
    Reason.REQUIRED_FIELD: "A required field was missing: fill in every field and try again.",
    Reason.NAME_TOO_LONG: "Shorten the display name to 255 characters and try again.",
    Reason.WRONG_OTP: "The code was not accepted: enter the six-digit code from the latest SMS or voice call again, or ask for a new one with Resend code.",
    Reason.UNKNOWN_ID: "Kaleyra does not know this number under that phone number ID: check both with `/wa-numbers <number>`.",
    Reason.NO_SUCH_NUMBER: "Kaleyra found no such number: check it has its country code, and that it was added to this WABA.",
    Reason.BAD_EMAIL: "Correct the email address and submit the update again.",
    Reason.FIELD_TOO_LONG: "Shorten that field and submit the update again.",
    Reason.BAD_CATEGORY: "Pick a category from the list and submit again.",
    Reason.NUMBER_TOO_SHORT: "Check the number, with its country code, and add it again.",
    Reason.ALREADY_VERIFIED: "Nothing to do: the number is already verified.",
    Reason.TRY_LATER: "Kaleyra had a temporary problem: try again in a few minutes.",
}

# What the person can do, by the code alone (Kaleyra's codes that mean one thing, and wa-bot's own).
CODE_NEXT_STEPS: dict[str, str] = {
    "RBC001": ADMIN_KALEYRA,
    "WA401": "Ask an admin to check the WABA ID of this account (KALEYRA_WABA_ID or the accounts file).",
    "E112": "Kaleyra has no such number on this WABA: check it with `/wa-numbers`, or add it first.",
    "E947": "Correct the fields named above and add the number again.",
    "E413": "Correct the fields named above and add the number again.",
    "E962": "Give a full image URL for the display image, or leave the field empty.",
    "TIMEOUT": "The provider may or may not have done it: check `/wa-numbers <number>` before trying again.",
    "NETWORK": "The provider could not be reached: try again in a few minutes; if it persists, tell an admin.",
}

META_NEXT_STEPS: dict[int, str] = {
    400: "Check the number: it must be a valid E.164 number not registered to another WhatsApp Business Account.",
    401: "The bot's Meta access token is invalid or expired: ask an admin to renew META_ACCESS_TOKEN.",
    403: "The bot's Meta token lacks permission on this business: ask an admin to grant whatsapp_business_management.",
    404: "Meta does not know this business ID, or the token cannot see it: ask an admin to check META_BUSINESS_ID.",
    422: "Meta understood the request but cannot do it for this number: read Meta's message above.",
    429: "Meta is rate-limiting the bot: wait a few minutes and try again.",
}


def next_step(error: ProviderError) -> str:
    """What the person can do about `error`, in their words."""
    if error.delivery == Delivery.UNCLEAR:
        return "It may have been done: check `/wa-numbers <number>` and the provider's console before trying again."
    if error.provider == "Meta":
        if error.http_status in META_NEXT_STEPS:
            return META_NEXT_STEPS[error.http_status]
        if error.retryable:
            return "Meta had a temporary problem: try again in a few minutes."
        return "Read Meta's message above; give the trace ID to Meta support if it persists."
    if error.reason is not None:
        return NEXT_STEPS[error.reason]
    if error.code in CODE_NEXT_STEPS:
        return CODE_NEXT_STEPS[error.code]
    if error.code.startswith("HTTP"):
        return "Kaleyra answered with something unexpected: try again in a few minutes; if it persists, tell an admin."
    return "Check the details above and try again; if it persists, ask an admin."


def explain(error: ProviderError) -> list[str]:
    """Lines a person reads: what went wrong (the provider's code and message), the details, then what to do."""
    lines: list[str] = []
    if error.user_title or error.user_message:
        lines.append(": ".join(escape(part) for part in (error.user_title, error.user_message) if part))
    lines.append(f"{error.provider} {literal(error.code)} · {literal(error.message)}")
    for name, text in error.field_errors.items():
        if text and text != error.message:
            lines.append(f"• {literal(name)}: {literal(text)}")
    support = []
    if error.subcode is not None:
        support.append(f"subcode {error.subcode}")
    if error.trace_id:
        support.append(f"trace ID `{escape(error.trace_id)}`")
    if error.http_status is not None and error.provider == "Meta":
        support.append(f"HTTP {error.http_status}")
    if support:
        lines.append("For support: " + ", ".join(support))
    lines.append(f"Next: {next_step(error)}")
    return lines


HEADLINES = {
    Kind.ADDED: ":white_check_mark: Added",
    Kind.CODE_SENT: ":incoming_envelope: New code requested",
    Kind.VERIFIED: ":white_check_mark: Verified",
    Kind.UPDATED: ":pencil2: Profile updated",
    Kind.INTERRUPTED: ":warning: Interrupted",
}

# What to check when a request may or may not have been carried out, per action.
UNKNOWN_NEXT = {
    "add": "It may have been added. Before pressing *Retry*, check whether a code arrives on the number "
    "(Kaleyra v2) or whether the number shows in the provider's console; a second add of a number that "
    "exists is refused as already existing, so nothing is added twice.",
    "verify": "It may have been verified. *Retry* opens the OTP form again; if it was verified, Kaleyra "
    "answers that it is already approved.",
    "resend": "A new code may be on its way: wait a minute for it before pressing *Retry*.",
    "update": "The profile may or may not have changed; *Retry* sends the same values again, which is safe.",
}
LATE = (
    "This answer came after the operation was reported interrupted (its process could not renew its claim "
    "meanwhile): the answer stands, and the number's state above is the one it leaves."
)
UNRECORDED = (
    ":warning: wa-bot could not record this answer in its store yet and keeps trying; "
    "this message is the provider's answer."
)


def describe(event: Event, e164: str) -> tuple[str, list[str]]:
    """The summary line and the detail lines of an event, as a person reads them."""
    lines = _details(event, e164)
    if event.facts.unrecorded:
        lines.append(UNRECORDED)
    if event.facts.late:
        lines.append(LATE)
    if event.kind == Kind.FAILED:
        return f":x: The {event.action} failed (asked by <@{event.user_id}>)", lines
    if event.kind == Kind.UNKNOWN:
        return f":grey_question: The {event.action}'s outcome is unknown (asked by <@{event.user_id}>)", lines
    verb = "asked" if event.kind == Kind.INTERRUPTED else "by"
    return f"{HEADLINES[event.kind]} ({event.action}, {verb} <@{event.user_id}>)", lines


def _details(event: Event, e164: str) -> list[str]:
    facts = event.facts
    by = "a voice call" if facts.via == "VOICE" else "SMS"
    match event.kind:
        case Kind.FAILED:
            return explain(event.error) if event.error else []
        case Kind.UNKNOWN:
            said = (
                [line for line in explain(event.error) if not line.startswith("Next:")] if event.error else []
            )
            provider = facts.provider or "The provider"
            unclear = event.error is not None and event.error.delivery == Delivery.UNCLEAR
            return [
                *said,
                f"{provider} answered success, but without what success carries: it may have done it."
                if unclear
                else f"{provider} may have received the request, but no answer came.",
                "Next: " + UNKNOWN_NEXT.get(event.action, "check before trying again."),
            ]
        case Kind.INTERRUPTED:
            return [
                "wa-bot stopped before the provider's answer was recorded; what was asked is kept.",
                "Next: " + UNKNOWN_NEXT.get(event.action, "check before trying again."),
            ]
        case Kind.ADDED if event.awaiting_code:
            return [
                f"Phone number ID: `{escape(facts.phone_number_id)}`.",
                f"{facts.provider} is sending a six-digit code to {e164} by {by}: press *Enter OTP* when it arrives.",
                *_sandbox_code(facts),
            ]
        case Kind.ADDED if facts.record_status is not None or facts.record_name is not None:
            return [
                f"{facts.provider} created the record: ID `{escape(facts.phone_number_id)}`, "
                f"status {literal(facts.record_status)}, name {literal(facts.record_name)}."
            ]
        case Kind.ADDED:
            return [f"{facts.provider} added the number: ID `{escape(facts.phone_number_id)}`."]
        case Kind.CODE_SENT:
            return [f"{facts.provider} is sending a new code to {e164} by {by}.", *_sandbox_code(facts)]
        case Kind.VERIFIED if facts.already_approved:
            return [f"Kaleyra says {e164} was already approved: nothing more to do."]
        case Kind.VERIFIED:
            return [f"{e164} is verified."]
        case Kind.UPDATED:
            return [
                "Kaleyra accepted the new profile; what changed:",
                *(f"• `{name}`: {escape(value)}" for name, value in facts.changed.items()),
            ]
    return []


def _sandbox_code(facts: Facts) -> list[str]:
    """The sandbox sends no SMS: the code that works is shown where the person looks for it."""
    return (
        [f":test_tube: SANDBOX: no SMS is sent; the code that works is `{facts.sandbox_otp}`."]
        if facts.sandbox_otp
        else []
    )


STATE_WORDS: dict[str, str] = {
    State.NEW: "New",
    State.ADDING: "Adding…",
    State.AWAITING_OTP: "Awaiting OTP",
    State.VERIFIED: "Verified :white_check_mark:",
    State.ADDED: "Added :white_check_mark:",
    State.KNOWN: "Known (added outside wa-bot)",
    State.FAILED: "Failed :x:",
    State.UNKNOWN: "Unknown :grey_question: (check before retrying)",
}


USAGE = {
    "/wa-add": (
        "`/wa-add [number] [display name]` opens the add form, e.g. `/wa-add +91 98765 43210 Acme Support`; "
        "`/wa-add bulk` opens a form for up to 500 numbers at once."
    ),
    "/wa-verify": "`/wa-verify <number>` opens the OTP form for a number, e.g. `/wa-verify +91 98765 43210`.",
    "/wa-update": "`/wa-update <number>` opens the business profile form, e.g. `/wa-update +91 98765 43210`.",
    "/wa-numbers": (
        "`/wa-numbers` lists the numbers wa-bot knows; `/wa-numbers <number>` shows one number's history; "
        "`/wa-numbers audit [days]` sends you, by DM, a CSV of every operation in the last `days` days "
        "(1 to 3660, default 30)."
    ),
}


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, state)


def account_label(name: str, account: Account | None) -> str:
    """An account's label, or its name marked as gone when the configuration no longer has it."""
    return account.label if account else f"{name} (no longer configured)"


def usage(command: str, problem: str | None = None) -> str:
    lines = [f":warning: {problem}"] if problem else []
    return "\n".join([*lines, USAGE[command]])
