"""The async Kaleyra adapter: one pydantic model per documented request, one envelope, one error type."""

from __future__ import annotations

from typing import Any

import aiohttp
import yarl
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictInt,
    StrictStr,
    ValidationError,
)

from bot.accounts import Account, KaleyraAccount
from bot.providers.base import LONGEST_ID, Added
from bot.providers.errors import Delivery, ProviderError, Reason, connect_seconds, seconds_to_wait
from bot.providers.requests import (
    AddPhoneNumberRequest,
    AddWhatsAppNumberRequest,
    RetryOtpRequest,
    UpdatePhoneNumberRequest,
    VerifyPhoneNumberRequest,
    category_from_words,
)


class KaleyraResponse(BaseModel):
    """The envelope every documented answer shares; `data` is a string, number, list or object."""

    model_config = ConfigDict(extra="allow")

    code: str | None = None
    message: str | None = None
    data: Any = None
    error: dict[str, Any] | None = None


class WhatsAppNumberRecord(BaseModel):
    """One item of v1 add's `data`: the created record."""

    model_config = ConfigDict(extra="allow")

    id: StrictInt | StrictStr  # a JSON true is no ID
    phone_number: str | None = None
    name: str | None = None
    status: int | str | None = None


V2_SUCCESS = "WA200"
V1_SUCCESS = "I102"
GENERIC_ERROR_KEYS = {"error", "body", "payload"}


# Kaleyra's documented failures: (code, words in its message) → what they mean. The first match wins.
WORDING: list[tuple[str, str, Reason]] = [
    ("WA400", "already exists", Reason.ALREADY_EXISTS),
    ("WA400", "payload format", Reason.BAD_PAYLOAD),
    ("WA400", "'waba_id'", Reason.BAD_WABA_ID),
    ("WA400", "'required' tag", Reason.REQUIRED_FIELD),
    ("WA400", "exceeds 255", Reason.NAME_TOO_LONG),
    ("WA400", "otp format", Reason.WRONG_OTP),
    ("WA400", "invalid phone number", Reason.UNKNOWN_ID),
    ("WA400", "valid phone_number", Reason.NO_SUCH_NUMBER),
    ("WA400", "email", Reason.BAD_EMAIL),
    ("WA400", "character limit", Reason.FIELD_TOO_LONG),
    ("WA400", "catregory", Reason.BAD_CATEGORY),  # sic: Kaleyra's own spelling
    ("WA500", "too short", Reason.NUMBER_TOO_SHORT),
    ("WA500", "already approved", Reason.ALREADY_VERIFIED),
    ("WA500", "try again", Reason.TRY_LATER),
]


def reason_of(code: str, message: str) -> Reason | None:
    wording = message.lower()
    return next((reason for known, words, reason in WORDING if known == code and words in wording), None)


def error_of(envelope: KaleyraResponse, http_status: int) -> ProviderError:
    """Turn a failure envelope (v2's field → message, or v1's nested `{code, parameter, message}`) into one error."""
    error = envelope.error or {}
    nested = (
        error.get("error")
        if isinstance(error.get("error"), dict)
        else error
        if "parameter" in error
        else None
    )
    field_errors: dict[str, str] = {}
    code, message = envelope.code, envelope.message
    if nested is not None:
        parameters = [p.strip() for p in str(nested.get("parameter", "")).split(",") if p.strip()]
        text = str(nested.get("message", ""))
        parts = [p.strip() for p in text.split(".,")] if len(parameters) > 1 else [text]
        if len(parts) != len(parameters):
            parts = [text] * len(parameters)
        field_errors = dict(zip(parameters, parts, strict=True))
        detail = f"{nested.get('code')}: {text}" if code and nested.get("code") else text
        code = code or str(nested.get("code") or "")
        message = f"{message} ({detail})" if message else text
    else:
        field_errors = {
            k: str(v) for k, v in error.items() if isinstance(v, str) and k not in GENERIC_ERROR_KEYS
        }
        if not message:
            message = "; ".join(str(v) for v in error.values() if isinstance(v, str))
    code = code or f"HTTP {http_status}"
    reason = reason_of(code, message or "")
    return ProviderError(
        provider="Kaleyra",
        code=code,
        message=message or "no message",
        field_errors=field_errors,
        http_status=http_status,
        retryable=reason == Reason.TRY_LATER,
        reason=reason,
    )


