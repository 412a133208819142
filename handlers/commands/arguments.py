"""What the slash commands read from their text, and the answers to text they cannot use (raised as refusals)."""

from __future__ import annotations

from typing import Any

from bot.lifecycle.usecases import Numbers
from bot.phone import PhoneError, parse_phone
from bot.slack import words
from bot.store import Number
from handlers.answers import Refusal
from handlers.payloads import ModalContext

HELP_WORDS = {"help", "-h", "--help", "?"}
AUDIT_DAYS_DEFAULT = 30
AUDIT_DAYS_MAX = 3660


def audit_days(text: str) -> int | str | None:
    """`audit [days]` → the days (default 30); a malformed `days` → the problem; not `audit …` → None."""
    words = text.split()
    if not words or words[0].lower() != "audit":
        return None
    if len(words) == 1:
        return AUDIT_DAYS_DEFAULT
    if len(words) == 2 and words[1].isascii() and words[1].isdigit() and 1 <= int(words[1]) <= AUDIT_DAYS_MAX:
        return int(words[1])
    return f"`{' '.join(words[1:])[:40]}` is not a number of days from 1 to {AUDIT_DAYS_MAX}."


def number_argument(command: dict[str, Any]) -> str:
    """The E.164 number of a `<number>` argument; the usage is the answer to help, nothing, or no number."""
    name, text = command["command"], command.get("text", "").strip()
    if not text or text.lower() in HELP_WORDS:
        raise Refusal(words.usage(name, None if text else "Which number?"))
    try:
        return parse_phone(text).e164
    except PhoneError as error:
        raise Refusal(words.usage(name, str(error))) from None


def modal_context(command: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What a modal opened by `command` remembers: where it was typed, and `extra`."""
    return ModalContext(
        channel=command["channel_id"], response_url=command.get("response_url"), **extra
    ).dump()


def refuse_if_gone(numbers: Numbers, found: list[Number]) -> None:
    """Refuse a number that only accounts no longer configured hold."""
    account = numbers.unconfigured_account(found)
    if account is not None:
        raise Refusal(
            f"{found[0].e164} is on account `{account}`, which is no longer configured in wa-bot: "
            "ask an admin to restore it before acting on this number."
        )
