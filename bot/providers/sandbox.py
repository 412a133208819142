"""The built-in sandbox: a provider like Kaleyra and Meta that keeps its numbers in the store and answers with
the documents' own bodies, successes and failures alike, so wa-bot can be tried without provider accounts.

Failures on purpose: a display name (add) or an about text (update) of `sandbox:<case>` answers with that
documented failure, e.g. `sandbox:try_later`; adding a number twice, a wrong code, an unknown phone number ID
and verifying twice answer as the documents say.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from bot.accounts import Account, KaleyraAccount, MetaAccount
from bot.providers import documented as doc
from bot.providers.base import Added
from bot.providers.errors import ProviderError
from bot.providers.kaleyra import V1_SUCCESS, V2_SUCCESS, KaleyraResponse, error_of, v1_profile
from bot.providers.requests import (
    AddPhoneNumberRequest,
    AddPhoneNumbersRequest,
    AddWhatsAppNumberRequest,
    RetryOtpRequest,
    UpdatePhoneNumberRequest,
    VerifyPhoneNumberRequest,
)
from bot.store import SandboxNumber, Store

ON_PURPOSE = "sandbox:"


def otp_of(phone_number_id: str) -> str:
    """The code that verifies a sandbox number: derived from its ID, so it is never stored anywhere."""
    digest = hashlib.sha256(f"wa-bot sandbox {phone_number_id}".encode()).hexdigest()
    return f"{int(digest, 16) % 1_000_000:06d}"


def _refuse(body: dict[str, Any]) -> ProviderError:
    """A documented failure body, read exactly as Kaleyra's answer would be, and said to come from the sandbox."""
    error = error_of(KaleyraResponse.model_validate(body), 200)
    error.provider = "Sandbox"
    return error


def _on_purpose(text: str | None, failures: dict[str, dict[str, Any]]) -> None:
    if text and text.startswith(ON_PURPOSE):
        case = text.removeprefix(ON_PURPOSE).strip()
        if case in failures:
            raise _refuse(failures[case])


class Sandbox:
    name = "Sandbox"

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, account: Any, request: Any) -> Added:
        if isinstance(request, AddPhoneNumbersRequest):
            assert isinstance(account, MetaAccount)
            number = await self._new(account.name, request.phone_number, doc.V2_ADD_FAILURES)
            return Added(self.name, number.phone_number_id, "HTTP 200", {"id": number.phone_number_id})
        if isinstance(request, AddWhatsAppNumberRequest):
            _on_purpose(request.display_name, doc.V1_ADD_FAILURES)
            number = await self._new(account.name, request.wa_number, doc.V2_ADD_FAILURES)
            profile = v1_profile(request)
            record = {**doc.V1_ADD_OK["data"][0], "id": number.phone_number_id, "name": request.display_name}
            return Added(
                self.name,
                number.phone_number_id,
                V1_SUCCESS,
                {"data": record},
                profile=profile,
                record_status=str(record.get("status")),
                record_name=request.display_name,
            )
        assert isinstance(request, AddPhoneNumberRequest) and isinstance(account, KaleyraAccount)
        _on_purpose(request.name, doc.V2_ADD_FAILURES)
        if len(request.name) > 255:
            raise _refuse(doc.V2_ADD_FAILURES["name_too_long"])
        number = await self._new(account.name, request.e164, doc.V2_ADD_FAILURES)
        return Added(
            self.name,
            number.phone_number_id,
            V2_SUCCESS,
            {"data": number.phone_number_id},
            awaits_code=True,
            via=request.verification_type,
            sandbox_otp=otp_of(number.phone_number_id),
        )

    async def verify(self, account: Account, request: VerifyPhoneNumberRequest) -> None:
        number = await self._known(account, request.phone_number, request.id, doc.V2_VERIFY_FAILURES)
        if number.verified:
            raise _refuse(doc.V2_VERIFY_FAILURES["already_approved"])
        if not secrets.compare_digest(request.otp.get_secret_value(), otp_of(number.phone_number_id)):
            raise _refuse(doc.V2_VERIFY_FAILURES["incorrect_otp_format"])
        await self.store.sandbox_change(number.id, verified=True)

    async def update(self, account: Account, request: UpdatePhoneNumberRequest) -> None:
        _on_purpose(request.about, doc.V2_UPDATE_FAILURES)
        number = await self.store.sandbox_number(account.name, request.phone_number)
        if number is None:
            raise _refuse(doc.V2_UPDATE_FAILURES["phone_number_not_found"])
        changed = request.model_dump(mode="json", exclude_none=True, exclude={"phone_number"})
        await self.store.sandbox_change(number.id, profile={**number.profile, **changed})

    async def resend(self, account: Account, request: RetryOtpRequest) -> str | None:
        number = await self._known(account, request.phone_number, request.id, doc.V2_VERIFY_FAILURES)
        return otp_of(number.phone_number_id)

    async def _new(self, account: str, e164: str, failures: dict[str, dict[str, Any]]) -> SandboxNumber:
        phone_number_id = f"SBX{secrets.randbelow(10**11):011d}"
        number = await self.store.sandbox_add(account, e164, phone_number_id)
        if number is None:
            raise _refuse(failures["already_exists"])
        return number

    async def _known(
        self, account: Account, e164: str, phone_number_id: str, failures: dict[str, dict[str, Any]]
    ) -> SandboxNumber:
        number = await self.store.sandbox_number(account.name, e164)
        if number is None or number.phone_number_id != phone_number_id:
            raise _refuse(failures["invalid_phone_number"])
        return number