class KaleyraClient:
    """Calls Kaleyra for one account at a time over the process's one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout | None = None) -> None:
        self._session = session
        self._timeout = timeout or aiohttp.ClientTimeout(total=20, connect=5)

    async def add_phone_number(self, account: KaleyraAccount, request: AddPhoneNumberRequest) -> str:
        """v2 add; returns the phone number ID Kaleyra assigned."""
        envelope = await self._call(account, "POST", _v2(account, "add"), request.model_dump(), V2_SUCCESS)
        return phone_number_id_of(envelope.data)

    async def verify_phone_number(self, account: KaleyraAccount, request: VerifyPhoneNumberRequest) -> None:
        payload = {**request.model_dump(exclude={"otp"}), "otp": request.otp.get_secret_value()}
        await self._call(account, "POST", _v2(account, "verify"), payload, V2_SUCCESS)

    async def retry_otp(self, account: KaleyraAccount, request: RetryOtpRequest) -> None:
        await self._call(account, "POST", _v2(account, "retry_otp"), request.model_dump(), V2_SUCCESS)

    async def update_phone_number(self, account: KaleyraAccount, request: UpdatePhoneNumberRequest) -> None:
        """v2 update, for v1 and v2 numbers alike; only the fields with a value are sent."""
        payload = request.model_dump(mode="json", exclude_none=True)
        await self._call(account, "PUT", _v2(account, "update"), payload, V2_SUCCESS)

    async def add_whatsapp_number(
        self, account: KaleyraAccount, request: AddWhatsAppNumberRequest
    ) -> WhatsAppNumberRecord:
        """v1 add; returns the created record."""
        url = f"{account.v1_url}/v1/{account.sid}/whatsapp/number"
        payload = request.model_dump(mode="json", exclude_none=True)
        envelope = await self._call(account, "POST", url, payload, V1_SUCCESS)
        records = envelope.data if isinstance(envelope.data, list) else [envelope.data]
        try:
            record = WhatsAppNumberRecord.model_validate(records[0])
        except (ValidationError, IndexError):
            record = None
        record_id = None if record is None else id_text(record.id)
        if record is None or record_id is None or len(record_id) > LONGEST_ID:
            raise unclear(V1_SUCCESS, "the created record and its ID")
        return record

    async def _call(
        self, account: KaleyraAccount, method: str, url: str, payload: dict[str, Any], success: str
    ) -> KaleyraResponse:
        headers = {"api-key": account.api_key.get_secret_value(), "Content-Type": "application/json"}
        try:
            async with self._session.request(
                method, url, json=payload, headers=headers, timeout=self._timeout
            ) as response:
                status, text = response.status, await response.text()
                retry_after = response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as error:  # no connection: the request never left
            host = yarl.URL(url).host
            message = f"could not reach {host} ({type(error).__name__})"
            raise ProviderError(
                "Kaleyra", "NETWORK", message, retryable=True, delivery=Delivery.NOT_SENT
            ) from None
        except aiohttp.ConnectionTimeoutError:  # raised only while connecting: nothing was sent
            host = yarl.URL(url).host
            message = f"could not connect to {host} within {connect_seconds(self._timeout)}"
            raise ProviderError(
                "Kaleyra", "NETWORK", message, retryable=True, delivery=Delivery.NOT_SENT
            ) from None
        except TimeoutError:  # after sending, or `total` ran out while connecting: it may have gone
            total = self._timeout.total
            raise ProviderError(
                "Kaleyra",
                "TIMEOUT",
                f"no answer within {total:g} s",
                retryable=True,
                delivery=Delivery.UNANSWERED,
            ) from None
        except aiohttp.ClientError as error:  # reset or cut mid-way: Kaleyra may have acted
            host = yarl.URL(url).host
            message = f"lost the connection to {host} ({type(error).__name__})"
            raise ProviderError(
                "Kaleyra", "NETWORK", message, retryable=True, delivery=Delivery.UNANSWERED
            ) from None
        return envelope_of(status, text, retry_after, success)


def envelope_of(status: int, text: str, retry_after: str | None, success: str) -> KaleyraResponse:
    """An answer's envelope when its code is `success`; otherwise the ProviderError the answer means."""
    try:
        envelope = KaleyraResponse.model_validate_json(text)
        if envelope.code is None and envelope.error is None:
            raise ValueError("no envelope")
    except (ValidationError, ValueError):
        message = f"answered HTTP {status} without its JSON envelope"
        raise ProviderError(
            "Kaleyra",
            f"HTTP {status}",
            message,
            http_status=status,
            retryable=status >= 500 or status == 429,
            delivery=Delivery.UNANSWERED if status >= 500 else Delivery.ANSWERED,
            retry_after=seconds_to_wait(retry_after, 1.0) if status == 429 else None,
        ) from None
    if envelope.code != success:
        raise error_of(envelope, status)
    return envelope


