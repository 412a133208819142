"""Every provider from one /wa-add: two Kaleyra pods (v2 and v1) and a Meta business, from an accounts file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import Person, running, state_of
from standins import KaleyraStandIn, MetaStandIn, SlackStandIn
from standins import documented as doc

from bot.lifecycle.states import State
from bot.providers.meta import MetaClient, MetaProvider
from bot.settings import Settings
from bot.store import utcnow


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section")


def inputs(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


@pytest.fixture
async def europe() -> AsyncIterator[KaleyraStandIn]:
    """A second Kaleyra pod, with its own key."""
    async with KaleyraStandIn(api_key="test-key-eu") as stand_in:
        yield stand_in


@pytest.fixture
def accounts_file(
    tmp_path: Path,
    kaleyra: KaleyraStandIn,
    europe: KaleyraStandIn,
    meta: MetaStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("KALEYRA_KEY_IN", "test-kaleyra-key")
    monkeypatch.setenv("KALEYRA_KEY_EU", "test-key-eu")
    monkeypatch.setenv("META_TOKEN_POOL", "test-meta-token")
    path = tmp_path / "accounts.yml"
    path.write_text(f"""\
# Two Kaleyra pods and a Meta business
india:
  provider: kaleyra
  sid: HXIN0001
  api_key_env: KALEYRA_KEY_IN
  waba_id: "111000111"
  region: in
  base_url: {kaleyra.base_url}
europe-v1:
  provider: kaleyra
  sid: HXEU0002
  api_key_env: KALEYRA_KEY_EU
  waba_id: "222000222"
  region: eu
  api_version: v1
  base_url: {europe.base_url}
meta-pool:
  provider: meta
  business_id: "104996122399160"
  access_token_env: META_TOKEN_POOL
  api_version: v23.0
  graph_url: {meta.base_url}
""")
    return path


@pytest.fixture
async def person(
    settings_for: Callable[..., Settings], slack: SlackStandIn, accounts_file: Path
) -> AsyncIterator[Person]:
    settings = settings_for(
        kaleyra_sid=None,
        kaleyra_api_key=None,
        kaleyra_waba_id=None,
        kaleyra_base_url=None,
        wa_bot_accounts_file=accounts_file,
    )
    async with running(settings, slack) as driver:
        yield driver


async def switch_to(person: Person, view: dict[str, Any], account: str) -> dict[str, Any]:
    """Pick `account` in the add modal's select; the bot swaps the fields with views.update."""
    option = next(o for o in view["blocks"][0]["element"]["options"] if o["value"] == account)
    status, _ = await person.interact(
        {
            "type": "block_actions",
            "trigger_id": "trigger-switch",
            "container": {"type": "view", "view_id": view["id"]},
            "view": {**view, "state": {"values": state_of(view, {"account": account})}},
            "actions": [
                {
                    "type": "static_select",
                    "action_id": "account",
                    "block_id": "account",
                    "selected_option": option,
                    "action_ts": "1",
                }
            ],
        }
    )
    assert status == 200
    call = await person.slack.wait_for(
        "views.update", lambda c: c.args["view"]["private_metadata"].find(account) > 0
    )
    assert call.args["view_id"] == view["id"]
    return {**call.args["view"], "id": view["id"]}


async def test_the_add_modal_offers_every_account_and_its_fields(person: Person, slack: SlackStandIn) -> None:
    await person.command("/wa-add", "+1 (631) 555-1000 Acme")
    view = await person.opened_view("wa_add")
    options = [o["value"] for o in view["blocks"][0]["element"]["options"]]
    assert view["blocks"][0]["block_id"] == "account" and options == ["india", "europe-v1", "meta-pool"]
    assert inputs(view) == ["account", "phone_number", "name", "verification_type"]

    v1 = await switch_to(person, view, "europe-v1")
    assert inputs(v1) == [
        "account",
        "display_name",
        "wa_number",
        "address",
        "incoming_url",
        "display_image",
        "business_description",
        "business_category",
        "contact_email",
        "website",
    ]
    fields = {b["block_id"]: b["element"] for b in v1["blocks"] if b["type"] == "input"}
    assert fields["wa_number"]["initial_value"] == "+1 (631) 555-1000"  # what was typed is carried over
    assert fields["display_name"]["initial_value"] == "Acme"
    categories = [o["text"]["text"] for o in fields["business_category"]["options"]]
    assert len(categories) == 17 and categories[1] == "Beauty, Spa, and Salon"

    meta_view = await switch_to(person, view, "meta-pool")
    assert inputs(meta_view) == ["account", "phone_number"]


