"""The one provider error type: a provider said no, or could not be reached."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProviderError(Exception):
    """A provider said no, or could not be reached. Never carries a secret or an OTP."""

    provider: str  # "Kaleyra" or "Meta"
    code: str
    message: str
    field_errors: dict[str, str] = field(default_factory=dict)
    http_status: int | None = None
    retryable: bool = False
    # Graph API extras; Kaleyra leaves them empty.
    user_title: str | None = None
    user_message: str | None = None
    subcode: int | None = None
    trace_id: str | None = None

    def __str__(self) -> str:
        return f"{self.provider} {self.code} · {self.message}"
