"""Phone numbers as people paste them, normalized with `phonenumbers`."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True)
class Phone:
    """A valid number: `e164` "+919876543210", `country_code` "+91", `national` "9876543210"."""

    e164: str
    country_code: str
    national: str


class PhoneError(ValueError):
    """The text is not a valid phone number; the message is for a person."""


def parse_phone(text: str) -> Phone:
    """Parse `+91 98765 43210`, `+1 (631) 555-1000`, `+1-631-555-1000`…; the country code is required."""
    cleaned = text.strip()
    if not cleaned:
        raise PhoneError("Enter the phone number with its country code, like +91 98765 43210.")
    if not cleaned.startswith(("+", "00")):
        raise PhoneError("Start the number with + and its country code, like +91 98765 43210.")
    try:
        number = phonenumbers.parse(cleaned, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("That is not a phone number: write it like +91 98765 43210.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(
            "That is not a valid phone number for its country: check the digits and the country code."
        )
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
