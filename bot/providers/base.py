"""The one interface every provider offers (Kaleyra, Meta, the sandbox), and the choice of one per account."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.accounts import Account, MetaAccount
from bot.providers.requests import (
    AddPhoneNumberRequest,
    AddPhoneNumbersRequest,
    AddWhatsAppNumberRequest,
    RetryOtpRequest,
    UpdatePhoneNumberRequest,
    VerifyPhoneNumberRequest,
)

# The longest phone number ID wa-bot keeps (numbers.phone_number_id, the OTP form's field): a longer "ID" in a
# success is none wa-bot can use, so that success is unclear.
LONGEST_ID = 255


@dataclass
class Added:
    """A provider's yes to an add: the ID it gave, whether a code is on its way, and what to record."""

    provider: str
    phone_number_id: str
    code: str  # the provider's success code (WA200, I102, HTTP 200)
    response: dict[str, Any]
    awaits_code: bool = False
    via: str | None = None  # "SMS" or "VOICE"
    profile: dict[str, str] = field(default_factory=dict)  # business profile fields the add set
    record_status: str | None = None
    record_name: str | None = None
    sandbox_otp: str | None = None  # the sandbox only: the code that works, shown in the thread


class Provider(Protocol):
    """Each call raises ProviderError when the provider says no or cannot be reached."""

    name: str  # as a person reads it: "Kaleyra", "Meta", "Sandbox"

    async def add(
        self,
        account: Account,
        request: AddPhoneNumberRequest | AddWhatsAppNumberRequest | AddPhoneNumbersRequest,
    ) -> Added: ...
    async def verify(self, account: Account, request: VerifyPhoneNumberRequest) -> None: ...
    async def update(self, account: Account, request: UpdatePhoneNumberRequest) -> None: ...
    async def resend(self, account: Account, request: RetryOtpRequest) -> str | None:
        """Ask for a new code; the sandbox returns the code that works, real providers None."""
        ...


class Providers:
    """Which provider serves an account: Kaleyra or Meta by the account's kind, or the sandbox for all."""

    def __init__(self, kaleyra: Provider, meta: Provider, sandbox: Provider | None = None) -> None:
        self.kaleyra = kaleyra
        self.meta = meta
        self.sandbox = sandbox

    def of(self, account: Account) -> Provider:
        if self.sandbox is not None:
            return self.sandbox
        return self.meta if isinstance(account, MetaAccount) else self.kaleyra
