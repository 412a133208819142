"""A Kaleyra v2 number's life through Slack: add, OTP, verify, update, with the thread and the store following."""

from __future__ import annotations

from typing import Any

from conftest import CHANNEL, OPERATOR, SID, WABA_ID, Person
from standins import KaleyraStandIn, SlackStandIn

from bot.lifecycle.states import State


def thread_replies(slack: SlackStandIn) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_of("chat.postMessage") if c.args.get("thread_ts")]


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section")


async def add_number(person: Person, text: str = "+91 98765 43210 Acme Support") -> tuple[int, Any]:
    status, _ = await person.command("/wa-add", text)
    assert status == 200
    view = await person.opened_view("wa_add")
    return await person.submit(view, {})


async def test_add_verify_update_through_slack(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given /wa-add with a pasted number and a name, the modal comes pre-filled
    status, body = await person.command("/wa-add", "+91 98765 43210 Acme Support")
    assert (status, body) == (200, None)
    view = await person.opened_view("wa_add")
    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(blocks) == ["phone_number", "name", "verification_type"]
    assert blocks["phone_number"]["element"]["initial_value"] == "+91 98765 43210"
    assert blocks["name"]["element"]["initial_value"] == "Acme Support"

    # When the person submits it with VOICE
    status, body = await person.submit(view, {"verification_type": "VOICE"})
    assert (status, body) == (200, None)

    # Then Kaleyra received exactly the documented body at the documented path
    [request] = await kaleyra.wait_for_requests(1)
    assert request.method == "POST"
    assert request.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/add"
    assert request.headers["api-key"] == "test-kaleyra-key"
    assert request.headers["content-type"].startswith("application/json")
    assert request.json == {
        "phone_number": "9876543210",
        "name": "Acme Support",
        "verification_type": "VOICE",
        "country_code": "+91",
    }

    # And the thread says so, with the phone number ID and the Enter OTP button
    reply = (await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))).args
    parent = slack.calls_of("chat.postMessage")[0].args
    assert parent["channel"] == CHANNEL and "thread_ts" not in parent
    assert "+919876543210" in text_of(parent) and f"<@{OPERATOR}>" in text_of(parent)
    assert reply["channel"] == CHANNEL
    assert "7654XXXXXXXXXX" in text_of(reply) and "voice call" in text_of(reply)
    buttons = [e["action_id"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["enter_otp", "resend_otp"]
    update = await slack.wait_for("chat.update")
    assert "Awaiting OTP" in text_of(update.args) and update.args["ts"] == reply["thread_ts"]

    [number] = await person.bot.store.numbers_with("+919876543210")
    assert (number.state, number.phone_number_id, number.display_name) == (
        State.AWAITING_OTP,
        "7654XXXXXXXXXX",
        "Acme Support",
    )
    assert number.thread_ts == reply["thread_ts"]

    # When the person clicks Enter OTP and types the code with a dash
    status, _ = await person.click(reply["blocks"], "enter_otp")
    assert status == 200
    otp_view = await person.opened_view("wa_verify")
    assert [b["block_id"] for b in otp_view["blocks"] if b["type"] == "input"] == ["otp"]
    status, body = await person.submit(otp_view, {"otp": "123-456"})
    assert status == 200 and body["response_action"] == "update"

    # Then Kaleyra received the stored ID, the E.164 number and the digits
    verify = (await kaleyra.wait_for_requests(2))[1]
    assert verify.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/verify"
    assert verify.json == {"id": "7654XXXXXXXXXX", "phone_number": "+919876543210", "otp": "123456"}
    verified = await slack.wait_for("chat.postMessage", lambda c: "Verified" in text_of(c.args))
    assert verified.args["thread_ts"] == reply["thread_ts"]
    modal = await slack.wait_for("views.update", lambda c: c.args["view"]["title"]["text"] == "Verified")
    assert modal.args["view_id"] == otp_view["id"]
    assert (await person.bot.store.number(number.id)).state == State.VERIFIED  # type: ignore[union-attr]

    # When the person updates the profile with some fields
    await person.command("/wa-update", "+91 98765 43210")
    update_view = await person.opened_view("wa_update")
    fields = [b["block_id"] for b in update_view["blocks"] if b["type"] == "input"]
    assert fields == [
        "address",
        "description",
        "category",
        "email",
        "about",
        "callback_profile_id",
        "outgoing_callback_profile_id",
    ]
    status, body = await person.submit(
        update_view, {"address": "EGL", "category": "BEAUTY_SPA_SALON", "email": "ops@example.com"}
    )
    assert (status, body) == (200, None)
    put = (await kaleyra.wait_for_requests(3))[2]
    assert put.method == "PUT" and put.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/update"
    assert put.json == {
        "phone_number": "+919876543210",
        "address": "EGL",
        "category": "BEAUTY_SPA_SALON",
        "email": "ops@example.com",
    }
    updated = await slack.wait_for("chat.postMessage", lambda c: "Profile updated" in text_of(c.args))
    assert updated.args["thread_ts"] == reply["thread_ts"]

    # And the next update modal is pre-filled with what was set
    await person.command("/wa-update", "+919876543210")
    await slack.wait_for("views.open", lambda c: len(slack.calls_of("views.open")) >= 4)
    again = [c.args["view"] for c in slack.calls_of("views.open")][-1]
    prefilled = {b["block_id"]: b["element"] for b in again["blocks"] if b["type"] == "input"}
    assert prefilled["address"]["initial_value"] == "EGL"
    assert prefilled["email"]["initial_value"] == "ops@example.com"
    assert prefilled["category"]["initial_option"]["value"] == "BEAUTY_SPA_SALON"
    assert prefilled["category"]["initial_option"]["text"]["text"] == "Beauty, Spa, and Salon"

    # And every operation is in the history, one thread for all of it
    history = await person.bot.store.history(number.id)
    assert [(o.action, o.outcome, o.provider_code) for o in history][::-1] == [
        ("add", "ok", "WA200"),
        ("verify", "ok", "WA200"),
        ("update", "ok", "WA200"),
    ]
    assert {c.args["thread_ts"] for c in slack.calls_of("chat.postMessage") if c.args.get("thread_ts")} == {
        reply["thread_ts"]
    }
    assert len([c for c in slack.calls_of("chat.postMessage") if not c.args.get("thread_ts")]) == 1
