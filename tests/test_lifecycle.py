"""A number's life, once and only once: each scenario drives the real bot through signed Slack requests."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from conftest import Person, running, seed_number, seed_operation
from sqlalchemy import func, select
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from test_v2_failures import (
    E164,
    NUMBER_AS_TYPED,
    add_number,
    buttons_of,
    inputs_of,
    reply_saying,
    stored_number,
    text_of,
    thread_replies,
    unknown_reply,
)

from bot.lifecycle.states import State
from bot.settings import Settings
from bot.store import Operation, Outcome, utcnow


async def test_adding_a_verified_number_again_calls_nothing_and_changes_nothing(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number that is verified on the account
    await seed_number(
        person.bot.store, "kaleyra", E164, State.VERIFIED, display_name="Acme", phone_number_id="7654XXXXXXXXXX",
        thread_ts="1700000000.000900",
    )  # fmt: skip

    # When a colleague adds it again under another name
    await person.command("/wa-add", f"{NUMBER_AS_TYPED} Other Name")
    status, body = await person.submit(await person.opened_view("wa_add"), {})

    # Then the modal answers under phone_number with its state and its thread, and nothing is sent or changed
    assert status == 200 and body["response_action"] == "errors"
    error = body["errors"]["phone_number"]
    assert "already verified" in error and "https://slack.com/archives/C0OPS/p1700000000000900" in error
    await asyncio.sleep(0.2)
    assert kaleyra.requests == []
    number = await stored_number(person)
    assert (number.state, number.display_name) == (State.VERIFIED, "Acme")


async def test_a_modal_submitted_twice_adds_once(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given Kaleyra takes a moment to answer
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=0.3)
    await person.command("/wa-add", f"{NUMBER_AS_TYPED} Acme Support")
    view = await person.opened_view("wa_add")

    # When the same modal is submitted twice, 100 ms apart (a double click, or Slack's redelivery)
    first = asyncio.create_task(person.submit(view, {}))
    await asyncio.sleep(0.1)
    second = await person.submit(view, {})
    assert (await first)[0] == 200 and second[0] == 200

    # Then Kaleyra was asked once, the number awaits its OTP, and the second submission got a clear answer
    await reply_saying(slack, "Added")
    await asyncio.sleep(0.3)
    assert [r.operation for r in kaleyra.requests] == ["v2_add"]
    assert (await stored_number(person)).state == State.AWAITING_OTP
    # (inline under the number when the first had already moved it to adding, else in a message)
    told = [c.args.get("text", "") for c in slack.calls if c.method.startswith("response_url")]
    told += [c.args.get("text", "") for c in slack.calls_of("chat.postEphemeral")]
    if second[1]:
        told.append(second[1]["errors"]["phone_number"])
    assert any(w in t for t in told for w in ("already received once", "already adding")), told
    assert len(thread_replies(slack)) == 1


async def test_a_kaleyra_success_whose_data_is_an_object_gives_the_id(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    kaleyra.queue("v2_add", {**doc.V2_ADD_OK, "data": {"id": "7654OBJECT"}})

    await add_number(person, slack)

    reply = await reply_saying(slack, "Added")
    assert "`7654OBJECT`" in text_of(reply) and "{" not in text_of(reply)
    assert (await stored_number(person)).phone_number_id == "7654OBJECT"


async def test_retry_after_an_unknown_add_sends_it_once_more_with_what_was_typed(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given an add whose answer was a proxy's 502: its outcome is unknown
    kaleyra.queue("v2_add", "<html>502</html>", status=502)
    await add_number(person, slack)
    reply = await unknown_reply(slack, "add")
    assert (await stored_number(person)).state == State.UNKNOWN

    # When the person presses Retry twice (a double click)
    await person.click(reply["blocks"], "retry")
    await person.click(reply["blocks"], "retry")

    # Then the add is sent again once, with what was typed, and the number awaits its code
    await reply_saying(slack, "Added")
    await asyncio.sleep(0.2)
    adds = [r.json for r in kaleyra.requests if r.operation == "v2_add"]
    assert len(adds) == 2 and adds[0] == adds[1]
    number = await stored_number(person)
    assert number.state == State.AWAITING_OTP
    history = await person.bot.store.history(number.id)
    assert [(o.action, o.outcome) for o in history] == [("add", Outcome.OK), ("add", Outcome.UNKNOWN)]
    assert history[0].retry_of == history[1].id


async def test_a_mistyped_phone_number_id_is_asked_again_prefilled(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number the bot has no record of, verified with a mistyped ID that Kaleyra refuses
    kaleyra.queue("v2_verify", doc.V2_VERIFY_FAILURES["invalid_phone_number"])
    await person.command("/wa-verify", NUMBER_AS_TYPED)
    form = await person.opened_view("wa_verify")
    await person.submit(form, {"otp": "123456", "id": "7654XXXXXXXXXY"})
    await slack.wait_for("views.update", lambda c: "invalid phone number" in text_of(c.args["view"]))

    # When the person runs /wa-verify again
    before = len(slack.calls_of("views.open"))
    await person.command("/wa-verify", NUMBER_AS_TYPED)
    await slack.wait_for("views.open", lambda c: len(slack.calls_of("views.open")) > before)
    again = slack.calls_of("views.open")[-1].args["view"]

    # Then the form asks for the ID again, pre-filled with what was typed, and the corrected one verifies
    assert inputs_of(again) == ["otp", "id"]
    typed_id = next(b for b in again["blocks"] if b.get("block_id") == "id")["element"]["initial_value"]
    assert typed_id == "7654XXXXXXXXXY"
    view_id = next(i for i, v in slack.views.items() if v is not None and v.get("blocks") == again["blocks"])
    await person.submit({**slack.views[view_id], "id": view_id}, {"otp": "123456", "id": "7654XXXXXXXXXX"})
    await reply_saying(slack, "Verified")
    verifies = [r.json["id"] for r in kaleyra.requests if r.operation == "v2_verify"]
    assert verifies == ["7654XXXXXXXXXY", "7654XXXXXXXXXX"]
    number = await stored_number(person)
    assert (number.state, number.phone_number_id_confirmed) == (State.VERIFIED, True)


async def test_numbers_of_an_account_no_longer_configured_are_listed_and_refused(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    number = await seed_number(
        person.bot.store, "old-account", E164, State.AWAITING_OTP, phone_number_id="7654XXXXXXXXXX"
    )

    await person.command("/wa-numbers")
    listed = (await slack.wait_for("response_url:cmd")).args
    assert "old-account (no longer configured)" in str(listed["blocks"])

    await person.command("/wa-verify", NUMBER_AS_TYPED)
    answer = await slack.wait_for(
        "response_url:cmd", lambda c: "no longer configured" in c.args.get("text", "")
    )
    assert "old-account" in answer.args["text"]

    await person.click(
        [{"type": "actions", "elements": [{"action_id": "enter_otp", "value": str(number.id)}]}], "enter_otp"
    )
    await slack.wait_for("response_url:button", lambda c: "no longer configured" in c.args.get("text", ""))
    await person.click(
        [{"type": "actions", "elements": [{"action_id": "resend_otp", "value": str(number.id)}]}],
        "resend_otp",
    )
    refused = "no longer configured"
    await slack.wait_for(
        "response_url:button",
        lambda c: len([r for r in slack.calls_of("response_url:button") if refused in r.args["text"]]) == 2,
    )
    assert kaleyra.requests == [] and slack.calls_of("views.open") == []


async def test_the_result_reaches_whoever_acts_from_elsewhere_than_the_thread(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given a number whose thread had to move to its first requester's DM
    await seed_number(
        person.bot.store, "kaleyra", E164, State.AWAITING_OTP, phone_number_id="7654XXXXXXXXXX",
        channel_id="D0OPS", thread_ts="1700000000.000900",
    )  # fmt: skip

    # When a colleague verifies it from the ops channel
    colleague = person.as_user("U0COLLEAGUE")
    await colleague.command("/wa-verify", NUMBER_AS_TYPED)
    await colleague.submit(await colleague.opened_view("wa_verify"), {"otp": "123456"})

    # Then the thread (in the DM) has the result, and the colleague hears it too, with a link
    verified = await reply_saying(slack, "Verified")
    assert verified["channel"] == "D0OPS"
    heard = await slack.wait_for("response_url:cmd", lambda c: "Verified" in c.args.get("text", ""))
    assert "archives/D0OPS/p1700000000000900" in heard.args["text"]


async def test_an_add_left_by_a_dead_process_is_reported_and_never_left_adding(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    settings = settings_for(wa_bot_sweep_seconds=0.2)
    # Given an add that a process started and never finished: its lease has run out
    async with running(settings, slack) as person:
        number = await seed_number(
            person.bot.store,
            "kaleyra",
            E164,
            State.ADDING,
            thread_ts="1700000000.000900",
            display_name="Acme",
        )
        operation_id = await seed_operation(
            person.bot.store, number.id, "add", Outcome.PENDING, request={"phone_number": "9876543210"},
            lease_owner="dead-replica", lease_until=utcnow(),
        )  # fmt: skip

        # Then while the bot runs (not only at its next start), the sweeper reports it in its thread with Retry
        reply = await reply_saying(slack, "Interrupted")
        assert reply["thread_ts"] == "1700000000.000900" and buttons_of(reply) == ["retry"]
        assert "may have been added" in text_of(reply)
        assert (await stored_number(person)).state == State.UNKNOWN
        operation = await person.bot.store.operation(operation_id)
        assert operation is not None and operation.outcome == Outcome.INTERRUPTED
        await asyncio.sleep(0.5)
        assert len([r for r in thread_replies(slack) if "Interrupted" in text_of(r)]) == 1  # once


async def test_an_operation_in_flight_keeps_its_lease_and_is_not_swept(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given short leases and a Kaleyra that answers after three of them
    settings = settings_for(wa_bot_lease_seconds=0.3, wa_bot_sweep_seconds=0.1)
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=1.0)
    async with running(settings, slack) as person:
        await add_number(person, slack)
        # Then the renewed lease keeps the sweeper away, and the answer is recorded as it came
        await reply_saying(slack, "Added")
        assert not any("Interrupted" in text_of(r) for r in thread_replies(slack))
        assert (await stored_number(person)).state == State.AWAITING_OTP


async def test_a_provider_answer_the_store_cannot_record_still_reaches_the_thread(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn, tmp_path: Path
) -> None:
    # Given Kaleyra answers the add after a moment, and meanwhile the store loses its operations table
    database = tmp_path / "wa-bot.db"
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=0.5)
    async with running(settings_for(database_url=f"sqlite+aiosqlite:///{database}"), slack) as person:
        await add_number(person, slack)
        await kaleyra.wait_for_requests(1)
        await outbox_idle(person)
        with sqlite3.connect(database) as connection:
            connection.execute("ALTER TABLE operations RENAME TO operations_away")

        # Then the thread has Kaleyra's answer (the phone number ID) at once, marked as not yet recorded
        reply = await reply_saying(slack, "Added")
        assert "7654XXXXXXXXXX" in text_of(reply) and "could not record" in text_of(reply)
        assert "enter_otp" in buttons_of(reply)

        # And when the store comes back, the answer is recorded after all
        await slack.wait_for("chat.update")
        await outbox_idle(person)
        with sqlite3.connect(database) as connection:
            connection.execute("ALTER TABLE operations_away RENAME TO operations")
        for _ in range(100):
            number = await stored_number(person)
            if number.state == State.AWAITING_OTP:
                break
            await asyncio.sleep(0.1)
        assert (number.state, number.phone_number_id) == (State.AWAITING_OTP, "7654XXXXXXXXXX")


async def outbox_idle(person: Person) -> None:
    """Wait until the bot wrote down what Slack took: a blocking sqlite3 connection altering the store would
    otherwise hold this (the bot's) event loop while the bot holds SQLite's write lock."""
    await slack_parent(person)
    for _ in range(500):
        if person.bot.outbox.idle:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the outbox did not settle")


async def slack_parent(person: Person) -> None:
    await person.slack.wait_for("chat.postMessage", lambda call: "Asked by" in text_of(call.args))


async def test_a_stop_hands_unfinished_work_to_the_sweeper(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given an add in flight when the bot stops, with a grace shorter than Kaleyra's answer
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=3.0)
    settings = settings_for(wa_bot_sweep_seconds=0.1)
    async with running(settings, slack) as person:
        await add_number(person, slack)
        await kaleyra.wait_for_requests(1)
        await person.bot.numbers.leases.stop(grace_seconds=0.1)
        # Then its lease is released at once, and the sweeper of a running replica reports it
        reply = await reply_saying(slack, "Interrupted")
        assert buttons_of(reply) == ["retry"]
        assert (await stored_number(person)).state == State.UNKNOWN
        async with person.bot.store.engine.connect() as connection:  # nothing is left pending
            pending = await connection.scalar(
                select(func.count()).select_from(Operation).where(Operation.outcome == Outcome.PENDING)
            )
        assert pending == 0