async def test_a_v2_number_goes_to_its_own_pod(
    person: Person, kaleyra: KaleyraStandIn, europe: KaleyraStandIn, slack: SlackStandIn
) -> None:
    await person.command("/wa-add", "+91 98765 43210 Acme")
    status, _ = await person.submit(await person.opened_view("wa_add"), {})
    assert status == 200
    [request] = await kaleyra.wait_for_requests(1)
    assert request.path == "/v2/HXIN0001/whatsapp/111000111/number/add"
    assert europe.requests == []
    parent = slack.calls_of("chat.postMessage")[0].args
    assert "india (Kaleyra v2, IN pod, WABA 111000111)" in text_of(parent)


async def test_a_v1_number_is_added_and_its_record_shown(
    person: Person, europe: KaleyraStandIn, slack: SlackStandIn
) -> None:
    await person.command("/wa-add")
    view = await switch_to(person, await person.opened_view("wa_add"), "europe-v1")
    status, body = await person.submit(
        view,
        {
            "display_name": "xyz",
            "wa_number": "+1 631-555-1000",
            "address": "my address",
            "business_category": "MEDICAL_HEALTH",
            "contact_email": "ops@example.com",
            "website": "https://google.com/testing",
            "display_image": None,
        },
    )
    assert status == 200 and body["response_action"] == "update"
    [request] = await europe.wait_for_requests(1)
    assert request.method == "POST" and request.path == "/v1/HXEU0002/whatsapp/number"
    assert request.headers["api-key"] == "test-key-eu"
    # Empty optional fields are left out: an empty display_image is an error at Kaleyra.
    assert request.json == {
        "display_name": "xyz",
        "wa_number": "+16315551000",
        "address": "my address",
        "business_category": "Medical and Health",
        "contact_email": "ops@example.com",
        "website": "https://google.com/testing",
    }
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    record = doc.V1_ADD_OK["data"][0]
    assert f"ID `{record['id']}`" in text_of(reply.args) and f"status `{record['status']}`" in text_of(
        reply.args
    )
    assert record["name"] in text_of(reply.args)
    assert "europe-v1 (Kaleyra v1, EU pod" in text_of(slack.calls_of("chat.postMessage")[0].args)
    done = await slack.wait_for("views.update", lambda c: c.args["view"]["title"]["text"] == "Added")
    assert done.args["view_id"] == view["id"]
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert (number.account, number.state, number.phone_number_id) == ("europe-v1", State.ADDED, "102")
    assert number.profile == {
        "address": "my address",
        "category": "MEDICAL_HEALTH",
        "email": "ops@example.com",
    }

    # The update modal of a v1 number offers incoming_url, not the v2 callback profile
    await person.command("/wa-update", "+1 631 555 1000")
    update = await person.opened_view("wa_update")
    assert "incoming_url" in inputs(update) and "callback_profile_id" not in inputs(update)
    await person.submit(update, {"incoming_url": "https://example.com/in"})
    put = (await europe.wait_for_requests(2))[1]
    assert put.method == "PUT" and put.path == "/v2/HXEU0002/whatsapp/222000222/number/update"
    # Only what changed is sent: the pre-filled address, category and email were left as they were
    assert put.json == {"phone_number": "+16315551000", "incoming_url": "https://example.com/in"}


@pytest.mark.parametrize("name", ["required", "invalid_category"])
async def test_v1_field_errors_come_back_to_the_form(
    person: Person, europe: KaleyraStandIn, slack: SlackStandIn, name: str
) -> None:
    body = doc.V1_ADD_FAILURES[name]
    europe.queue("v1_add", body)
    await person.command("/wa-add", "+1 631 555 1000 xyz")
    view = await switch_to(person, await person.opened_view("wa_add"), "europe-v1")
    await person.submit(view, {"business_category": "EDUCATION"})
    again = await slack.wait_for(
        "views.update",
        lambda c: (
            c.args["view"].get("callback_id") == "wa_add"
            and any(b["type"] == "context" for b in c.args["view"]["blocks"])
        ),
    )
    shown = {
        blocks["block_id"]: after["elements"][0]["text"]
        for blocks, after in zip(again.args["view"]["blocks"], again.args["view"]["blocks"][1:], strict=False)
        if after["type"] == "context" and blocks["type"] == "input"
    }
    assert set(shown) == set(body["error"]["parameter"].split(","))
    assert any("required" in text or "invalid" in text for text in shown.values())
    fields = {b["block_id"]: b["element"] for b in again.args["view"]["blocks"] if b["type"] == "input"}
    assert fields["display_name"]["initial_value"] == "xyz"  # nothing typed is lost
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    assert "E947" in text_of(reply.args) and "E413" in text_of(reply.args)
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert number.state == State.FAILED


