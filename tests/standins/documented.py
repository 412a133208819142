"""The documents' sample bodies, from their one home in the bot (checked against the documents themselves)."""

from bot.providers.documented import (
    META_ADD_OK,
    META_ERRORS,
    META_MINIMAL_ERROR,
    V1_ADD_FAILURES,
    V1_ADD_OK,
    V2_ADD_FAILURES,
    V2_ADD_OK,
    V2_RETRY_OTP_OK,
    V2_UPDATE_FAILURES,
    V2_UPDATE_OK,
    V2_VERIFY_FAILURES,
    V2_VERIFY_OK,
)

__all__ = [
    "META_ADD_OK",
    "META_ERRORS",
    "META_MINIMAL_ERROR",
    "V1_ADD_FAILURES",
    "V1_ADD_OK",
    "V2_ADD_FAILURES",
    "V2_ADD_OK",
    "V2_RETRY_OTP_OK",
    "V2_UPDATE_FAILURES",
    "V2_UPDATE_OK",
    "V2_VERIFY_FAILURES",
    "V2_VERIFY_OK",
]
