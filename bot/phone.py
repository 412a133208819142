"""Phone numbers as people paste them, normalized with `phonenumbers`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

EXAMPLE = "like +91 98765 43210"
NO_COUNTRY_CODE = f"Start the number with + and its country code, {EXAMPLE}."

# What is wrong, for each way `phonenumbers.parse` refuses a text that starts with +.
UNREADABLE = {
    NumberParseException.INVALID_COUNTRY_CODE: (
        "The digits after + are not a country code: check them (India is +91, the UK +44, the US +1)."
    ),
    NumberParseException.NOT_A_NUMBER: f"That is not a phone number: write + then its digits, {EXAMPLE}.",
    NumberParseException.TOO_SHORT_AFTER_IDD: f"The number is missing after its country code: {EXAMPLE}.",
    NumberParseException.TOO_SHORT_NSN: f"The number is too short after its country code: {EXAMPLE}.",
    NumberParseException.TOO_LONG: "That is too long for a phone number: check for extra digits.",
}
WRONG_LENGTH = {
    ValidationResult.TOO_SHORT: "it has too few digits",
    ValidationResult.TOO_LONG: "it has too many digits",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


# The longest text read as a phone number: phonenumbers' own limit for what it parses.
LONGEST_TYPED = 250
# What phones and web pages put around a copied number: read as a space, or as the plus it looks like.
SPACES = {"\u00a0", "\u2007", "\u202f"}  # no-break, figure and narrow no-break spaces
PLUSES = {"\uff0b", "\u2795"}  # full-width plus, heavy plus sign


def _as_typed(text: str) -> str:
    """`text` without Unicode format characters (category Cf: the direction marks U+200E, U+200F, U+202A–U+202E,
    U+2066–U+2069 a phone adds around a copied number, zero-width spaces…), its odd spaces and pluses plain."""
    kept = []
    for character in text:
        if character in SPACES:
            kept.append(" ")
        elif character in PLUSES:
            kept.append("+")
        elif unicodedata.category(character) != "Cf":
            kept.append(character)
    return "".join(kept)


@dataclass(frozen=True)
class Phone:
    """A valid number: `e164` "+919876543210", `country_code` "+91", `national` "9876543210"."""

    e164: str
    country_code: str
    national: str


class PhoneError(ValueError):
    """The text is not a valid phone number; the message is for a person and says what is wrong."""


def parse_phone(text: str) -> Phone:
    """Parse `+91 98765 43210`, `+1 (631) 555-1000`, `0044 20 7946 0958`…; the country code is required."""
    if len(text) > LONGEST_TYPED:  # nothing longer is a phone number, however it is spaced and marked
        raise PhoneError(UNREADABLE[NumberParseException.TOO_LONG])
    cleaned = _as_typed(text).strip()
    if not cleaned:
        raise PhoneError(f"Enter the phone number with its country code, {EXAMPLE}.")
    if not any(character.isdigit() for character in cleaned):
        raise PhoneError(
            f"That is not a phone number: it has no digits. Write it with + and its country code, {EXAMPLE}."
        )
    if cleaned.startswith("00"):  # the international prefix most of the world dials instead of +
        cleaned = "+" + cleaned[2:]
    if not cleaned.startswith("+"):
        raise PhoneError(NO_COUNTRY_CODE)
    try:
        number = phonenumbers.parse(cleaned, None)
    except NumberParseException as error:
        raise PhoneError(
            UNREADABLE.get(error.error_type, UNREADABLE[NumberParseException.NOT_A_NUMBER])
        ) from None
    if number.extension:
        raise PhoneError(
            f"WhatsApp numbers have no extension: remove the extension ({number.extension}) and add the number "
            "itself."
        )
    if not phonenumbers.is_valid_number(number):
        reason = WRONG_LENGTH.get(
            phonenumbers.is_possible_number_with_reason(number), "check the digits and the country code"
        )
        raise PhoneError(f"That is not a valid phone number for +{number.country_code}: {reason}.")
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country_code=f"+{number.country_code}",
        national=phonenumbers.national_significant_number(number),
    )


def try_parse_phone(text: str) -> Phone | None:
    try:
        return parse_phone(text)
    except PhoneError:
        return None