async def test_v1_empty_display_image_error_is_shown(
    person: Person, europe: KaleyraStandIn, slack: SlackStandIn
) -> None:
    europe.queue("v1_add", doc.V1_ADD_FAILURES["empty_display_image"])
    await person.command("/wa-add", "+1 631 555 1000 xyz")
    view = await switch_to(person, await person.opened_view("wa_add"), "europe-v1")
    await person.submit(view, {})
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    assert "E962" in text_of(reply.args) and "display_image cannot be empty" in text_of(reply.args)
    again = await slack.wait_for(
        "views.update",
        lambda c: (
            c.args["view"].get("callback_id") == "wa_add"
            and "display_image cannot be empty" in str(c.args["view"]["blocks"])
        ),
    )
    assert again.args["view_id"] == view["id"]


async def test_a_meta_number_is_added_with_its_id(
    person: Person, meta: MetaStandIn, slack: SlackStandIn
) -> None:
    await person.command("/wa-add", "+1 (631) 555-1000")
    view = await switch_to(person, await person.opened_view("wa_add"), "meta-pool")
    status, body = await person.submit(view, {})
    assert (status, body) == (200, None)
    [request] = await meta.wait_for_requests(1)
    assert (request.version, request.business_id) == ("v23.0", "104996122399160")
    assert request.headers["authorization"] == "Bearer test-meta-token"
    assert request.json == {"phone_number": "+16315551000"}
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    assert doc.META_ADD_OK["id"] in text_of(reply.args)
    assert not any(b["type"] == "actions" for b in reply.args["blocks"])  # pre-verified: no OTP to enter
    assert "meta-pool (Meta, business 104996122399160)" in text_of(slack.calls_of("chat.postMessage")[0].args)
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert (number.state, number.phone_number_id) == (State.ADDED, doc.META_ADD_OK["id"])


async def test_a_meta_id_sent_as_a_json_number_is_added_as_its_text(
    person: Person, meta: MetaStandIn, slack: SlackStandIn
) -> None:
    meta.queue({"id": 1234567890123456})
    await person.command("/wa-add", "+1 (631) 555-1000")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "meta-pool"), {})
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    assert "Added" in text_of(reply.args) and "ID `1234567890123456`" in text_of(reply.args)
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert (number.state, number.phone_number_id) == (State.ADDED, "1234567890123456")


@pytest.mark.parametrize(
    "body",
    [{}, {"id": ""}, {"id": None}, {"id": True}, {"id": "1" * 256}],
    ids=["none", "empty", "null", "true", "too-long"],
)
async def test_a_meta_success_without_the_new_id_is_unknown_and_sent_once(
    person: Person, meta: MetaStandIn, slack: SlackStandIn, body: dict[str, Any]
) -> None:
    # Given Meta answers the add 200 without the id that its success carries
    meta.queue(body)
    await person.command("/wa-add", "+1 (631) 555-1000")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "meta-pool"), {})

    # Then the outcome is unknown, with what to check before pressing Retry, and Meta was asked once
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    text = text_of(reply.args)
    assert "outcome is unknown" in text and "without the new number's id" in text
    assert "may have been added" in text and "failed" not in text
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert number.state == State.UNKNOWN
    [operation] = await person.bot.store.history(number.id)
    assert (operation.outcome, operation.provider_code) == ("unknown", "NO_ID")
    assert len(meta.requests) == 1


