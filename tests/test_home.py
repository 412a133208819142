"""The App Home, through signed Slack requests: numbers by state, its buttons, republished after a change."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from block_kit import check_view
from conftest import CHANNEL, OPERATOR, Person, running, seed_number
from standins import SlackStandIn

from bot.lifecycle.states import State
from bot.settings import Settings
from bot.store import utcnow

OTHER = "U0OTHER"


def texts(view: dict[str, Any]) -> list[str]:
    """Each block's words, in order."""
    out = []
    for block in view["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out.append(" ".join(e.get("text", "") for e in block["elements"]))
        else:
            out.append("")
    return out


def number_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b.get("block_id", "").startswith("number_")]


async def open_home(person: Person, slack: SlackStandIn) -> dict[str, Any]:
    before = len(slack.calls_of("views.publish"))
    status, _ = await person.event({"type": "app_home_opened", "tab": "home"})
    assert status == 200
    await wait_publishes(slack, before + 1)
    view: dict[str, Any] = slack.calls_of("views.publish")[-1].args["view"]
    check_view(view)
    return view


async def wait_publishes(slack: SlackStandIn, count: int) -> None:
    await slack.wait_for("views.publish", lambda c: len(slack.calls_of("views.publish")) >= count)


async def test_the_home_lists_numbers_by_state_with_account_name_who_when_and_thread(
    person: Person, slack: SlackStandIn
) -> None:
    store = person.bot.store
    an_hour_ago = utcnow() - timedelta(hours=1)
    # Given numbers in every state, seeded in an order that is not the Home's
    await seed_number(store, "kaleyra", "+919800000001", State.VERIFIED, display_name="Verified Co")
    await seed_number(store, "kaleyra", "+919800000002", State.ADDED, display_name="Added Co")
    await seed_number(store, "kaleyra", "+919800000003", State.FAILED, display_name="Failed Co")
    await seed_number(store, "kaleyra", "+919800000004", State.UNKNOWN, display_name="Unknown Co")
    awaiting = await seed_number(
        store,
        "kaleyra",
        "+919800000005",
        State.AWAITING_OTP,
        display_name="Awaiting <Co>",
        phone_number_id="7654",
        thread_ts="1700000000.000500",
        last_user_id=OTHER,
        updated_at=an_hour_ago,
    )
    await seed_number(store, "kaleyra", "+919800000006", State.KNOWN)
    await seed_number(store, "kaleyra", "+919800000007", State.NEW)  # never shown: nothing was asked yet

    # When the person opens the Home
    view = await open_home(person, slack)

    # Then the numbers come grouped, those that need a person first
    assert view["type"] == "home"
    words = texts(view)
    shown = [w.split("*")[1] for w in words if w.startswith("*+91")]
    assert shown == [f"+91980000000{i}" for i in (5, 4, 3, 2, 1, 6)]
    groups = [w for w in words if w.startswith("*:")]
    assert [g.split(":")[1] for g in groups] == [
        "hourglass_flowing_sand",
        "grey_question",
        "x",
        "white_check_mark",
        "white_check_mark",
        "information_source",
    ]
    assert "Awaiting OTP" in groups[0] and "Verified" in groups[4]
    # each with its account, name (escaped), who acted last, how long ago and its thread
    first = number_blocks(view)[0]
    text = first["text"]["text"]
    assert "Awaiting &lt;Co&gt;" in text and person.bot.accounts["kaleyra"].label in text
    assert f"<@{OTHER}>" in text
    assert f"<!date^{int((an_hour_ago - datetime(1970, 1, 1)).total_seconds())}^{{ago}}|" in text
    assert f"https://slack.com/archives/{CHANNEL}/p1700000000000500|thread>" in text
    assert first["accessory"]["action_id"] == "enter_otp" and first["accessory"]["value"] == str(awaiting.id)
    # who created it, when nobody acted since
    assert f"<@{OPERATOR}>" in number_blocks(view)[1]["text"]["text"]
    assert all("accessory" not in b for b in number_blocks(view)[1:])
    # and an Add number button
    actions = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == ["add_number"]
    assert "SANDBOX" not in " ".join(words)


async def test_after_an_add_through_slack_the_home_is_republished_with_the_new_state(
    person: Person, slack: SlackStandIn
) -> None:
    view = await open_home(person, slack)
    assert "no numbers yet" in " ".join(texts(view))
    published = len(slack.calls_of("views.publish"))

    # When the person adds a number with /wa-add
    status, _ = await person.command("/wa-add", "+91 98765 43210 Acme Support")
    assert status == 200
    status, body = await person.submit(await person.opened_view("wa_add"), {})
    assert (status, body) == (200, None)

    # Then their Home is published again, showing it awaiting its OTP
    await wait_publishes(slack, published + 1)

    def shows_awaiting(call: Any) -> bool:
        return any("+919876543210" in w for w in texts(call.args["view"])) and any(
            "Awaiting OTP" in w for w in texts(call.args["view"])
        )

    call = await slack.wait_for("views.publish", shows_awaiting)
    assert call.args["user_id"] == OPERATOR
    check_view(call.args["view"])
    [block] = number_blocks(call.args["view"])
    assert "Acme Support" in block["text"]["text"] and block["accessory"]["action_id"] == "enter_otp"


