"""Every documented Kaleyra v2 failure, met through Slack: what the operator reads, and what the bot keeps.

For each failure body of the add, verify and update documents (kept verbatim in `standins.documented`), the
Kaleyra stand-in answers with it and a person drives Slack as they would: `/wa-add` and its modal, the Enter
OTP button or `/wa-verify`, `/wa-update`. Each scenario then checks what that person sees (the provider's code
and message, the field errors that add something, a next step that fits), what the parent message says, and
what the store keeps.

The bodies are served with HTTP 200 unless a test says otherwise: the documents give no statuses, and the bot
must judge Kaleyra's answer by its body, not by its status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from conftest import Person, running
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc

from bot.lifecycle.states import State
from bot.providers.kaleyra import KaleyraClient, KaleyraProvider
from bot.settings import Settings
from bot.store import Number

NUMBER_AS_TYPED = "+91 98765 43210"
E164 = "+919876543210"
PHONE_NUMBER_ID = doc.V2_ADD_OK["data"]
API_KEY = "test-kaleyra-key"  # what conftest's settings give the bot; it must never reach Slack
WRONG_OTP = "111111"
RIGHT_OTP = "482913"  # the stand-in accepts any code unless a failure is queued

# The documents' `error` keys that name no request field: their text is the message again or a generic word.
NOT_FIELDS = {"error", "body", "payload"}

# What the "Next:" line must mention for each documented failure: distinctive words of a step that fits.
ADD_NEXT_STEP: dict[str, str] = {
    "incorrect_sid_or_key": "API key",
    "waba_not_found": "WABA ID",
    "payload_format": "maintainers",
    "already_exists": "/wa-numbers",
    "verification_type_required": "fill in every field",
    "name_required": "fill in every field",
    "waba_id_required": "WABA ID",  # waba_id is no field of the modal: an admin's setting, not the person's
    "name_too_long": "255 characters",
    "too_short": "country code",
    "try_later": "try again",
}
VERIFY_NEXT_STEP: dict[str, str] = {
    "incorrect_sid_or_key": "API key",
    "waba_not_found": "WABA ID",
    "payload_format": "maintainers",
    "incorrect_otp_format": "code was not accepted",  # a well-formed wrong code is worded as a wrong code
    "invalid_phone_number": "phone number ID",
    "try_later": "try again",
}
ALREADY_APPROVED = "already_approved"  # the one verify failure the bot treats as "verified"
UPDATE_NEXT_STEP: dict[str, str] = {
    "incorrect_sid_or_key": "API key",
    "waba_not_found": "WABA ID",
    "phone_number_not_found": "/wa-numbers",
    "invalid_phone_number": "country code",
    "invalid_email": "email address",
    "description_too_long": "Shorten",
    "address_too_long": "Shorten",
    "about_too_long": "Shorten",
    "payload_format": "maintainers",
    "invalid_category": "category",
    "try_later": "try again",
}


def add_cases() -> list[Any]:
    return list(doc.V2_ADD_FAILURES)


# --- what Slack holds -------------------------------------------------------------------------------------


def text_of(message_or_view: dict[str, Any]) -> str:
    """The words of a message's or a view's section blocks, as a person reads them."""
    return "\n".join(
        b["text"]["text"] for b in message_or_view.get("blocks", []) if b.get("type") == "section"
    )


def buttons_of(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    ]


def inputs_of(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def thread_replies(slack: SlackStandIn) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_of("chat.postMessage") if c.args.get("thread_ts")]


async def reply_saying(slack: SlackStandIn, words: str) -> dict[str, Any]:
    """The first thread reply whose text has `words`, waiting for it."""
    call = await slack.wait_for(
        "chat.postMessage", lambda c: bool(c.args.get("thread_ts")) and words in text_of(c.args)
    )
    return call.args


async def failure_reply(slack: SlackStandIn, action: str) -> dict[str, Any]:
    return await reply_saying(slack, f"The {action} failed")


async def unknown_reply(slack: SlackStandIn, action: str) -> dict[str, Any]:
    return await reply_saying(slack, f"The {action}'s outcome is unknown")


async def parent_saying(slack: SlackStandIn, words: str) -> dict[str, Any]:
    """The first edit of a parent message whose text has `words`."""
    return (await slack.wait_for("chat.update", lambda c: words in text_of(c.args))).args


async def parent_edited_since(slack: SlackStandIn, edits_before: int) -> dict[str, Any]:
    """The newest edit of a parent message, once there are more than `edits_before`."""
    await slack.wait_for("chat.update", lambda _: len(slack.calls_of("chat.update")) > edits_before)
    return slack.calls_of("chat.update")[-1].args


async def view_opened_by(
    slack: SlackStandIn, action: Awaitable[tuple[int, Any]], callback_id: str
) -> dict[str, Any]:
    """Do `action` (a command or a click) and return the modal it opened, with its view id."""
    opened = len(slack.calls_of("views.open"))
    status, body = await action
    assert status == 200 and not body, body
    await slack.wait_for("views.open", lambda _: len(slack.calls_of("views.open")) > opened)
    view = slack.views[max(slack.views)]  # the stand-in numbers views in order; the newest is the highest
    assert view["callback_id"] == callback_id
    return view


async def modal_after_submit(slack: SlackStandIn, view_id: str, updates_before: int) -> dict[str, Any]:
    """What the bot put in modal `view_id` (views.update) once it had Kaleyra's answer."""

    def updates() -> list[dict[str, Any]]:
        return [c.args for c in slack.calls_of("views.update") if c.args.get("view_id") == view_id]

    await slack.wait_for("views.update", lambda _: len(updates()) > updates_before)
    return dict(updates()[-1]["view"])