def phone_number_id_of(data: Any) -> str:
    """The ID from each documented shape of `data`: a string, a number, or an object (or list) with an `id`."""
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        data = data.get("id") or data.get("phone_number_id")
    phone_number_id = id_text(data)
    if phone_number_id is None:
        raise unclear(V2_SUCCESS, "the phone number ID")
    if len(phone_number_id) > LONGEST_ID:
        raise unclear(V2_SUCCESS, f"a phone number ID of at most {LONGEST_ID} characters")
    return phone_number_id


def id_text(value: Any) -> str | None:
    """An ID as text: a non-blank string, or a JSON number (not a boolean, nor one too long to print)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**LONGEST_ID:
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def unclear(code: str, missing: str) -> ProviderError:
    """A success code without what that success carries: Kaleyra may have acted, so the outcome is unknown."""
    message = f"answered success ({code}) without {missing}: check before retrying"
    return ProviderError("Kaleyra", code, message, http_status=200, delivery=Delivery.UNCLEAR)


def _v2(account: KaleyraAccount, operation: str) -> str:
    return f"{account.v2_url}/v2/{account.sid}/whatsapp/{account.waba_id}/number/{operation}"


V1_TO_PROFILE = {
    "address": "address",
    "business_description": "description",
    "incoming_url": "incoming_url",
    "contact_email": "email",
}


def v1_profile(request: AddWhatsAppNumberRequest) -> dict[str, str]:
    """The business profile a v1 add sets, under the v2 update's field names (what /wa-update pre-fills)."""
    sent = request.model_dump(mode="json", exclude_none=True)
    profile = {V1_TO_PROFILE[k]: v for k, v in sent.items() if k in V1_TO_PROFILE}
    category = category_from_words(request.business_category or "")
    if category:
        profile["category"] = category.value
    return profile


class KaleyraProvider:
    """Kaleyra behind the Provider interface: v2 or v1 adds by the request, v2 verify, update and resend."""

    name = "Kaleyra"

    def __init__(self, client: KaleyraClient) -> None:
        self.client = client

    async def add(self, account: Any, request: Any) -> Added:
        if isinstance(request, AddWhatsAppNumberRequest):
            record = await self.client.add_whatsapp_number(account, request)
            profile = v1_profile(request)
            return Added(
                "Kaleyra",
                str(record.id),
                V1_SUCCESS,
                {"data": record.model_dump(mode="json")},
                profile=profile,
                record_status=None if record.status is None else str(record.status),
                record_name=record.name,
            )
        assert isinstance(request, AddPhoneNumberRequest)
        phone_number_id = await self.client.add_phone_number(account, request)
        return Added(
            "Kaleyra",
            phone_number_id,
            V2_SUCCESS,
            {"data": phone_number_id},
            awaits_code=True,
            via=request.verification_type,
        )

    async def verify(self, account: Account, request: VerifyPhoneNumberRequest) -> None:
        await self.client.verify_phone_number(_kaleyra(account), request)

    async def update(self, account: Account, request: UpdatePhoneNumberRequest) -> None:
        await self.client.update_phone_number(_kaleyra(account), request)

    async def resend(self, account: Account, request: RetryOtpRequest) -> str | None:
        await self.client.retry_otp(_kaleyra(account), request)
        return None


def _kaleyra(account: Account) -> KaleyraAccount:
    """Only a Kaleyra account reaches Kaleyra's calls (Providers.of chooses by the account)."""
    assert isinstance(account, KaleyraAccount), f"account {account.name} is not a Kaleyra account"
    return account
