"""Every door into wa-bot: what it checks before a provider is called, who it lets in, and what it shows.

Scenarios for the modal forms (errors keyed by block_id, in a person's words, and Kaleyra never called),
the slash commands' text, `/wa-numbers`, the allow-lists at the command, the submission and the buttons,
a channel the bot cannot post in, Slack's rate limit, and Block Kit's limits on every view and message.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from block_kit import check_message, check_view, shown_by_the_bot
from conftest import CHANNEL, OPERATOR, SID, WABA_ID, Person, running, seed_number, seed_operation
from standins import KaleyraStandIn, SlackCall, SlackStandIn
from standins import documented as doc
from standins.slack import dm_channel_id

from bot.lifecycle.states import State
from bot.settings import Settings
from bot.store import Number, Outcome

E164 = "+919876543210"
PASTED = "+91 98765 43210"
PHONE_NUMBER_ID = "7654XXXXXXXXXX"  # what the Kaleyra stand-in's documented add answers
ACCOUNT = "kaleyra"  # the account the environment's KALEYRA_* variables configure
BOSS, MEMBER, STRANGER = "U0BOSS", "U0GROUP", "U0OPS"
# What a person must never read in a form error: the validator's own words.
MACHINE_WORDS = (
    "value error",
    "validation error",
    "pydantic",
    "string_",
    "pattern",
    "regex",
    "literal",
    "enum",
)


# --- helpers --------------------------------------------------------------------------------------------


async def settle() -> None:
    """Give the bot's work after an acknowledgement the time to happen, when the test asserts it did not."""
    await asyncio.sleep(0.1)