def updates_of(slack: SlackStandIn, view_id: str) -> int:
    return len([c for c in slack.calls_of("views.update") if c.args.get("view_id") == view_id])


def assert_no_secret_reached_slack(slack: SlackStandIn) -> None:
    everything = repr([call.args for call in slack.calls])
    assert API_KEY not in everything
    assert WRONG_OTP not in everything and RIGHT_OTP not in everything


# --- what the person must read -----------------------------------------------------------------------------


def field_errors_of(body: dict[str, Any]) -> dict[str, str]:
    """The body's errors that name a field and say more than the message."""
    return {
        name: text
        for name, text in (body.get("error") or {}).items()
        if name not in NOT_FIELDS and isinstance(text, str) and text != body["message"]
    }


def next_step_in(text: str) -> str:
    steps = [line for line in text.splitlines() if line.startswith("Next:")]
    assert len(steps) == 1, f"expected one 'Next:' line in:\n{text}"
    return steps[0]


def assert_explains(text: str, body: dict[str, Any], next_step_words: str) -> None:
    """`text` shows Kaleyra's code and message (`WA400 · phone number already exists`), the field errors that
    add something, and a next step with `next_step_words`."""
    shown = text.replace("`", "")  # code formatting is Slack's business; the words are the person's
    assert f"{body['code']} · {body['message'].strip()}" in shown, shown
    lines = shown.splitlines()
    for name, detail in field_errors_of(body).items():
        assert any(name in line and detail in line for line in lines), (
            f"field error {name!r} not shown:\n{shown}"
        )
    assert next_step_words.lower() in next_step_in(shown).lower(), shown


# --- what the person does ----------------------------------------------------------------------------------


async def add_number(person: Person, slack: SlackStandIn) -> None:
    """/wa-add with a pasted number and a name, then Add in the pre-filled modal."""
    form = await view_opened_by(slack, person.command("/wa-add", f"{NUMBER_AS_TYPED} Acme Support"), "wa_add")
    status, body = await person.submit(form, {})
    assert (status, body) == (200, None)


async def added_number(person: Person, slack: SlackStandIn) -> dict[str, Any]:
    """Add the number with Kaleyra's default answer (success); return the thread's "Added" reply."""
    await add_number(person, slack)
    return await reply_saying(slack, "Added")