async def test_a_v1_success_without_the_created_record_is_unknown_and_sent_once(
    person: Person, europe: KaleyraStandIn, slack: SlackStandIn
) -> None:
    europe.queue("v1_add", {**doc.V1_ADD_OK, "data": []})
    await person.command("/wa-add", "+1 631 555 1000 xyz")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "europe-v1"), {})
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    text = text_of(reply.args)
    assert "outcome is unknown" in text and "without the created record" in text and "failed" not in text
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert number.state == State.UNKNOWN
    assert len(europe.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500])
async def test_every_graph_error_is_shown_as_a_person_wants_it(
    person: Person, meta: MetaStandIn, slack: SlackStandIn, status: int
) -> None:
    body = doc.META_ERRORS[status]
    for _ in range(4):  # more than the bot's attempts, so even a rate-limited add ends as an error
        meta.queue(body, status=status)
    await person.command("/wa-add", "+1 (631) 555-1000")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "meta-pool"), {})
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    text = text_of(reply.args)
    error = body["error"]
    first_line = text.split("\n")[1]
    assert (
        error["error_user_title"] in first_line and error["error_user_msg"] in first_line
    )  # the person's words first
    assert f"`{error['code']}`" in text and error["message"] in text and error["fbtrace_id"] in text
    assert "Next:" in text
    # A 429 means Meta did nothing: sent again, 3 attempts in all. A 500 may come after Meta added the number:
    # never sent again on its own, and its outcome is unknown.
    assert len(meta.requests) == (3 if status == 429 else 1)
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert number.state == (State.UNKNOWN if status == 500 else State.FAILED)


async def test_a_rate_limited_meta_add_is_retried_and_succeeds(
    person: Person, meta: MetaStandIn, slack: SlackStandIn
) -> None:
    meta.queue(doc.META_ERRORS[429], status=429)
    await person.command("/wa-add", "+1 (631) 555-1000")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "meta-pool"), {})
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    assert "Added" in text_of(reply.args)
    assert len(meta.requests) == 2


async def test_a_minimal_graph_error_still_reads_well(
    person: Person, meta: MetaStandIn, slack: SlackStandIn
) -> None:
    meta.queue(doc.META_MINIMAL_ERROR, status=400)
    await person.command("/wa-add", "+1 (631) 555-1000")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "meta-pool"), {})
    reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
    error = doc.META_MINIMAL_ERROR["error"]
    assert f"Meta `{error['code']}` · `{error['message']}`" in text_of(reply.args)


