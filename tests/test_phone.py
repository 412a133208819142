"""Phone numbers as people write them: the 00 international prefix reads as +, and a refusal says what is wrong.

Unit tests of bot/phone.py for the wordings, then scenarios through signed Slack requests.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SID, WABA_ID, Person
from standins import KaleyraStandIn, SlackStandIn

from bot.phone import Phone, PhoneError, parse_phone

LONDON = "0044 20 7946 0958"
LONDON_E164 = "+442079460958"
NO_COUNTRY_CODE = "Start the number with + and its country code, like +91 98765 43210."


# --- bot/phone.py ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (LONDON, Phone(LONDON_E164, "+44", "2079460958")),
        ("00442079460958", Phone(LONDON_E164, "+44", "2079460958")),
        ("0091 98765 43210", Phone("+919876543210", "+91", "9876543210")),
        ("001 (631) 555-1000", Phone("+16315551000", "+1", "6315551000")),
        ("  +44 20 7946 0958 ", Phone(LONDON_E164, "+44", "2079460958")),
    ],
)
def test_the_international_prefix_00_reads_as_plus(typed: str, expected: Phone) -> None:
    assert parse_phone(typed) == expected


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        # No country code: the + and the country code are what is missing
        ("98765 43210", [NO_COUNTRY_CODE]),
        ("(631) 555-1000", [NO_COUNTRY_CODE]),
        ("631-555-1000", [NO_COUNTRY_CODE]),
        ("0 98765 43210", [NO_COUNTRY_CODE]),
        # Not a number at all
        ("", ["Enter the phone number", "country code"]),
        ("hello", ["not a phone number", "no digits", "+ and its country code"]),
        ("+", ["not a phone number", "no digits"]),
        ("+91 abc", ["not a phone number", "write + then its digits"]),
        ("00", ["not a phone number", "write + then its digits"]),
        # Read, but wrong
        ("+999 1234 5678", ["not a country code", "+91"]),
        ("+91 98765 43210 98765 43210 1", ["too long"]),
        ("+91 12", ["not a valid phone number for +91", "too few digits"]),
        ("+1 631 555 10001", ["not a valid phone number for +1", "too many digits"]),
        ("0044 20 7946 09", ["not a valid phone number for +44", "check the digits"]),
    ],
)
def test_a_refusal_names_what_is_wrong(typed: str, words: list[str]) -> None:
    with pytest.raises(PhoneError) as refused:
        parse_phone(typed)

    message = str(refused.value)
    assert message[0].isupper() and message.endswith("."), message
    for word in words:
        assert word in message, message


# --- through Slack --------------------------------------------------------------------------------------


def inputs_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


async def test_a_number_with_00_is_added_with_its_country_code(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    status, body = await person.command("/wa-add", f"{LONDON} Acme")

    assert (status, body) == (200, None)
    view = await person.opened_view("wa_add")
    assert inputs_of(view)["phone_number"]["initial_value"] == LONDON
    assert inputs_of(view)["name"]["initial_value"] == "Acme"

    status, body = await person.submit(view, {})

    assert (status, body) == (200, None)
    [request] = await kaleyra.wait_for_requests(1)
    assert request.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/add"
    assert request.json == {
        "country_code": "+44",
        "phone_number": "2079460958",
        "name": "Acme",
        "verification_type": "SMS",
    }
    await slack.wait_for("chat.update")  # the thread's parent shows the result: the add is over
    [number] = await person.bot.store.numbers_with(LONDON_E164)
    assert number.e164 == LONDON_E164


async def test_a_number_with_00_opens_the_otp_modal(person: Person, kaleyra: KaleyraStandIn) -> None:
    status, body = await person.command("/wa-verify", LONDON)

    assert (status, body) == (200, None)
    view = await person.opened_view("wa_verify")
    assert LONDON_E164 in str(view["blocks"])
    assert LONDON_E164 in view["private_metadata"]
    assert kaleyra.requests == []


@pytest.mark.parametrize("typed", ["98765 43210", "(631) 555-1000"])
async def test_a_number_without_its_country_code_is_told_what_is_missing(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, typed: str
) -> None:
    status, body = await person.command("/wa-verify", typed)

    assert status == 200 and body["response_type"] == "ephemeral"
    assert NO_COUNTRY_CODE in body["text"]

    await person.command("/wa-add", "")
    view = await person.opened_view("wa_add")
    status, body = await person.submit(view, {"phone_number": typed, "name": "Acme"})

    assert status == 200 and body == {
        "response_action": "errors",
        "errors": {"phone_number": NO_COUNTRY_CODE},
    }
    assert [c.args["view"]["callback_id"] for c in slack.calls_of("views.open")] == ["wa_add"]
    assert kaleyra.requests == []