async def open_otp_form(
    person: Person, slack: SlackStandIn, door: str, reply: dict[str, Any]
) -> dict[str, Any]:
    """The OTP modal, through the thread's Enter OTP button or through `/wa-verify <number>`."""
    if door == "button":
        return await view_opened_by(slack, person.click(reply["blocks"], "enter_otp"), "wa_verify")
    return await view_opened_by(slack, person.command("/wa-verify", NUMBER_AS_TYPED), "wa_verify")


async def submit_otp(person: Person, form: dict[str, Any], otp: str) -> None:
    status, body = await person.submit(form, {"otp": otp})
    assert status == 200 and body["response_action"] == "update", body


async def update_profile(person: Person, slack: SlackStandIn, values: dict[str, str | None]) -> None:
    """/wa-update <number>, then submit the form with `values` (other fields keep what it was pre-filled with)."""
    form = await view_opened_by(slack, person.command("/wa-update", NUMBER_AS_TYPED), "wa_update")
    status, body = await person.submit(form, values)
    assert (status, body) == (200, None)


async def stored_number(person: Person) -> Number:
    [number] = await person.bot.store.numbers_with(E164)
    return number


async def last_operation(person: Person) -> tuple[str, str, str | None]:
    number = await stored_number(person)
    operation = (await person.bot.store.history(number.id))[0]
    return operation.action, operation.outcome, operation.provider_code


# --- coverage ------------------------------------------------------------------------------------------------


def test_every_documented_failure_has_a_scenario() -> None:
    assert set(ADD_NEXT_STEP) == set(doc.V2_ADD_FAILURES)
    assert set(VERIFY_NEXT_STEP) | {ALREADY_APPROVED} == set(doc.V2_VERIFY_FAILURES)
    assert set(UPDATE_NEXT_STEP) == set(doc.V2_UPDATE_FAILURES)


# --- add ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", add_cases())
async def test_add_failure_is_explained_in_the_thread(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, case: str
) -> None:
    body = doc.V2_ADD_FAILURES[case]
    # Given Kaleyra refuses the add with a documented body (under a success-looking HTTP 200)
    kaleyra.queue("v2_add", body)

    # When the operator adds a number through /wa-add and its modal
    await add_number(person, slack)

    # Then the thread says what Kaleyra said, the details, and what to do next, with Retry and no Enter OTP
    reply = await failure_reply(slack, "add")
    assert_explains(text_of(reply), body, ADD_NEXT_STEP[case])
    assert buttons_of(reply) == ["retry"]
    assert len(thread_replies(slack)) == 1

    # And the parent message now says Failed
    parent = await parent_saying(slack, "Failed")
    assert parent["ts"] == reply["thread_ts"]

    # And the store keeps the failure with Kaleyra's code
    assert (await stored_number(person)).state == State.FAILED
    assert await last_operation(person) == ("add", "failed", body["code"])
    assert_no_secret_reached_slack(slack)


