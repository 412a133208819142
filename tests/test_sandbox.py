"""The sandbox: a real Slack workspace against the provider built into the bot, through signed requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import Person, running
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from test_v2_failures import (
    E164,
    NUMBER_AS_TYPED,
    buttons_of,
    inputs_of,
    reply_saying,
    stored_number,
    text_of,
)

from bot.lifecycle.states import State
from bot.providers.sandbox import otp_of
from bot.settings import Settings

NO_PROVIDER = {
    "kaleyra_sid": None,
    "kaleyra_api_key": None,
    "kaleyra_waba_id": None,
    "kaleyra_base_url": None,
}


@pytest.fixture
def sandbox_settings(settings_for: Callable[..., Settings]) -> Settings:
    return settings_for(wa_bot_sandbox=True, **NO_PROVIDER)


async def add(person: Person, name: str = "Acme Support") -> tuple[int, Any]:
    await person.command("/wa-add", NUMBER_AS_TYPED)
    return await person.submit(await person.opened_view("wa_add"), {"name": name})


async def test_a_number_is_added_verified_and_updated_in_the_sandbox_without_a_provider(
    sandbox_settings: Settings, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with running(sandbox_settings, slack) as person:
        # When a person adds a number with no provider configured
        assert await add(person) == (200, None)

        # Then the thread says SANDBOX and shows the code that works, and no provider was called
        added = await reply_saying(slack, "Added")
        number = await stored_number(person)
        assert number.account == "sandbox" and number.state == State.AWAITING_OTP
        assert number.phone_number_id and number.phone_number_id.startswith("SBX")
        code = otp_of(number.phone_number_id)
        assert f"`{code}`" in text_of(added) and "SANDBOX" in text_of(added)
        assert "SANDBOX" in text_of(slack.calls_of("chat.postMessage")[0].args)
        assert all("SANDBOX" in text_of(c.args) for c in slack.calls_of("chat.update"))

        # When a wrong code is entered, the sandbox answers as Kaleyra documents it
        await person.click(added["blocks"], "enter_otp")
        form = await person.opened_view("wa_verify")
        wrong = "000000" if code != "000000" else "111111"
        await person.submit(form, {"otp": wrong})
        await slack.wait_for("views.update", lambda c: "Incorrect OTP format" in text_of(c.args["view"]))

        # And the right code verifies it
        await person.submit(person.current(form), {"otp": code})
        await reply_saying(slack, "Verified")
        assert (await stored_number(person)).state == State.VERIFIED

        # And the profile is updated; an about of `sandbox:invalid_email` gives that documented failure
        await person.command("/wa-update", NUMBER_AS_TYPED)
        await person.submit(await person.opened_view("wa_update"), {"address": "EGL"})
        await reply_saying(slack, "Profile updated")
        opened = len(slack.calls_of("views.open"))
        await person.command("/wa-update", NUMBER_AS_TYPED)
        await slack.wait_for("views.open", lambda c: len(slack.calls_of("views.open")) > opened)
        await person.submit(await person.opened_view("wa_update"), {"about": "sandbox:invalid_email"})
        failed = await reply_saying(slack, "The update failed")
        assert doc.V2_UPDATE_FAILURES["invalid_email"]["message"] in text_of(failed)

    assert kaleyra.requests == []


@pytest.mark.parametrize("case", sorted(doc.V2_ADD_FAILURES))
async def test_every_documented_add_failure_can_be_produced_on_purpose(
    sandbox_settings: Settings, slack: SlackStandIn, kaleyra: KaleyraStandIn, case: str
) -> None:
    async with running(sandbox_settings, slack) as person:
        await add(person, f"sandbox:{case}")
        failed = await reply_saying(slack, "The add failed")
        assert doc.V2_ADD_FAILURES[case]["message"] in text_of(failed).replace("&amp;", "&")
        assert buttons_of(failed) == ["retry"]
        assert (await stored_number(person)).state == State.FAILED
    assert kaleyra.requests == []  # nothing left the machine


async def test_the_sandbox_keeps_its_numbers_across_a_restart(
    sandbox_settings: Settings, slack: SlackStandIn
) -> None:
    async with running(sandbox_settings, slack) as person:
        await add(person)
        await reply_saying(slack, "Added")
        number = await stored_number(person)
    assert number.phone_number_id

    async with running(sandbox_settings, slack) as person:
        # A code entered after the restart still verifies (the sandbox found its number in the store)
        await person.command("/wa-verify", E164)
        form = await person.opened_view("wa_verify")
        assert inputs_of(form) == ["otp"]
        await person.submit(form, {"otp": otp_of(number.phone_number_id)})
        await reply_saying(slack, "Verified")


async def test_an_unknown_phone_number_id_is_refused_as_kaleyra_documents(
    sandbox_settings: Settings, slack: SlackStandIn
) -> None:
    async with running(sandbox_settings, slack) as person:
        await person.command("/wa-verify", E164)
        form = await person.opened_view("wa_verify")
        await person.submit(form, {"otp": "123456", "id": "SBX00000000000"})
        await slack.wait_for(
            "views.update",
            lambda c: doc.V2_VERIFY_FAILURES["invalid_phone_number"]["message"] in text_of(c.args["view"]),
        )


@pytest.mark.parametrize("case", sorted(doc.V2_UPDATE_FAILURES))
async def test_every_documented_update_failure_can_be_produced_on_purpose(
    sandbox_settings: Settings, slack: SlackStandIn, kaleyra: KaleyraStandIn, case: str
) -> None:
    async with running(sandbox_settings, slack) as person:
        await add(person)
        await reply_saying(slack, "Added")
        await person.command("/wa-update", NUMBER_AS_TYPED)
        await person.submit(await person.opened_view("wa_update"), {"about": f"sandbox:{case}"})
        failed = await reply_saying(slack, "The update failed")
        assert doc.V2_UPDATE_FAILURES[case]["message"] in text_of(failed).replace("&amp;", "&")
    assert kaleyra.requests == []  # nothing left the machine
