"""Numbers as phones and web pages copy them: invisible direction marks, no-break spaces, a full-width plus are
read as the digits they surround; an extension is refused at the door, not silently dropped."""

from __future__ import annotations

import pytest
from conftest import Person
from standins import KaleyraStandIn

# What a phone's contact card gives when a number is copied: the number wrapped in direction marks.
PASTED = {
    "direction marks": "\u202a+91 98765 43210\u202c",
    "isolates and a zero-width space": "\u2066+91\u200b 98765 43210\u2069",
    "no-break spaces and a full-width plus": "\uff0b91\u00a098765\u202f43210",
    "left-to-right marks": "\u200e+91 98765-43210\u200e",
}


@pytest.mark.parametrize("typed", list(PASTED.values()), ids=list(PASTED))
async def test_a_pasted_number_is_added_with_its_digits(
    person: Person, kaleyra: KaleyraStandIn, typed: str
) -> None:
    await person.command("/wa-add")
    form = await person.opened_view("wa_add")
    status, body = await person.submit(form, {"phone_number": typed, "name": "Acme Support"})
    assert (status, body) == (200, None)

    [request] = await kaleyra.wait_for_requests(1)
    assert (request.json["country_code"], request.json["phone_number"]) == ("+91", "9876543210")


async def test_an_extension_is_refused_at_the_door(person: Person, kaleyra: KaleyraStandIn) -> None:
    await person.command("/wa-add")
    form = await person.opened_view("wa_add")
    status, body = await person.submit(form, {"phone_number": "+1 631 555 1000 ext. 12", "name": "Acme"})

    assert status == 200 and body["response_action"] == "errors"
    assert "extension" in body["errors"]["phone_number"]
    assert kaleyra.requests == []  # the answer is the sign the bot finished: nothing was sent