async def test_150_numbers_stay_within_100_blocks_awaiting_otp_first_the_rest_counted(
    person: Person, slack: SlackStandIn
) -> None:
    store = person.bot.store
    for i in range(60):
        await seed_number(store, "kaleyra", f"+91981{i:07d}", State.VERIFIED, display_name=f"V{i}")
    for i in range(50):
        await seed_number(store, "kaleyra", f"+91982{i:07d}", State.ADDED)
    for i in range(40):
        await seed_number(store, "kaleyra", f"+91983{i:07d}", State.AWAITING_OTP, phone_number_id=f"id{i}")

    view = await open_home(person, slack)

    assert len(view["blocks"]) <= 100
    numbers = number_blocks(view)
    assert [b.get("accessory", {}).get("action_id") for b in numbers[:40]] == ["enter_otp"] * 40
    assert all("+91983" in b["text"]["text"] for b in numbers[:40])
    assert len(numbers) < 150
    footer = texts(view)[-1]
    hidden = 150 - len(numbers)
    assert f"{hidden} more not shown" in footer and "`/wa-numbers`" in footer
    assert "WhatsApp numbers (150)" in texts(view)[0]


async def test_add_number_on_the_home_opens_the_add_modal(person: Person, slack: SlackStandIn) -> None:
    view = await open_home(person, slack)
    button = next(e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"])

    status, _ = await person.interact(home_click(button))
    assert status == 200

    modal = await person.opened_view("wa_add")
    check_view(modal)
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == [
        "phone_number",
        "name",
        "verification_type",
    ]
    # And what is added from the Home gets its thread in the person's DM
    status, body = await person.submit(modal, {"phone_number": "+91 98765 43210", "name": "Home Co"})
    assert (status, body) == (200, None)
    parent = await slack.wait_for("chat.postMessage", lambda c: "thread_ts" not in c.args)
    assert parent.args["channel"] == OPERATOR


async def test_enter_otp_on_the_home_opens_the_otp_modal(person: Person, slack: SlackStandIn) -> None:
    await seed_number(
        person.bot.store, "kaleyra", "+919876543210", State.AWAITING_OTP, phone_number_id="7654XXXXXXXXXX"
    )
    view = await open_home(person, slack)
    [block] = number_blocks(view)

    status, _ = await person.interact(home_click(block["accessory"], block["block_id"]))
    assert status == 200

    modal = await person.opened_view("wa_verify")
    check_view(modal)
    assert "+919876543210" in " ".join(texts(modal))


async def test_enter_otp_on_the_home_for_a_number_not_awaiting_says_so_by_dm(
    person: Person, slack: SlackStandIn
) -> None:
    number = await seed_number(person.bot.store, "kaleyra", "+919876543210", State.VERIFIED)
    button = {"action_id": "enter_otp", "value": str(number.id)}

    status, _ = await person.interact(home_click(button))
    assert status == 200

    told = await slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == OPERATOR)
    assert "no code is awaited" in told.args["text"]


async def test_someone_off_the_allow_list_gets_no_numbers(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    async with running(settings_for(wa_bot_allowed_users="U0ALLOWED"), slack) as person:
        await seed_number(person.bot.store, "kaleyra", "+919876543210", State.AWAITING_OTP)
        status, _ = await person.event({"type": "app_home_opened", "tab": "home"})
        assert status == 200
        call = await slack.wait_for("views.publish")
        assert call.args["user_id"] == OPERATOR
        words = " ".join(texts(call.args["view"]))
        assert "allow-list" in words and "+91" not in words
        check_view(call.args["view"])


async def test_the_sandbox_home_says_sandbox(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    none = {"kaleyra_sid": None, "kaleyra_api_key": None, "kaleyra_waba_id": None}
    async with running(settings_for(wa_bot_sandbox=True, **none), slack) as person:
        view = await open_home(person, slack)
        assert "SANDBOX" in texts(view)[0]


async def test_the_messages_tab_publishes_nothing(person: Person, slack: SlackStandIn) -> None:
    status, _ = await person.event({"type": "app_home_opened", "tab": "messages"})
    assert status == 200
    await asyncio.sleep(0.3)
    assert slack.calls_of("views.publish") == []


def home_click(button: dict[str, Any], block_id: str = "home_actions") -> dict[str, Any]:
    """A block_actions payload from a Home tab: no channel, a view container, no response_url."""
    return {
        "type": "block_actions",
        "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
        "container": {"type": "view", "view_id": f"VHOME{OPERATOR}"},
        "view": {"id": f"VHOME{OPERATOR}", "type": "home"},
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": block_id,
                "value": button["value"],
                "action_ts": "1700000000.1",
            }
        ],
    }


async def test_a_slow_home_publish_never_slows_the_acknowledgement_or_the_thread(
    person: Person, slack: SlackStandIn
) -> None:
    # Given Slack takes 2 s to answer views.publish
    slack.delay("views.publish", 2.0)
    status, _ = await person.command("/wa-add", "+91 98765 43210 Acme Support")
    assert status == 200
    modal = await person.opened_view("wa_add")

    # When the person adds a number, the submission is answered and the thread replied to at once
    started = time.monotonic()
    status, body = await person.submit(modal, {})
    assert (status, body) == (200, None)
    await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")), timeout=1.5)
    assert time.monotonic() - started < 1.5

    # And the Home is published meanwhile, in the background
    await slack.wait_for("views.publish", timeout=1.0)