def input_ids(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def words_of(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: its text and its blocks' texts."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(parts)


def assert_readable(errors: dict[str, str]) -> None:
    for block_id, message in errors.items():
        assert message.strip() and message[0].isupper(), (block_id, message)
        assert not any(word in message.lower() for word in MACHINE_WORDS), (block_id, message)


def assert_errors(body: Any, block_id: str, *phrases: str) -> None:
    """The response is `errors` on exactly `block_id`, and its message says `phrases` (case-insensitive)."""
    assert isinstance(body, dict) and body.get("response_action") == "errors", body
    assert list(body["errors"]) == [block_id], body
    assert_readable(body["errors"])
    for phrase in phrases:
        assert phrase.lower() in body["errors"][block_id].lower(), body


async def seed(
    person: Person,
    e164: str = E164,
    state: State = State.AWAITING_OTP,
    phone_number_id: str | None = PHONE_NUMBER_ID,
    name: str | None = None,
) -> Number:
    """A number the bot already knows, as an earlier add through Kaleyra would have left it."""
    return await seed_number(
        person.bot.store, ACCOUNT, e164, state, display_name=name, phone_number_id=phone_number_id
    )


async def open_modal(person: Person, command: str, text: str, callback_id: str) -> dict[str, Any]:
    before = len(person.slack.calls_of("views.open"))
    status, body = await person.command(command, text)
    assert (status, body) == (200, None)
    return await modal_opened_after(person.slack, before, callback_id)


async def modal_opened_after(slack: SlackStandIn, before: int, callback_id: str) -> dict[str, Any]:
    """The modal of the views.open call that follows the first `before`, as Slack holds it (with its id)."""
    await slack.wait_for("views.open", lambda _: len(slack.calls_of("views.open")) > before)
    sent = slack.calls_of("views.open")[before].args["view"]
    assert sent["callback_id"] == callback_id, sent["callback_id"]
    view_id = next(
        i
        for i, v in reversed(slack.views.items())
        if v["blocks"] == sent["blocks"] and v.get("private_metadata") == sent.get("private_metadata")
    )
    return {**slack.views[view_id], "id": view_id}


async def click_for_modal(person: Person, blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    before = len(person.slack.calls_of("views.open"))
    status, _ = await person.click(blocks, action_id)
    assert status == 200
    return await modal_opened_after(person.slack, before, "wa_verify")


def views_opened(slack: SlackStandIn, callback_id: str | None = None) -> list[dict[str, Any]]:
    return [
        c.args["view"]
        for c in slack.calls_of("views.open")
        if callback_id is None or c.args["view"].get("callback_id") == callback_id
    ]


def said(words: str) -> Callable[[SlackCall], bool]:
    """Matches a call whose text says `words`."""
    return lambda call: words in str(call.args.get("text", ""))


def thread_reply_with(words: str) -> Callable[[SlackCall], bool]:
    """Matches a reply in a number's thread that says `words`."""
    return lambda call: bool(call.args.get("thread_ts")) and words in words_of(call.args)


async def add_through_modal(person: Person, text: str = f"{PASTED} Acme Support") -> dict[str, Any]:
    """/wa-add, submit the pre-filled modal, and return the thread reply that carries the OTP buttons."""
    view = await open_modal(person, "/wa-add", text, "wa_add")
    status, body = await person.submit(view, {})
    assert (status, body) == (200, None)
    reply = await person.slack.wait_for("chat.postMessage", thread_reply_with("Added"))
    await parent_updated(person.slack, reply.args["thread_ts"])
    return reply.args


async def parent_updated(slack: SlackStandIn, thread_ts: str | None = None) -> None:
    """The last step of every operation: the thread's parent message shows the new state."""
    await slack.wait_for("chat.update", lambda call: thread_ts is None or call.args["ts"] == thread_ts)


async def add_failure(person: Person, slack: SlackStandIn, text: str) -> None:
    """/wa-add and submit, when Kaleyra was told to refuse: the thread says the add failed."""
    view = await open_modal(person, "/wa-add", text, "wa_add")
    status, body = await person.submit(view, {})
    assert (status, body) == (200, None)
    reply = await slack.wait_for("chat.postMessage", thread_reply_with("add failed"))
    await parent_updated(slack, reply.args["thread_ts"])


# --- 1. input is checked at the nearest door ------------------------------------------------------------

VALID_ADD = {"phone_number": PASTED, "name": "Acme Support"}


@pytest.mark.parametrize(
    ("typed", "block_id", "phrases"),
    [
        pytest.param({"phone_number": "12345"}, "phone_number", ["country code"], id="five-digits"),
        pytest.param(
            {"phone_number": "+91 12"}, "phone_number", ["not a valid phone number"], id="too-short"
        ),
        pytest.param({"phone_number": "98765 43210"}, "phone_number", ["country code"], id="no-country-code"),
        pytest.param({"phone_number": None}, "phone_number", ["country code"], id="no-number"),
        pytest.param({"name": "A" * 256}, "name", ["255 characters", "256"], id="name-of-256"),
        pytest.param({"name": None}, "name", ["required"], id="no-name"),
        pytest.param(
            {"verification_type": "EMAIL"}, "verification_type", ["pick one"], id="forged-verification"
        ),
    ],
)
async def test_add_modal_refuses_what_kaleyra_would_refuse(
    person: Person,
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    typed: dict[str, str | None],
    block_id: str,
    phrases: list[str],
) -> None:
    view = await open_modal(person, "/wa-add", "", "wa_add")

    status, body = await person.submit(view, {**VALID_ADD, **typed})

    assert status == 200
    assert_errors(body, block_id, *phrases)
    await settle()
    assert kaleyra.requests == []
    assert slack.calls_of("chat.postMessage") == []
    assert await person.bot.store.numbers(limit=5) == ([], 0)


async def test_add_modal_reports_every_bad_field_at_once(person: Person, kaleyra: KaleyraStandIn) -> None:
    view = await open_modal(person, "/wa-add", "", "wa_add")

    _, body = await person.submit(view, {"phone_number": "12345", "name": None})

    assert body["response_action"] == "errors" and set(body["errors"]) == {"phone_number", "name"}
    await settle()
    assert kaleyra.requests == []


@pytest.mark.parametrize(
    ("pasted", "country_code", "national"),
    [
        (PASTED, "+91", "9876543210"),
        ("+1 (631) 555-1000", "+1", "6315551000"),
        ("+1-631-555-1000", "+1", "6315551000"),
    ],
)
async def test_add_modal_takes_numbers_as_people_paste_them(
    person: Person, kaleyra: KaleyraStandIn, pasted: str, country_code: str, national: str
) -> None:
    view = await open_modal(person, "/wa-add", "", "wa_add")

    status, body = await person.submit(view, {"phone_number": pasted, "name": "Acme Support"})

    assert (status, body) == (200, None)
    [request] = await kaleyra.wait_for_requests(1)
    assert request.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/add"
    assert request.json == {
        "country_code": country_code,
        "phone_number": national,
        "name": "Acme Support",
        "verification_type": "SMS",
    }
    await parent_updated(person.slack)


@pytest.mark.parametrize(
    ("text", "number", "name"),
    [
        ("+1 (631) 555-1000 Acme Support", "+1 (631) 555-1000", "Acme Support"),
        ("+1-631-555-1000 Acme", "+1-631-555-1000", "Acme"),
        ("+91 98765 43210 1 Stop Shop", PASTED, "1 Stop Shop"),
        ("+919876543210", "+919876543210", None),
    ],
)
async def test_add_command_prefills_the_modal_from_what_was_pasted(
    person: Person, kaleyra: KaleyraStandIn, text: str, number: str, name: str | None
) -> None:
    view = await open_modal(person, "/wa-add", text, "wa_add")

    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements["phone_number"].get("initial_value") == number
    assert elements["name"].get("initial_value") == name
    assert kaleyra.requests == []


async def test_v1_add_modal_checks_its_own_fields(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with running(settings_for(kaleyra_api_version="v1"), slack) as person:
        view = await open_modal(person, "/wa-add", "", "wa_add")
        assert input_ids(view)[:2] == ["display_name", "wa_number"]

        _, body = await person.submit(
            view,
            {
                "display_name": "Acme",
                "wa_number": "98765 43210",
                "website": "acme dot com",
                "contact_email": "ops-at-acme",
                "business_category": "Banking",
            },
        )

        assert body["response_action"] == "errors"
        assert set(body["errors"]) == {"wa_number", "website", "contact_email", "business_category"}
        assert_readable(body["errors"])
        assert "web address" in body["errors"]["website"]
        assert "email address" in body["errors"]["contact_email"]
        assert "categories" in body["errors"]["business_category"]
        await settle()
        assert kaleyra.requests == []


async def otp_modal_of_a_number_awaiting_its_code(person: Person) -> dict[str, Any]:
    await seed(person)
    view = await open_modal(person, "/wa-verify", PASTED, "wa_verify")
    assert input_ids(view) == ["otp"]
    return view


@pytest.mark.parametrize(
    "otp",
    ["12345", "1234567", "abcdef", None, "   "],
    ids=["five-digits", "seven-digits", "letters", "empty", "blank"],
)
async def test_otp_modal_wants_six_digits(person: Person, kaleyra: KaleyraStandIn, otp: str | None) -> None:
    view = await otp_modal_of_a_number_awaiting_its_code(person)

    status, body = await person.submit(view, {"otp": otp})

    assert status == 200
    assert_errors(body, "otp", "six-digit")
    await settle()
    assert kaleyra.requests == []
    [number] = await person.bot.store.numbers_with(E164)
    assert number.state == State.AWAITING_OTP
    assert await person.bot.store.history(number.id) == []


@pytest.mark.parametrize("otp", ["123456", "123-456", "123 456"])
async def test_otp_modal_takes_the_code_as_people_type_it(
    person: Person, kaleyra: KaleyraStandIn, otp: str
) -> None:
    view = await otp_modal_of_a_number_awaiting_its_code(person)

    status, body = await person.submit(view, {"otp": otp})

    assert status == 200 and body["response_action"] == "update"
    [request] = await kaleyra.wait_for_requests(1)
    assert request.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/verify"
    assert request.json == {"id": PHONE_NUMBER_ID, "phone_number": E164, "otp": "123456"}
    await person.slack.wait_for("views.update", lambda c: c.args["view"]["title"]["text"] == "Verified")


@pytest.mark.parametrize("otp", ["१२३४५६", "１２３４５６"], ids=["devanagari", "full-width"])
async def test_an_otp_in_other_digits_never_reaches_kaleyra_as_typed(
    person: Person, kaleyra: KaleyraStandIn, otp: str
) -> None:
    view = await otp_modal_of_a_number_awaiting_its_code(person)

    _, body = await person.submit(view, {"otp": otp})

    # Read as the ASCII digits Kaleyra's documented format wants
    assert body["response_action"] == "update"
    [request] = await kaleyra.wait_for_requests(1)
    await person.slack.wait_for("views.update")
    assert request.json["otp"] == "123456"


async def test_otp_modal_for_an_unknown_number_also_asks_for_its_id(
    person: Person, kaleyra: KaleyraStandIn
) -> None:
    view = await open_modal(person, "/wa-verify", PASTED, "wa_verify")
    assert input_ids(view) == ["otp", "id"]

    _, body = await person.submit(view, {"otp": "12-34", "id": None})

    assert body["response_action"] == "errors" and set(body["errors"]) == {"otp", "id"}
    assert_readable(body["errors"])
    await settle()
    assert kaleyra.requests == []


async def test_a_number_whose_add_failed_is_verified_with_the_id_given(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    kaleyra.queue("v2_add", doc.V2_ADD_FAILURES["already_exists"], status=400)
    await add_failure(person, slack, f"{PASTED} Acme Support")

    view = await open_modal(person, "/wa-verify", PASTED, "wa_verify")
    assert input_ids(view) == ["otp", "id"]  # the bot has a record, but no phone number ID
    status, body = await person.submit(view, {"otp": "123 456", "id": "7654000000"})

    assert status == 200 and body["response_action"] == "update"
    [_, verify] = await kaleyra.wait_for_requests(2)
    assert verify.json == {"id": "7654000000", "phone_number": E164, "otp": "123456"}
    await slack.wait_for("views.update", lambda c: c.args["view"]["title"]["text"] == "Verified")


async def update_modal_of_a_verified_number(person: Person) -> dict[str, Any]:
    await seed(person, state=State.VERIFIED)
    return await open_modal(person, "/wa-update", PASTED, "wa_update")


@pytest.mark.parametrize(
    ("typed", "block_id", "phrases"),
    [
        pytest.param({"address": "A" * 257}, "address", ["256 characters", "257"], id="address-of-257"),
        pytest.param(
            {"description": "D" * 257}, "description", ["256 characters", "257"], id="description-of-257"
        ),
        pytest.param({"about": "B" * 140}, "about", ["139 characters", "140"], id="about-of-140"),
        pytest.param({"email": "ops-at-example.com"}, "email", ["email address"], id="bad-email"),
        pytest.param({"category": "BANKING"}, "category", ["pick one"], id="forged-category"),
        pytest.param(
            {"address": None, "email": None}, "address", ["at least one field"], id="nothing-filled"
        ),
    ],
)
async def test_update_modal_refuses_what_kaleyra_would_refuse(
    person: Person, kaleyra: KaleyraStandIn, typed: dict[str, str | None], block_id: str, phrases: list[str]
) -> None:
    view = await update_modal_of_a_verified_number(person)

    status, body = await person.submit(view, typed)

    assert status == 200
    assert_errors(body, block_id, *phrases)
    await settle()
    assert kaleyra.requests == []


async def test_update_modal_of_a_v2_account_has_no_incoming_url(
    person: Person, kaleyra: KaleyraStandIn
) -> None:
    view = await update_modal_of_a_verified_number(person)
    assert "incoming_url" not in input_ids(view)

    status, body = await person.submit(view, {"about": "B" * 139, "address": "A" * 256})

    assert (status, body) == (200, None)
    [request] = await kaleyra.wait_for_requests(1)
    assert request.json == {"phone_number": E164, "about": "B" * 139, "address": "A" * 256}
    await parent_updated(person.slack)


async def test_update_modal_of_a_v1_account_checks_the_incoming_url(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with running(settings_for(kaleyra_api_version="v1"), slack) as person:
        view = await open_modal(person, "/wa-update", PASTED, "wa_update")
        assert "incoming_url" in input_ids(view)

        for bad in ("not a url", "ftp://example.com/in", "example.com/in"):
            _, body = await person.submit(view, {"incoming_url": bad})
            assert_errors(body, "incoming_url", "web address")
        await settle()
        assert kaleyra.requests == []

        status, body = await person.submit(view, {"incoming_url": "https://example.com/in"})
        assert (status, body) == (200, None)
        [request] = await kaleyra.wait_for_requests(1)
        assert request.json == {"phone_number": E164, "incoming_url": "https://example.com/in"}
        await parent_updated(slack)


# --- 2. slash command text ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/wa-add", "/wa-verify", "/wa-update", "/wa-numbers"])
async def test_help_is_the_usage_ephemerally(person: Person, slack: SlackStandIn, command: str) -> None:
    status, body = await person.command(command, "help")

    assert status == 200
    assert body["response_type"] == "ephemeral"
    assert f"`{command}" in body["text"] and ":warning:" not in body["text"]
    await settle()
    assert slack.calls_of("views.open") == []
    assert [c for c in slack.calls if c.method.startswith("response_url:")] == []


@pytest.mark.parametrize(
    ("command", "text", "problem"),
    [
        ("/wa-verify", "hello", "country code"),
        ("/wa-update", "", "which number"),
        ("/wa-add", "notanumber", "`notanumber` is not a phone number"),
        ("/wa-numbers", "hello", "country code"),
        ("/wa-verify", "+91 12", "not a valid phone number"),
    ],
)
async def test_a_malformed_argument_gets_the_usage_and_the_problem(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, command: str, text: str, problem: str
) -> None:
    status, body = await person.command(command, text)

    assert status == 200
    assert body["response_type"] == "ephemeral"
    assert f"`{command}" in body["text"]
    assert problem.lower() in body["text"].lower()
    await settle()
    assert slack.calls_of("views.open") == []
    assert kaleyra.requests == []


# --- 3. /wa-numbers -------------------------------------------------------------------------------------


async def test_numbers_lists_every_number_with_its_state(person: Person, slack: SlackStandIn) -> None:
    await seed(person, "+919876543210", State.AWAITING_OTP, name="Acme Support")
    await seed(person, "+919876543211", State.VERIFIED)
    await seed(person, "+16315551000", State.FAILED, phone_number_id=None)

    status, body = await person.command("/wa-numbers")

    assert (status, body) == (200, None)
    answer = (await slack.wait_for("response_url:cmd")).args
    assert answer["response_type"] == "ephemeral"
    shown = words_of(answer)
    assert "(3)" in shown
    lines = {line for line in shown.splitlines() if line.startswith("•")}
    assert any(
        "+919876543210" in line and "Acme Support" in line and "Awaiting OTP" in line for line in lines
    )
    assert any("+919876543211" in line and "Verified" in line for line in lines)
    assert any("+16315551000" in line and "Failed" in line for line in lines)
    assert slack.calls_of("chat.postMessage") == []


async def test_numbers_says_when_there_are_none(person: Person, slack: SlackStandIn) -> None:
    await person.command("/wa-numbers")

    answer = (await slack.wait_for("response_url:cmd")).args
    assert answer["response_type"] == "ephemeral"
    assert "no numbers yet" in words_of(answer) and "/wa-add" in words_of(answer)


async def test_numbers_of_one_number_is_its_history(person: Person, slack: SlackStandIn) -> None:
    await add_through_modal(person)

    await person.command("/wa-numbers", PASTED)

    answer = (await slack.wait_for("response_url:cmd")).args
    assert answer["response_type"] == "ephemeral"
    shown = words_of(answer)
    assert f"{E164}: Awaiting OTP" in shown
    assert PHONE_NUMBER_ID in shown
    assert f"add by <@{OPERATOR}> · ok · `WA200`" in shown


async def test_numbers_of_an_unknown_number_says_so(person: Person, slack: SlackStandIn) -> None:
    status, _ = await person.command("/wa-numbers", "+91 91234 56789")

    assert status == 200
    answer = (await slack.wait_for("response_url:cmd")).args
    assert answer["response_type"] == "ephemeral"
    assert "no record of +919123456789" in answer["text"] and "/wa-add +919123456789" in answer["text"]


# --- 4. authorization at every door ---------------------------------------------------------------------


def refusals_to(slack: SlackStandIn, user_id: str) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_of("chat.postEphemeral") if c.args.get("user") == user_id]


async def test_allowed_users_refuse_everyone_else_at_every_door(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    settings = settings_for(wa_bot_allowed_users=BOSS, wa_bot_resend_cooldown_seconds=0)
    async with running(settings, slack) as someone:
        boss, stranger = someone.as_user(BOSS), someone.as_user(STRANGER)

        # The slash command: a polite ephemeral refusal, and no modal
        status, body = await stranger.command("/wa-add", f"{PASTED} Acme Support")
        assert status == 200 and body["response_type"] == "ephemeral"
        assert "allow-list" in body["text"] and "WA_BOT_ALLOWED_USERS" in body["text"]
        for command in ("/wa-verify", "/wa-update", "/wa-numbers"):
            status, body = await stranger.command(command, PASTED)
            assert body["response_type"] == "ephemeral" and "allow-list" in body["text"], command
        await settle()
        assert slack.calls_of("views.open") == []
        assert [c for c in slack.calls if c.method.startswith("response_url:")] == []

        # The modal submission: the modal turns into "Not allowed", and Kaleyra hears nothing
        view = await open_modal(boss, "/wa-add", f"{PASTED} Acme Support", "wa_add")
        status, body = await stranger.submit(view, {})
        assert status == 200 and body["response_action"] == "update"
        assert body["view"]["title"]["text"] == "Not allowed"
        assert "allow-list" in words_of(body["view"])
        await settle()
        assert kaleyra.requests == []

        other_forms: list[tuple[str, str, dict[str, str | None]]] = [
            ("/wa-verify", "wa_verify", {"otp": "123456", "id": "7654"}),
            ("/wa-update", "wa_update", {"address": "EGL"}),
        ]
        for command, callback_id, typed in other_forms:
            other = await open_modal(boss, command, PASTED, callback_id)
            _, body = await stranger.submit(other, typed)
            assert body["response_action"] == "update" and body["view"]["title"]["text"] == "Not allowed"
        bulk = await open_modal(boss, "/wa-add", "bulk", "wa_bulk")
        _, body = await stranger.submit(bulk, {"numbers": f"{PASTED}, Acme Support"})
        assert body["response_action"] == "update" and body["view"]["title"]["text"] == "Not allowed"
        summary = [{"type": "actions", "elements": [{"action_id": "retry_failed", "value": "1"}]}]
        status, _ = await stranger.click(summary, "retry_failed")
        assert status == 200
        await slack.wait_for("chat.postEphemeral", lambda c: len(refusals_to(slack, STRANGER)) == 1)
        await settle()
        assert kaleyra.requests == []
        assert await someone.bot.store.numbers(limit=5) == ([], 0)

        # The boss gets through
        status, body = await boss.submit(view, {})
        assert (status, body) == (200, None)
        await kaleyra.wait_for_requests(1)
        reply = (await slack.wait_for("chat.postMessage", thread_reply_with("Added"))).args

        # The buttons: an ephemeral refusal each, no modal, no new code
        otp_modals = len(views_opened(slack, "wa_verify"))
        for button in ("enter_otp", "resend_otp"):
            status, _ = await stranger.click(reply["blocks"], button)
            assert status == 200
        await slack.wait_for("chat.postEphemeral", lambda c: len(refusals_to(slack, STRANGER)) == 3)
        assert all(
            r["channel"] == CHANNEL and "allow-list" in r["text"] for r in refusals_to(slack, STRANGER)
        )
        await settle()
        assert len(views_opened(slack, "wa_verify")) == otp_modals
        assert len(kaleyra.requests) == 1

        # …while the boss's clicks open the OTP modal and ask Kaleyra for a new code
        await click_for_modal(boss, reply["blocks"], "enter_otp")
        await boss.click(reply["blocks"], "resend_otp")
        [_, resend] = await kaleyra.wait_for_requests(2)
        assert resend.path.endswith("/number/retry_otp")
        await slack.wait_for("chat.postMessage", thread_reply_with("New code"))
        await slack.wait_for("chat.update", lambda c: len(slack.calls_of("chat.update")) >= 2)
        assert refusals_to(slack, BOSS) == []


async def test_allowed_usergroups_let_their_members_act(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with running(settings_for(wa_bot_allowed_usergroups="S0OPS"), slack) as someone:
        member, stranger = someone.as_user(MEMBER), someone.as_user(STRANGER)

        status, body = await stranger.command("/wa-add", PASTED)
        assert status == 200 and body["response_type"] == "ephemeral" and "allow-list" in body["text"]
        await settle()
        assert slack.calls_of("views.open") == []

        view = await open_modal(member, "/wa-add", f"{PASTED} Acme Support", "wa_add")
        _, body = await stranger.submit(view, {})
        assert body["response_action"] == "update" and body["view"]["title"]["text"] == "Not allowed"
        await settle()
        assert kaleyra.requests == []

        status, body = await member.submit(view, {})
        assert (status, body) == (200, None)
        [request] = await kaleyra.wait_for_requests(1)
        assert request.json["phone_number"] == "9876543210"
        await parent_updated(slack)
        assert slack.calls_of("usergroups.users.list")[0].args["usergroup"] == "S0OPS"


async def test_without_allow_lists_everyone_may_act(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running(settings_for(), slack) as person:
        assert "every member of the workspace may" in caplog.text  # the warning at start
        anyone = person.as_user("U0ANYONE")

        view = await open_modal(anyone, "/wa-add", f"{PASTED} Acme Support", "wa_add")
        status, body = await anyone.submit(view, {})

        assert (status, body) == (200, None)
        await kaleyra.wait_for_requests(1)
        await parent_updated(slack)
        assert slack.calls_of("chat.postEphemeral") == []
        assert slack.calls_of("usergroups.users.list") == []


# --- 5. a channel the bot cannot post in ----------------------------------------------------------------


async def test_a_channel_that_refuses_the_bot_moves_the_thread_to_a_dm(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    slack.fail("chat.postMessage", "not_in_channel", channel=CHANNEL)

    view = await open_modal(person, "/wa-add", f"{PASTED} Acme Support", "wa_add")
    status, body = await person.submit(view, {})

    # The add still happens
    assert (status, body) == (200, None)
    [request] = await kaleyra.wait_for_requests(1)
    assert request.path.endswith("/number/add")
    # The thread starts in the requester's DM, and carries the result
    dm = dm_channel_id(OPERATOR)
    reply = (await slack.wait_for("chat.postMessage", thread_reply_with("Added"))).args
    parents = [c.args for c in slack.calls_of("chat.postMessage") if not c.args.get("thread_ts")]
    assert [p["channel"] for p in parents] == [CHANNEL, OPERATOR]
    assert reply["channel"] == dm
    assert [b["type"] for b in reply["blocks"]][-1] == "actions"
    # The requester is told, ephemerally, through the command's response_url
    told = (await slack.wait_for("response_url:cmd")).args
    assert told["response_type"] == "ephemeral"
    assert "not_in_channel" in told["text"] and f"<#{CHANNEL}>" in told["text"] and "DM" in told["text"]
    assert "/invite" in told["text"]
    # Nothing lost
    [number] = await person.bot.store.numbers_with(E164)
    assert (number.state, number.phone_number_id, number.channel_id) == (
        State.AWAITING_OTP,
        PHONE_NUMBER_ID,
        dm,
    )
    assert number.thread_ts == reply["thread_ts"]
    await parent_updated(slack, reply["thread_ts"])


# --- 6. Slack's rate limit ------------------------------------------------------------------------------


async def test_a_rate_limited_post_is_retried(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)  # slack_sdk adds random() s of jitter; keep it fast
    slack.rate_limit("chat.postMessage")

    reply = await add_through_modal(person)

    first, retried, *_ = slack.calls_of("chat.postMessage")
    assert first.args == retried.args and retried.args["channel"] == CHANNEL
    assert reply["channel"] == CHANNEL
    [number] = await person.bot.store.numbers_with(E164)
    assert number.thread_ts == reply["thread_ts"] and number.channel_id == CHANNEL
    assert [c for c in slack.calls if c.method.startswith("response_url:")] == []
    assert [c for c in slack.calls_of("chat.postMessage") if c.args["channel"] == OPERATOR] == []


# --- 7. Block Kit limits --------------------------------------------------------------------------------


async def test_every_view_and_message_of_a_journey_is_within_block_kit_limits(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    answered_views: list[dict[str, Any]] = []  # views that came back in an HTTP response, not a Web API call

    def keep(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("view"), dict):
            answered_views.append(body["view"])
        return body

    async with running(settings_for(wa_bot_resend_cooldown_seconds=0), slack) as person:
        await person.command("/wa-add", "help")
        view = await open_modal(person, "/wa-add", f"{PASTED} {'A' * 255}", "wa_add")
        await person.submit(view, {"phone_number": "12345"})
        reply = await add_through_modal(person)

        # A rejected code, a code Kaleyra refuses, a new code, then the right code
        otp_view = await click_for_modal(person, reply["blocks"], "enter_otp")
        await person.submit(otp_view, {"otp": "12"})
        kaleyra.queue("v2_verify", doc.V2_VERIFY_FAILURES["invalid_phone_number"], status=400)
        keep((await person.submit(otp_view, {"otp": "123456"}))[1])
        await slack.wait_for("views.update", lambda c: ":warning:" in words_of(c.args["view"]))
        await person.click(reply["blocks"], "resend_otp")
        await slack.wait_for("chat.postMessage", thread_reply_with("New code"))
        otp_view = person.current(otp_view)  # as Slack holds it after the bot's update, with its new hash
        keep((await person.submit(otp_view, {"otp": "123-456"}))[1])
        await slack.wait_for("views.update", lambda c: c.args["view"]["title"]["text"] == "Verified")
        await person.command("/wa-verify", PASTED)  # already verified

        # An update Kaleyra takes, and one it refuses
        update_view = await open_modal(person, "/wa-update", PASTED, "wa_update")
        await person.submit(update_view, {"about": "B" * 140})
        await person.submit(
            update_view,
            {
                "address": "A" * 256,
                "description": "D" * 256,
                "about": "B" * 139,
                "category": "OTHER",
                "email": "ops@example.com",
            },
        )
        await slack.wait_for("chat.postMessage", thread_reply_with("Profile updated"))
        kaleyra.queue("v2_update", doc.V2_UPDATE_FAILURES["invalid_category"], status=400)
        await person.submit(
            await open_modal(person, "/wa-update", PASTED, "wa_update"), {"category": "RESTAURANT"}
        )
        await slack.wait_for("chat.postMessage", thread_reply_with("update failed"))

        # An add Kaleyra refuses, one in a channel that refuses the bot, an unknown number to verify
        kaleyra.queue("v2_add", doc.V2_ADD_FAILURES["already_exists"], status=400)
        await add_failure(person, slack, "+91 98765 43211 Beta")
        locked = Person(person.url, slack, person.bot, OPERATOR, "C0LOCKED")
        slack.fail("chat.postMessage", "not_in_channel", channel="C0LOCKED")
        await add_through_modal(locked, "+91 98765 43212 Gamma")
        await slack.wait_for("response_url:cmd", said("C0LOCKED"))
        await open_modal(person, "/wa-verify", "+91 98765 43213", "wa_verify")

        # The lists
        await person.command("/wa-numbers")
        await person.command("/wa-numbers", PASTED)
        await person.command("/wa-numbers", "+91 91234 56789")
        for answer in ("numbers", f"History of {E164}", "no record"):
            await slack.wait_for("response_url:cmd", said(answer))

    async with running(settings_for(wa_bot_allowed_users=BOSS), slack) as someone:
        keep((await someone.submit(view, {}))[1])  # "Not allowed"
        await someone.click(reply["blocks"], "enter_otp")
        await slack.wait_for("chat.postEphemeral")

    shown_views, messages = shown_by_the_bot(slack)
    all_views = shown_views + answered_views
    assert {v["callback_id"] for v in all_views} == {"wa_add", "wa_verify", "wa_update", "wa_notice"}
    assert {v["title"]["text"] for v in answered_views} >= {"Verifying…", "Not allowed"}
    assert len(messages) >= 20
    for shown in all_views:
        check_view(shown)
    for message in messages:
        check_message(message)


async def test_a_list_of_sixty_numbers_stays_within_block_kit_limits(
    person: Person, slack: SlackStandIn
) -> None:
    for index in range(60):
        await seed_number(
            person.bot.store,
            ACCOUNT,
            f"+9198765432{index:02d}",
            State.AWAITING_OTP,
            display_name=f"{index:02d} " + "Acme Support " * 19,
            phone_number_id=f"76540000{index:06d}",
            thread_ts=f"1700000000.{index:06d}",
        )

    await person.command("/wa-numbers")

    answer = (await slack.wait_for("response_url:cmd")).args
    check_message(answer)
    shown = words_of(answer)
    assert "(60)" in shown
    listed = [line for line in shown.splitlines() if line.startswith("•")]
    assert listed and all("Awaiting OTP" in line for line in listed)
    assert len(listed) == 60 or "of 60" in shown  # every number, or a word that there are more


async def test_a_long_history_stays_within_block_kit_limits(person: Person, slack: SlackStandIn) -> None:
    number = await seed(person)
    for attempt in range(60):
        await seed_operation(
            person.bot.store,
            number.id,
            "verify",
            Outcome.FAILED,
            provider_code="WA400",
            provider_message=f"{attempt} " + "x" * 2000,
        )

    await person.command("/wa-numbers", PASTED)

    answer = (await slack.wait_for("response_url:cmd")).args
    check_message(answer)
    assert "verify by" in words_of(answer)


def markup_of(message: dict[str, Any]) -> str:
    """Everything in a message that Slack reads as mrkdwn (formatting, links, mentions): its text, and each text
    object that is not plain_text."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        texts = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        parts += [t["text"] for t in texts if isinstance(t, dict) and t.get("type") == "mrkdwn"]
    return "\n".join(parts)


def plain_of(message: dict[str, Any]) -> list[str]:
    return [
        block["text"]["text"]
        for block in message.get("blocks") or []
        if isinstance(block.get("text"), dict) and block["text"].get("type") == "plain_text"
    ]


@pytest.mark.parametrize(
    "typed", ["Tom & Jerry <!channel>", "*URGENT* _pay now_ ~now~ `x` <https://evil.example|bank>"]
)
async def test_a_typed_name_is_shown_as_typed_not_as_slack_markup(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, typed: str
) -> None:
    view = await open_modal(person, "/wa-add", PASTED, "wa_add")
    await person.submit(view, {"name": typed})

    [request] = await kaleyra.wait_for_requests(1)
    assert request.json["name"] == typed  # Kaleyra gets the name as typed
    await slack.wait_for("chat.postMessage", thread_reply_with("Added"))
    await parent_updated(slack)
    await person.command("/wa-numbers")
    listed = (await slack.wait_for("response_url:cmd")).args
    for message in [c.args for c in slack.calls_of("chat.postMessage")] + [listed]:
        assert "<!channel>" not in markup_of(message)  # no @channel ping for the whole channel
        # no bold, italics or link from what a person typed: it is only ever inside a code span
        assert "*URGENT*" not in re.sub(r"`[^`]*`", "", markup_of(message))
    parent = slack.calls_of("chat.postMessage")[0].args
    assert any(typed in text for text in plain_of(parent))  # shown whole, where Slack renders plain text