async def test_add_again_after_try_later_continues_in_the_same_thread(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given an add Kaleyra answered with "Please try again later"
    kaleyra.queue("v2_add", doc.V2_ADD_FAILURES["try_later"])
    await add_number(person, slack)
    failed = await failure_reply(slack, "add")

    # When the operator does what the next step says, and Kaleyra now accepts
    await add_number(person, slack)

    # Then the number is added in the same thread, the parent follows, and the code is awaited
    added = await reply_saying(slack, "Added")
    assert added["thread_ts"] == failed["thread_ts"]
    assert "enter_otp" in buttons_of(added)
    await parent_saying(slack, "Awaiting OTP")
    assert len([c for c in slack.calls_of("chat.postMessage") if not c.args.get("thread_ts")]) == 1
    assert (await stored_number(person)).state == State.AWAITING_OTP


async def test_add_failure_is_in_the_numbers_history(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    body = doc.V2_ADD_FAILURES["already_exists"]
    # Given an add Kaleyra refused because the number already exists
    kaleyra.queue("v2_add", body)
    await add_number(person, slack)
    await failure_reply(slack, "add")

    # When the operator looks the number up, as the next step says
    status, _ = await person.command("/wa-numbers", NUMBER_AS_TYPED)
    assert status == 200

    # Then the ephemeral history shows the failed add with Kaleyra's code and message
    answer = await slack.wait_for("response_url:cmd", lambda c: bool(c.args.get("blocks")))
    assert answer.args.get("response_type") == "ephemeral"
    history = text_of(answer.args).replace("`", "")
    assert "add" in history and "failed" in history
    assert body["code"] in history and body["message"] in history


@pytest.mark.parametrize(
    ("case", "status"),
    [("incorrect_sid_or_key", 401), ("waba_not_found", 401), ("already_exists", 400), ("try_later", 500)],
)
async def test_add_failure_under_an_error_status_reads_the_same(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, case: str, status: int
) -> None:
    body = doc.V2_ADD_FAILURES[case]
    # Given Kaleyra refuses the add with a documented body and an error status
    kaleyra.queue("v2_add", body, status=status)

    # When the operator adds a number
    await add_number(person, slack)

    # Then the person reads Kaleyra's code and message, not a bare HTTP status
    reply = await failure_reply(slack, "add")
    assert_explains(text_of(reply), body, ADD_NEXT_STEP[case])
    assert f"HTTP {status}" not in text_of(reply)
    assert await last_operation(person) == ("add", "failed", body["code"])


LONG_CODE = "WA400_PHONE_NUMBER_NOT_ELIGIBLE_FOR_WABA"  # 40 characters: longer than any documented code


async def test_a_provider_code_and_message_of_any_length_are_shown_and_recorded_whole(
    database_url: str, settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given Kaleyra refuses the add with a code longer than any it documents, and a long message
    message = "this number cannot be added to the WABA: " + "check the account's quality rating; " * 30
    kaleyra.queue("v2_add", {"code": LONG_CODE, "message": message, "data": [], "error": {}})

    async with running(settings_for(database_url=database_url), slack) as person:
        # When the operator adds a number (on SQLite, and on PostgreSQL, which checks a column's length)
        await add_number(person, slack)

        # Then the thread shows Kaleyra's code and message, recorded at once, with no internal error
        reply = await failure_reply(slack, "add")
        text = text_of(reply).replace("`", "")
        assert f"{LONG_CODE} · {message.strip()}" in text
        assert "could not record" not in text

        # And the history keeps both whole
        number = await stored_number(person)
        [operation] = await person.bot.store.history(number.id)
        assert (operation.outcome, operation.provider_code, operation.provider_message) == (
            "failed",
            LONG_CODE,
            message,
        )
        assert number.state == State.FAILED
    assert not [c for c in slack.calls if "internal error" in str(c.args)]


# --- verify --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("door", ["button", "command"])
@pytest.mark.parametrize("case", list(VERIFY_NEXT_STEP))
async def test_verify_failure_returns_to_the_otp_form_and_a_retry_verifies(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, case: str, door: str
) -> None:
    body = doc.V2_VERIFY_FAILURES[case]
    # Given a number added through Slack, and Kaleyra refusing the next verify with a documented body
    added = await added_number(person, slack)
    kaleyra.queue("v2_verify", body)

    # When the operator opens the OTP form (Enter OTP button or /wa-verify) and submits a code
    form = await open_otp_form(person, slack, door, added)
    edits = len(slack.calls_of("chat.update"))
    await submit_otp(person, form, WRONG_OTP)

    # Then the same modal comes back as the OTP form, showing why, so the person can try again at once
    retry_form = await modal_after_submit(slack, form["id"], updates_before=0)
    assert retry_form["callback_id"] == "wa_verify"
    # (a phone number ID Kaleyra refused is asked again, pre-filled, so a person can correct it)
    assert inputs_of(retry_form) == (["otp", "id"] if case == "invalid_phone_number" else ["otp"])
    assert_explains(text_of(retry_form), body, VERIFY_NEXT_STEP[case])

    # And the thread has the failure, with the Enter OTP button offered again
    reply = await failure_reply(slack, "verify")
    assert reply["thread_ts"] == added["thread_ts"]
    assert_explains(text_of(reply), body, VERIFY_NEXT_STEP[case])
    assert "enter_otp" in buttons_of(reply)

    # And the parent message and the store say the number still awaits its code
    parent = await parent_edited_since(slack, edits)
    assert parent["ts"] == added["thread_ts"] and "Awaiting OTP" in text_of(parent)
    assert (await stored_number(person)).state == State.AWAITING_OTP
    assert await last_operation(person) == ("verify", "failed", body["code"])

    # When the person tries again in the same modal, and Kaleyra accepts the code
    await submit_otp(person, {**slack.views[form["id"]], "id": form["id"]}, RIGHT_OTP)

    # Then the modal says Verified, the thread and the parent follow, and nothing was started over
    done = await modal_after_submit(slack, form["id"], updates_before=1)
    assert done["title"]["text"] == "Verified"
    await reply_saying(slack, ":white_check_mark: Verified")
    await parent_saying(slack, "Verified")
    assert (await stored_number(person)).state == State.VERIFIED
    verifies = [r for r in kaleyra.requests if r.operation == "v2_verify"]
    assert [r.json for r in verifies] == [
        {"id": PHONE_NUMBER_ID, "phone_number": E164, "otp": WRONG_OTP},
        {"id": PHONE_NUMBER_ID, "phone_number": E164, "otp": RIGHT_OTP},
    ]
    assert [r.operation for r in kaleyra.requests].count("v2_add") == 1
    assert_no_secret_reached_slack(slack)


@pytest.mark.parametrize("door", ["button", "command"])
async def test_verify_already_approved_counts_as_verified(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, door: str
) -> None:
    # Given a number added through Slack, and Kaleyra answering that it is already approved
    added = await added_number(person, slack)
    kaleyra.queue("v2_verify", doc.V2_VERIFY_FAILURES[ALREADY_APPROVED])

    # When the operator submits a code
    form = await open_otp_form(person, slack, door, added)
    await submit_otp(person, form, RIGHT_OTP)

    # Then the modal, the thread, the parent and the store all say verified, with no button left to press
    done = await modal_after_submit(slack, form["id"], updates_before=0)
    assert done["title"]["text"] == "Verified"
    reply = await reply_saying(slack, "Verified")
    assert "already approved" in text_of(reply)
    assert ":x:" not in text_of(reply)
    assert buttons_of(reply) == []
    await parent_saying(slack, "Verified")
    assert (await stored_number(person)).state == State.VERIFIED
    action, outcome, _ = await last_operation(person)
    assert (action, outcome) == ("verify", "ok")


async def test_verify_already_approved_is_recorded_as_kaleyra_said_it(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number added through Slack, and Kaleyra answering the verify that it is already approved
    added = await added_number(person, slack)
    body = doc.V2_VERIFY_FAILURES[ALREADY_APPROVED]
    kaleyra.queue("v2_verify", body)

    # When the operator submits a code
    form = await open_otp_form(person, slack, "button", added)
    await submit_otp(person, form, RIGHT_OTP)
    await modal_after_submit(slack, form["id"], updates_before=0)

    # Then the history (what /wa-numbers <number> shows) keeps Kaleyra's own code and words, not a WA200 it never sent
    number = await stored_number(person)
    operation = (await person.bot.store.history(number.id))[0]
    assert (operation.action, operation.outcome) == ("verify", "ok")
    assert operation.provider_code == body["code"]
    assert "already approved" in (operation.provider_message or "")


async def test_enter_otp_button_offered_after_a_failure_opens_a_form_that_verifies(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a verify that failed on the OTP format
    added = await added_number(person, slack)
    kaleyra.queue("v2_verify", doc.V2_VERIFY_FAILURES["incorrect_otp_format"])
    await submit_otp(person, await open_otp_form(person, slack, "button", added), WRONG_OTP)
    failed = await failure_reply(slack, "verify")

    # When the person closes that modal and later presses Enter OTP in the failure's reply
    form = await open_otp_form(person, slack, "button", failed)
    await submit_otp(person, form, RIGHT_OTP)

    # Then the number is verified, with no new add
    done = await modal_after_submit(slack, form["id"], updates_before=0)
    assert done["title"]["text"] == "Verified"
    assert (await stored_number(person)).state == State.VERIFIED
    assert [r.operation for r in kaleyra.requests] == ["v2_add", "v2_verify", "v2_verify"]


# --- update -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(UPDATE_NEXT_STEP))
async def test_update_failure_is_explained_and_leaves_the_profile_alone(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, case: str
) -> None:
    body = doc.V2_UPDATE_FAILURES[case]
    # Given a number added through Slack whose profile was set once
    await added_number(person, slack)
    await update_profile(person, slack, {"address": "EGL", "email": "ops@example.com"})
    await reply_saying(slack, "Profile updated")
    profile_before = (await stored_number(person)).profile
    assert profile_before == {"address": "EGL", "email": "ops@example.com"}

    # And Kaleyra refusing the next update with a documented body
    kaleyra.queue("v2_update", body)

    # When the operator submits new values through /wa-update
    edits = len(slack.calls_of("chat.update"))
    await update_profile(
        person, slack, {"address": "New Road 1", "about": "Body care", "category": "RESTAURANT"}
    )

    # Then the thread explains Kaleyra's answer
    reply = await failure_reply(slack, "update")
    assert_explains(text_of(reply), body, UPDATE_NEXT_STEP[case])
    # (Kaleyra was asked: the refusal is its own, not the bot's validation)
    # (only what differs from what the bot last set: the email was pre-filled and left as it was)
    put = [r for r in kaleyra.requests if r.operation == "v2_update"][-1]
    assert put.json == {
        "phone_number": E164,
        "address": "New Road 1",
        "category": "RESTAURANT",
        "about": "Body care",
    }
    parent = await parent_edited_since(slack, edits)
    assert parent["ts"] == reply["thread_ts"] and "Awaiting OTP" in text_of(parent)

    # And the stored profile, the number's state and the next form keep what was last accepted
    number = await stored_number(person)
    assert number.profile == profile_before
    assert number.state == State.AWAITING_OTP
    assert await last_operation(person) == ("update", "failed", body["code"])
    form = await view_opened_by(slack, person.command("/wa-update", NUMBER_AS_TYPED), "wa_update")
    prefilled = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert prefilled["address"].get("initial_value") == "EGL"
    assert prefilled["about"].get("initial_value") is None
    assert prefilled["category"].get("initial_option") is None
    assert_no_secret_reached_slack(slack)


# --- answers that are not the envelope, and statuses that do not decide ----------------------------------------


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("<html>502 Bad Gateway</html>", 502),
        ("", 504),
        ("<html>maintenance</html>", 200),
        ([], 200),
        ({"status": "down"}, 503),
    ],
    ids=["html-502", "empty-504", "html-200", "json-list-200", "json-object-503"],
)
async def test_add_answer_without_the_envelope_is_a_clear_error(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, answer: Any, status: int
) -> None:
    # Given something in front of Kaleyra answers the add with no JSON envelope
    kaleyra.queue("v2_add", answer, status=status)

    # When the operator adds a number
    await add_number(person, slack)

    # Then the thread names the HTTP status and keeps the raw page out. A 5xx may come after Kaleyra added
    # the number: the outcome is unknown and the add is not sent again on its own; anything else failed.
    unknown = status >= 500
    reply = await (unknown_reply if unknown else failure_reply)(slack, "add")
    text = text_of(reply)
    assert f"HTTP {status}" in text
    assert "<html>" not in text
    assert buttons_of(reply) == ["retry"]
    if unknown:
        assert "may have been added" in text and "Retry" in text
    else:
        assert "try again" in next_step_in(text).lower()
    await parent_saying(slack, "Unknown" if unknown else "Failed")
    assert (await stored_number(person)).state == (State.UNKNOWN if unknown else State.FAILED)
    assert await last_operation(person) == ("add", "unknown" if unknown else "failed", f"HTTP {status}")
    assert len([r for r in kaleyra.requests if r.operation == "v2_add"]) == 1


SUCCESS_WITHOUT_ITS_ID = {"code": "WA200", "message": "Request Processed Successfully", "error": {}}


@pytest.mark.parametrize(
    "data",
    [None, {}, [], [{"name": "Acme Support"}], {"id": {"value": 7654}}, True, "7" * 256],
    ids=[
        "no-data",
        "empty-object",
        "empty-list",
        "record-without-id",
        "id-of-another-type",
        "boolean",
        "too-long",
    ],
)
async def test_add_success_without_the_phone_number_id_is_unknown_and_sent_once(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, data: Any
) -> None:
    # Given Kaleyra answers the add with its success code but without the phone number ID success carries
    kaleyra.queue(
        "v2_add", SUCCESS_WITHOUT_ITS_ID if data is None else {**SUCCESS_WITHOUT_ITS_ID, "data": data}
    )

    # When the operator adds a number
    await add_number(person, slack)

    # Then the thread says the outcome is unknown and what to check before Retry, never that the add failed
    reply = await unknown_reply(slack, "add")
    text = text_of(reply).replace("`", "")
    assert "WA200" in text and "without" in text and "phone number ID" in text
    assert (
        "check before retrying" in text
        and "may have been added" in text
        and "Before pressing *Retry*" in text
    )
    assert "failed" not in text and "no answer came" not in text
    assert buttons_of(reply) == ["retry"]
    await parent_saying(slack, "Unknown")

    # And the store and the history say unknown, and Kaleyra was asked exactly once
    assert (await stored_number(person)).state == State.UNKNOWN
    assert await last_operation(person) == ("add", "unknown", "WA200")
    await person.command("/wa-numbers", NUMBER_AS_TYPED)
    answer = await slack.wait_for("response_url:cmd", lambda c: bool(c.args.get("blocks")))
    history = text_of(answer.args)
    assert " · unknown · `WA200`" in history and "failed" not in history
    assert len([r for r in kaleyra.requests if r.operation == "v2_add"]) == 1


async def test_verify_answer_without_the_envelope_returns_to_the_otp_form(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number added through Slack, and a proxy answering the verify with a 502 page
    added = await added_number(person, slack)
    kaleyra.queue("v2_verify", "<html>502 Bad Gateway</html>", status=502)

    # When the operator submits a code
    form = await open_otp_form(person, slack, "button", added)
    await submit_otp(person, form, RIGHT_OTP)

    # Then the OTP form comes back with the HTTP status, the thread says the outcome is unknown (a verify is
    # never sent again on its own), and the number still awaits its code
    retry_form = await modal_after_submit(slack, form["id"], updates_before=0)
    assert retry_form["callback_id"] == "wa_verify" and "HTTP 502" in text_of(retry_form)
    reply = await unknown_reply(slack, "verify")
    assert "HTTP 502" in text_of(reply) and buttons_of(reply) == ["enter_otp", "resend_otp", "retry"]
    assert (await stored_number(person)).state == State.AWAITING_OTP
    assert len([r for r in kaleyra.requests if r.operation == "v2_verify"]) == 1


async def test_update_answer_without_the_envelope_is_sent_again_and_then_leaves_the_profile_alone(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number added through Slack, and a proxy answering every update with a 502 page
    await added_number(person, slack)
    for _ in range(3):
        kaleyra.queue("v2_update", "<html>502 Bad Gateway</html>", status=502)

    # When the operator submits an address
    await update_profile(person, slack, {"address": "EGL"})

    # Then the PUT (the same values: safe to repeat) was sent three times, the thread names the HTTP status,
    # the outcome is unknown, and the profile stays empty
    reply = await unknown_reply(slack, "update")
    assert "HTTP 502" in text_of(reply) and "<html>" not in text_of(reply)
    assert len([r for r in kaleyra.requests if r.operation == "v2_update"]) == 3
    assert (await stored_number(person)).profile == {}


async def test_an_update_answered_once_with_a_502_is_sent_again_and_succeeds(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    await added_number(person, slack)
    kaleyra.queue("v2_update", "<html>502 Bad Gateway</html>", status=502)

    await update_profile(person, slack, {"address": "EGL"})

    await reply_saying(slack, "Profile updated")
    puts = [r.json for r in kaleyra.requests if r.operation == "v2_update"]
    assert puts == [{"phone_number": E164, "address": "EGL"}] * 2
    assert (await stored_number(person)).profile == {"address": "EGL"}


async def test_add_success_body_under_http_500_is_a_success(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given Kaleyra answers the add with its documented success body, but HTTP 500
    kaleyra.queue("v2_add", doc.V2_ADD_OK, status=500)

    # When the operator adds a number
    reply = await added_number(person, slack)

    # Then the body decides: the number was added and awaits its code
    assert PHONE_NUMBER_ID in text_of(reply)
    assert "enter_otp" in buttons_of(reply)
    number = await stored_number(person)
    assert (number.state, number.phone_number_id) == (State.AWAITING_OTP, PHONE_NUMBER_ID)
    assert not [r for r in thread_replies(slack) if ":x:" in text_of(r)]


async def test_verify_success_body_under_http_500_is_a_success(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number added through Slack, and Kaleyra answering the verify with its success body under HTTP 500
    added = await added_number(person, slack)
    kaleyra.queue("v2_verify", doc.V2_VERIFY_OK, status=500)

    # When the operator submits the code
    form = await open_otp_form(person, slack, "button", added)
    await submit_otp(person, form, RIGHT_OTP)

    # Then the number is verified
    done = await modal_after_submit(slack, form["id"], updates_before=0)
    assert done["title"]["text"] == "Verified"
    assert (await stored_number(person)).state == State.VERIFIED


async def test_update_success_body_under_http_500_is_a_success(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number added through Slack, and Kaleyra answering the update with its success body under HTTP 500
    await added_number(person, slack)
    kaleyra.queue("v2_update", doc.V2_UPDATE_OK, status=500)

    # When the operator submits an address
    await update_profile(person, slack, {"address": "EGL"})

    # Then the profile is updated
    await reply_saying(slack, "Profile updated")
    assert (await stored_number(person)).profile == {"address": "EGL"}


async def test_add_without_an_answer_in_time_says_to_check_before_trying_again(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given the bot waits 0.2 s for Kaleyra (20 s in production), and Kaleyra takes longer
    person.bot.numbers.providers.kaleyra = KaleyraProvider(
        KaleyraClient(person.bot.session, aiohttp.ClientTimeout(total=0.2))
    )
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=1.0)

    # When the operator adds a number
    await add_number(person, slack)

    # Then the thread says no answer came, that the outcome is unknown, and to check before pressing Retry
    reply = await unknown_reply(slack, "add")
    text = text_of(reply).replace("`", "")
    assert "TIMEOUT" in text and "0.2 s" in text
    assert "may have been added" in text and buttons_of(reply) == ["retry"]
    await parent_saying(slack, "Unknown")
    assert await last_operation(person) == ("add", "unknown", "TIMEOUT")
    # And the add was sent once: a request that may have reached Kaleyra is never re-sent on its own
    await asyncio.sleep(1.2)
    assert len(kaleyra.requests) == 1


async def test_verify_after_add_said_already_exists(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given an add that Kaleyra refused because the number already exists on the WABA
    kaleyra.queue("v2_add", doc.V2_ADD_FAILURES["already_exists"])
    await add_number(person, slack)
    await failure_reply(slack, "add")

    # When the operator verifies it with /wa-verify, giving the phone number ID the bot does not have
    form = await view_opened_by(slack, person.command("/wa-verify", NUMBER_AS_TYPED), "wa_verify")
    assert inputs_of(form) == ["otp", "id"]
    status, body = await person.submit(form, {"otp": RIGHT_OTP, "id": "1234567890"})
    assert status == 200 and body["response_action"] == "update", body

    # Then Kaleyra is asked with that ID, and the number is verified
    done = await modal_after_submit(slack, form["id"], updates_before=0)
    verify = [r for r in kaleyra.requests if r.operation == "v2_verify"]
    assert [r.json for r in verify] == [{"id": "1234567890", "phone_number": E164, "otp": RIGHT_OTP}]
    assert done["title"]["text"] == "Verified"