async def test_resend_code_once_per_cooldown(
    person: Person, kaleyra: KaleyraStandIn, slack: SlackStandIn
) -> None:
    await person.command("/wa-add", "+91 98765 43210 Acme")
    await person.submit(await person.opened_view("wa_add"), {"verification_type": "VOICE"})
    reply = (await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))).args
    [number] = await person.bot.store.numbers_with("+919876543210")

    # Right after the add, the code is on its way: a click is told to wait, and nothing is sent
    await person.click(reply["blocks"], "resend_otp")
    told = await slack.wait_for("response_url:button")
    assert "less than 60 s ago" in told.args["text"] and told.args["response_type"] == "ephemeral"
    assert len(kaleyra.requests) == 1

    # A minute later, a double click sends exactly one code
    await person.bot.store.change(number.id, otp_requested_at=utcnow() - timedelta(seconds=61))
    await person.click(reply["blocks"], "resend_otp")
    await person.click(reply["blocks"], "resend_otp")
    resent = await slack.wait_for("chat.postMessage", lambda c: "New code requested" in text_of(c.args))
    assert resent.args["thread_ts"] == reply["thread_ts"] and "voice call" in text_of(resent.args)
    await slack.wait_for("response_url:button", lambda c: len(slack.calls_of("response_url:button")) >= 2)
    retries = [r for r in kaleyra.requests if r.operation == "v2_retry_otp"]
    assert len(retries) == 1
    assert retries[0].path == "/v2/HXIN0001/whatsapp/111000111/number/retry_otp"
    assert retries[0].json == {"id": "7654XXXXXXXXXX", "phone_number": "+919876543210"}
    buttons = [e["action_id"] for b in resent.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["enter_otp", "resend_otp"]


async def test_a_verify_uses_the_numbers_own_account(
    person: Person, kaleyra: KaleyraStandIn, slack: SlackStandIn
) -> None:
    await person.command("/wa-add", "+91 98765 43210 Acme")
    await person.submit(await person.opened_view("wa_add"), {})
    await slack.wait_for("chat.postMessage", lambda c: "Enter OTP" in str(c.args.get("blocks")))
    await person.command("/wa-verify", "+919876543210")
    await person.submit(await person.opened_view("wa_verify"), {"otp": "123 456"})
    verify = (await kaleyra.wait_for_requests(2))[1]
    assert verify.path == "/v2/HXIN0001/whatsapp/111000111/number/verify"
    assert verify.json == {"id": "7654XXXXXXXXXX", "phone_number": "+919876543210", "otp": "123456"}


async def test_a_number_added_elsewhere_is_verified_on_the_account_picked(
    person: Person, kaleyra: KaleyraStandIn, europe: KaleyraStandIn, slack: SlackStandIn
) -> None:
    await person.command("/wa-verify", "+44 20 7123 4567")
    view = await person.opened_view("wa_verify")
    assert inputs(view) == ["account", "otp", "id"]
    assert [o["value"] for o in view["blocks"][0]["element"]["options"]] == ["india", "europe-v1"]
    status, body = await person.submit(view, {"account": "europe-v1", "otp": "654321", "id": "555000"})
    assert status == 200 and body["response_action"] == "update"
    [verify] = await europe.wait_for_requests(1)
    assert verify.path == "/v2/HXEU0002/whatsapp/222000222/number/verify"
    assert verify.json == {"id": "555000", "phone_number": "+442071234567", "otp": "654321"}
    assert kaleyra.requests == []
    await slack.wait_for("chat.postMessage", lambda c: "Verified" in text_of(c.args))
    [number] = await person.bot.store.numbers_with("+442071234567")
    assert (number.account, number.state, number.phone_number_id) == ("europe-v1", "verified", "555000")


async def test_a_forged_account_is_refused_at_the_door(person: Person, kaleyra: KaleyraStandIn) -> None:
    await person.command("/wa-update", "+44 20 7123 4567")
    view = await person.opened_view("wa_update")
    assert inputs(view)[0] == "account"
    status, body = await person.submit(view, {"account": "meta-pool", "about": "Hello"})
    assert status == 200 and body == {
        "response_action": "errors",
        "errors": {"account": "Pick one of the Kaleyra accounts."},
    }
    status, body = await person.submit(view, {"about": "Hello"})
    assert (status, body) == (200, None)
    [put] = await kaleyra.wait_for_requests(1)
    assert put.json == {"phone_number": "+442071234567", "about": "Hello"}
    await person.slack.wait_for("chat.postMessage", lambda c: "Profile updated" in text_of(c.args))


async def test_a_forged_account_on_the_add_modal_is_refused(
    person: Person, kaleyra: KaleyraStandIn, europe: KaleyraStandIn, meta: MetaStandIn
) -> None:
    await person.command("/wa-add", "+91 98765 43210 Acme")
    status, body = await person.submit(await person.opened_view("wa_add"), {"account": "nobody"})
    assert status == 200
    assert body == {
        "response_action": "errors",
        "errors": {"account": "Pick one of the accounts in the list."},
    }
    assert kaleyra.requests == europe.requests == meta.requests == []
    assert await person.bot.store.numbers_with("+919876543210") == []


async def test_a_meta_add_that_times_out_is_never_posted_again_and_ends_unknown(
    person: Person, meta: MetaStandIn, slack: SlackStandIn
) -> None:
    # Given the bot waits 0.2 s for Meta, and Meta adds the number but answers after 1 s
    person.bot.numbers.providers.meta = MetaProvider(
        MetaClient(person.bot.session, aiohttp.ClientTimeout(total=0.2))
    )
    meta.queue(doc.META_ADD_OK, delay=1.0)

    # When the operator adds a number on the Meta account
    await person.command("/wa-add", "+1 (631) 555-1000")
    await person.submit(await switch_to(person, await person.opened_view("wa_add"), "meta-pool"), {})

    # Then the thread says the outcome is unknown, with Retry, and Meta was asked exactly once
    reply = await slack.wait_for("chat.postMessage", lambda c: "outcome is unknown" in text_of(c.args))
    assert "TIMEOUT" in text_of(reply.args) and "retry" in str(reply.args["blocks"])
    await asyncio.sleep(1.2)
    assert len(meta.requests) == 1
    [number] = await person.bot.store.numbers_with("+16315551000")
    assert number.state == State.UNKNOWN
