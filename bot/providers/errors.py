"""The one provider error type: a provider said no, or could not be reached, and whether the request got there."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp


class Delivery(StrEnum):
    """How far a failed request went: what decides whether sending it again could do a thing twice."""

    NOT_SENT = "not_sent"  # it never left this machine (no connection): sending again is safe
    UNANSWERED = (
        "unanswered"  # it may have reached the provider (timeout, reset, 5xx): the outcome is unknown
    )
    ANSWERED = "answered"  # the provider answered: its body says what happened
    # It answered success without what success carries (no phone number ID): it may have acted, so the
    # outcome is unknown and it is never sent again on its own.
    UNCLEAR = "unclear"


class Reason(StrEnum):
    """What a provider's refusal means, whatever its wording: the adapters read the wording once and name the
    reason; the use-cases and the words a person reads go by the reason, never by the provider's text."""

    ALREADY_EXISTS = "already_exists"  # the number is already on this WABA
    BAD_PAYLOAD = "bad_payload"  # the provider did not accept the request's shape
    BAD_WABA_ID = "bad_waba_id"
    REQUIRED_FIELD = "required_field"
    NAME_TOO_LONG = "name_too_long"
    WRONG_OTP = "wrong_otp"  # the code was not accepted (Kaleyra words even a wrong code as a format error)
    UNKNOWN_ID = "unknown_id"  # no such number under that phone number ID
    NO_SUCH_NUMBER = "no_such_number"
    BAD_EMAIL = "bad_email"
    FIELD_TOO_LONG = "field_too_long"
    BAD_CATEGORY = "bad_category"
    NUMBER_TOO_SHORT = "number_too_short"
    ALREADY_VERIFIED = "already_verified"
    TRY_LATER = "try_later"  # a temporary problem on the provider's side


@dataclass
class ProviderError(Exception):
    """A provider said no, or could not be reached. Never carries a secret or an OTP."""

    provider: str  # "Kaleyra" or "Meta"
    code: str
    message: str
    field_errors: dict[str, str] = field(default_factory=dict)
    http_status: int | None = None
    retryable: bool = False  # trying again later may work (what a person is told)
    delivery: Delivery = Delivery.ANSWERED
    retry_after: float | None = None  # the provider asked to wait this long (429): it did nothing
    reason: Reason | None = None  # what the refusal means, when the adapter could tell
    # Graph API extras; Kaleyra leaves them empty.
    user_title: str | None = None
    user_message: str | None = None
    subcode: int | None = None
    trace_id: str | None = None

    def __str__(self) -> str:
        return f"{self.provider} {self.code} · {self.message}"


def seconds_to_wait(retry_after: str | None, default: float) -> float:
    """A Retry-After header in seconds; `default` when it is absent, a date, or no finite number."""
    try:
        seconds = float(retry_after) if retry_after else default
    except ValueError:
        return default
    return max(0.0, seconds) if math.isfinite(seconds) else default


def connect_seconds(timeout: aiohttp.ClientTimeout) -> str:
    """The time a connection was given, as a person reads it. aiohttp raises ConnectionTimeoutError only while
    it connects (its connector's `connect` and `sock_connect` timeouts), before any byte of the request is sent."""
    seconds = [s for s in (timeout.connect, timeout.sock_connect) if s is not None]
    return f"{min(seconds):g} s" if seconds else "the time allowed"
