"""Bulk add through signed Slack requests: every line checked before anything is sent, one batch message edited
in place, the provider paced, a summary with every failure and Retry failed, and a restart that resumes the
rest without sending any line twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

import aiohttp
import pytest
from block_kit import check_message, check_view, shown_by_the_bot
from conftest import CHANNEL, OPERATOR, Person, running, seed_number
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from standins.kit import most_in_one_second
from standins.slack import SlackCall

from bot.lifecycle.bulk import Failure, Line, Progress
from bot.lifecycle.states import Move, State, to
from bot.settings import Settings
from bot.slack import messages
from bot.store import Batch, BatchLost, Lease, Outcome, Store, utcnow

ACCOUNT = "kaleyra"  # the account the environment's KALEYRA_* variables configure


def e164(index: int) -> str:
    return f"+9198765{index:05d}"


def pasted(indexes: range, via: str = "") -> str:
    """Lines as a person pastes them: the number as typed, a name, and sometimes SMS or VOICE."""
    return "\n".join(f"+91 98765 {i:05d}, Store {i}{via}" for i in indexes)


async def open_bulk_modal(person: Person) -> dict[str, Any]:
    status, answer = await person.command("/wa-add", "bulk")
    assert (status, answer) == (200, None)
    return await person.opened_view("wa_bulk")


def channel_messages(slack: SlackStandIn) -> list[SlackCall]:
    return [c for c in slack.calls_of("chat.postMessage") if not c.args.get("thread_ts")]


def text_of(call: SlackCall) -> str:
    blocks = call.args.get("blocks") or []
    return call.args.get("text", "") + "\n".join(
        b["text"]["text"] for b in blocks if b.get("type") == "section"
    )


async def summary_of(slack: SlackStandIn, batch_id: int, timeout: float = 30) -> SlackCall:  # noqa: ASYNC109
    return await slack.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("text", "").startswith(f"Bulk add #{batch_id} finished"),
        timeout=timeout,
    )


def button_of(call: SlackCall, action_id: str) -> dict[str, Any]:
    return next(
        e
        for b in call.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


async def test_a_200_line_bulk_add_is_paced_shown_summed_up_and_its_failures_retried(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    rate = 40
    # Given Kaleyra refuses three of the numbers with documented failures, one of which may pass later
    kaleyra.answer_number(e164(7), doc.V2_ADD_FAILURES["already_exists"])
    kaleyra.answer_number(e164(42), doc.V2_ADD_FAILURES["try_later"])
    kaleyra.answer_number(e164(150), doc.V2_ADD_FAILURES["too_short"])
    kaleyra.delay_seconds = 0.05
    async with running(settings_for(wa_bot_bulk_rate_per_second=rate), slack) as person:
        # When 200 lines are pasted into the bulk add form, some asking for a voice call
        view = await open_bulk_modal(person)
        check_view(view)
        text = pasted(range(0, 100)) + "\n" + pasted(range(100, 200), via=", voice")
        status, answer = await person.submit(view, {"numbers": text})
        assert (status, answer) == (200, None)

        # Then one message in the channel shows the batch, edited in place, and its thread gets the summary
        message = await slack.wait_for(
            "chat.postMessage", lambda c: c.args["text"].startswith("Bulk add #1:")
        )
        summary = await summary_of(slack, 1)
        assert len(channel_messages(slack)) == 1  # never a message per number

    # Every number was sent exactly once, never more than `rate` calls in any one-second window
    assert Counter(r.e164 for r in kaleyra.requests) == Counter(e164(i) for i in range(200))
    assert most_in_one_second([r.at for r in kaleyra.requests]) <= rate
    voice = {r.e164 for r in kaleyra.requests if r.json["verification_type"] == "VOICE"}
    assert voice == {e164(i) for i in range(100, 200)}

    # The message was edited with the progress, no more often than once a second
    edits = [c for c in slack.calls_of("chat.update") if c.args["text"].startswith("Bulk add #1")]
    assert len(edits) >= 2
    # …every edit is of the batch's message, and the summary is a reply in its thread
    assert {e.args["ts"] for e in edits} == {summary.args["thread_ts"]}
    assert {e.args["channel"] for e in edits} == {message.args["channel"]} == {summary.args["channel"]}
    assert all(b.at - a.at >= 0.9 for a, b in pairwise(edits))
    assert any("left" in text_of(e) and "elapsed" in text_of(e) and "█" in text_of(e) for e in edits)
    final = text_of(edits[-1])
    assert "197 added · 3 failed · 0 left" in final and "100%" in final

    # The summary is exact: the counts, each failure with its line, code and message, and Retry failed for one
    body = text_of(summary)
    assert "197 added, 3 failed" in body
    assert "line 8 · +919876500007 · `WA400` phone number already exists (will not succeed as it is)" in body
    assert "line 43 · +919876500042 · `WA500` Please try again later (may succeed on a retry)" in body
    assert "line 151 · +919876500150 · `WA500`" in body
    assert "/wa-verify" in body
    assert button_of(summary, "retry_failed")["text"]["text"] == "Retry failed (1)"
    _, messages = shown_by_the_bot(slack)
    for shown in messages:
        check_message(shown)

    # When Retry failed is clicked (twice: a double click), after a restart
    async with running(settings_for(wa_bot_bulk_rate_per_second=rate), slack) as person:
        for _ in range(2):
            status, _ = await person.click(
                summary.args["blocks"], "retry_failed", message_ts="1700000001.000200"
            )
            assert status == 200
        retried = await summary_of(slack, 2)
        store = person.bot.store
        numbers = {n.e164: n for n in (await store.numbers(500))[0]}

    # Then only the number that may pass is sent again, once, and the retry reports in the same thread
    assert len(kaleyra.requests) == 201 and kaleyra.requests[-1].e164 == e164(42)
    assert retried.args["thread_ts"] == summary.args["thread_ts"]
    assert "1 added, 0 failed" in text_of(retried)
    skipped = next(
        c for c in slack.calls_of("chat.postMessage") if "Skipped 2 lines" in c.args.get("text", "")
    )
    assert "phone number already exists" in skipped.args["text"]
    assert skipped.args["thread_ts"] == summary.args["thread_ts"]  # the parent's ts, not the retry's reply
    said = [c.args["text"] for c in slack.calls if c.method.startswith("response_url:")]
    assert any("already received" in text for text in said)
    # Each number is first-class: awaiting its code, with no thread of its own until its first action
    assert Counter(n.state for n in numbers.values()) == {State.AWAITING_OTP: 198, State.FAILED: 2}
    assert numbers[e164(3)].thread_ts is None and numbers[e164(3)].channel_id == CHANNEL


async def test_a_number_added_in_bulk_is_found_and_verified_like_any_other(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    view = await open_bulk_modal(person)
    await person.submit(view, {"numbers": pasted(range(3))})
    await summary_of(slack, 1)
    # /wa-numbers <number> shows its history, naming the batch and line
    status, _ = await person.command("/wa-numbers", "+91 98765 00002")
    history = await slack.wait_for("response_url:cmd", lambda c: "History of" in c.args.get("text", ""))
    assert "add (bulk add #1, line 3) by" in str(history.args["blocks"])
    # Its App Home lists it awaiting its code, with Enter OTP
    await person.event({"type": "app_home_opened", "tab": "home"})
    home = await slack.wait_for("views.publish")
    assert "+919876500002" in str(home.args["view"]) and "enter_otp" in str(home.args["view"])
    # /wa-verify opens the OTP form; the code is checked, and the number's own thread opens in the channel
    status, _ = await person.command("/wa-verify", "+91 98765 00002")
    otp_form = await person.opened_view("wa_verify")
    status, _ = await person.submit(otp_form, {"otp": "123456"})
    assert status == 200
    verified = await slack.wait_for("chat.postMessage", lambda c: "Verified" in c.args.get("text", ""))
    [request] = [r for r in kaleyra.requests if r.operation == "v2_verify"]
    assert request.json["phone_number"] == "+919876500002"
    parents = [c for c in channel_messages(slack) if "+919876500002" in c.args.get("text", "")]
    assert len(parents) == 1 and verified.args["thread_ts"]


async def test_every_line_is_checked_before_anything_is_sent(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    await seed_number(person.bot.store, ACCOUNT, e164(5), State.VERIFIED)
    view = await open_bulk_modal(person)
    lines = [
        "+91 98765 00001, Store 1",
        "not a number, Store 2",
        "+91 98765 00003",
        "+91 98765 00001, Again",
        "+91 98765 00004, Store 4, fax",
        "+91 98765 00006, " + "x" * 256,
        "+91 98765 00005, Store 5",
        "+91 98765 00007, Store 7, SMS, extra",
    ]
    status, answer = await person.submit(view, {"numbers": "\n".join(lines)})
    assert status == 200 and answer["response_action"] == "errors"
    words = answer["errors"]["numbers"]
    assert "Line 1" not in words
    for line in (
        "Line 2 (number)",
        "Line 3 (display name)",
        "Line 4: +919876500001 is already on line 1",
        "Line 5 (SMS or VOICE)",
        "Line 6 (display name): Keep this to 255",
        "Line 8: expected",
    ):
        assert line in words, words
    # Only once the pasted lines are fine is the store asked: a number live on the account is named
    status, answer = await person.submit(
        view, {"numbers": "+91 98765 00001, Store 1\n+91 98765 00005, Store 5"}
    )
    assert answer["errors"] == {
        "numbers": "Line 2: +919876500005 is already Verified :white_check_mark: on this account."
    }
    status, answer = await person.submit(view, {"numbers": pasted(range(501))})
    assert answer["errors"] == {"numbers": "Paste at most 500 lines at a time (this has 501)."}
    status, answer = await person.submit(view, {"numbers": " \n"})
    assert "at least one line" in answer["errors"]["numbers"]
    assert kaleyra.requests == [] and channel_messages(slack) == []
    batches = await person.bot.store.claim_batches(person.bot.numbers.leases.new())
    assert batches == []


async def test_a_spreadsheet_export_pasted_as_it_is_works(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    view = await open_bulk_modal(person)
    pasted_csv = (
        "\ufeffPhone,Display name,Verification\n"
        '+91 98765 00001,"Acme, Inc",SMS\n'
        "+91 98765 00002\tAcme Two\tVOICE\n"
        "+91 98765 00003;Acme Three\n"
        "+91 98765 00004,Acme Four,,\n"
    )
    status, answer = await person.submit(view, {"numbers": pasted_csv})
    assert (status, answer) == (200, None)
    await summary_of(slack, 1)
    sent = {r.e164: (r.json["name"], r.json["verification_type"]) for r in kaleyra.requests}
    assert sent == {
        e164(1): ("Acme, Inc", "SMS"),
        e164(2): ("Acme Two", "VOICE"),
        e164(3): ("Acme Three", "SMS"),
        e164(4): ("Acme Four", "SMS"),
    }


async def test_a_restart_mid_batch_resumes_the_rest_and_sends_no_line_twice(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    settings = settings_for(wa_bot_bulk_rate_per_second=10, wa_bot_sweep_seconds=0.2)
    kaleyra.delay_seconds = 0.3
    async with running(settings, slack) as person:
        view = await open_bulk_modal(person)
        status, _ = await person.submit(view, {"numbers": pasted(range(30))})
        assert status == 200
        await kaleyra.wait_for_requests(5)
        metrics = person.url.replace("/slack/events", "/metrics")
        async with aiohttp.ClientSession() as session, session.get(metrics) as response:
            assert "wa_bot_bulk_batches_running 1.0" in await response.text()
    # The stop let the adds in flight finish and started no more
    sent_before = len(kaleyra.requests)
    assert 5 <= sent_before < 30
    async with running(settings, slack) as person:
        summary = await summary_of(slack, 1)
        batch = await person.bot.store.batch(1)
        operations = await person.bot.store.batch_operations(1)
    assert isinstance(batch, Batch) and batch.finished_at is not None
    assert Counter(r.e164 for r in kaleyra.requests) == Counter(e164(i) for i in range(30))
    assert all(o.outcome == Outcome.OK for o in operations.values()) and len(operations) == 30
    assert "30 added, 0 failed" in text_of(summary)
    assert len(channel_messages(slack)) == 1  # the resumed batch edits the same message


def test_a_summary_of_500_failures_stays_within_block_kit_limits() -> None:
    lines = [Line(n, e164(n), {}) for n in range(1, 501)]
    batch = Batch(
        id=7, account=ACCOUNT, user_id="U1", channel_id=CHANNEL, lines=[line.dump() for line in lines]
    )
    long_message = "phone number already exists " * 20
    progress = Progress(7, ACCOUNT, total=500, elapsed=4000.0, finished=True)
    progress.failures = [
        Failure(line, "WA400", long_message, "failed", n, n % 2 == 0) for n, line in enumerate(lines)
    ]
    progress.failed = len(progress.failures)
    text, blocks = messages.batch_summary(batch, progress, None)
    check_message({"text": text, "blocks": blocks})
    assert blocks[-1]["elements"][0]["text"]["text"] == "Retry failed (250)"
    shown = str(blocks)
    listed = sum(1 for n in range(1, 501) if f"line {n} ·" in shown)
    assert listed == 500 or f"…and {500 - listed} more lines" in shown  # none left out without a word
    text, blocks = messages.batch_message(batch, progress, "Kaleyra", sandbox=True)
    check_message({"text": text, "blocks": blocks})
    assert "0 added · 500 failed · 0 left · finished in 1:06:40" in str(blocks)


async def test_a_v1_account_adds_in_bulk_with_display_names_and_no_code_to_wait_for(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with running(settings_for(kaleyra_api_version="v1"), slack) as person:
        view = await open_bulk_modal(person)
        assert "SMS or VOICE" not in str(view["blocks"])
        status, answer = await person.submit(view, {"numbers": pasted(range(2))})
        assert (status, answer) == (200, None)
        summary = await summary_of(slack, 1)
        numbers = (await person.bot.store.numbers(10))[0]
    sent = sorted((r.operation, r.json["wa_number"], r.json["display_name"]) for r in kaleyra.requests)
    assert sent == [("v1_add", e164(0), "Store 0"), ("v1_add", e164(1), "Store 1")]
    assert "2 added, 0 failed" in text_of(summary) and "/wa-verify" not in text_of(summary)
    assert {n.state for n in numbers} == {State.ADDED}


async def test_a_line_whose_number_turns_live_meanwhile_is_refused_not_sent(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with running(settings_for(wa_bot_bulk_rate_per_second=2), slack) as person:
        view = await open_bulk_modal(person)
        status, answer = await person.submit(view, {"numbers": pasted(range(5))})
        assert (status, answer) == (200, None)
        # Given someone verified the last number by other means while the batch runs
        await seed_number(person.bot.store, ACCOUNT, e164(4), State.VERIFIED)
        summary = await summary_of(slack, 1)
    assert sorted(r.e164 for r in kaleyra.requests) == [e164(i) for i in range(4)]
    body = text_of(summary)
    assert "4 added, 1 failed" in body
    assert "line 5 · +919876500004 · `ALREADY_LIVE` the number is already verified on this account" in body
    assert "Retry failed" not in str(summary.args["blocks"])


async def test_a_line_starts_and_a_batch_ends_only_under_the_batchs_lease(store: Store) -> None:
    mine = Lease("replica-a", utcnow() + timedelta(seconds=45))
    theirs = Lease("replica-b", utcnow() + timedelta(seconds=45))
    # Given a batch that replica B took over from A
    batch = await store.create_batch(
        Batch(
            intent="bulk-1",
            account=ACCOUNT,
            user_id=OPERATOR,
            channel_id=CHANNEL,
            lines=[Line(1, e164(1), {}).dump()],
            lease_owner=theirs.owner,
            lease_until=theirs.until,
        )
    )

    async def start_line(lease: Lease) -> Any:
        return await store.start(
            account=ACCOUNT,
            e164=e164(1),
            user_id=OPERATOR,
            channel_id=CHANNEL,
            intent=f"batch:{batch.id}:1",
            action="add",
            request={},
            lease=lease,
            transition=to(Move.START_ADD),
            batch_id=batch.id,
            batch_line=1,
        )

    # When A starts a line of it, the store refuses and writes nothing: no operation, no number
    with pytest.raises(BatchLost):
        await start_line(mine)
    assert await store.batch_operations(batch.id) == {}
    assert await store.find(ACCOUNT, e164(1)) is None
    # B, which holds the batch, starts it
    _, operation = await start_line(theirs)
    assert (await store.batch_operations(batch.id))[1].id == operation.id
    # The batch ends once, by its holder only: one summary
    assert not await store.finish_batch(batch.id, mine.owner, utcnow())
    assert await store.finish_batch(batch.id, theirs.owner, utcnow())
    assert not await store.finish_batch(batch.id, theirs.owner, utcnow())
    ended = await store.batch(batch.id)
    assert ended is not None and ended.finished_at is not None and ended.lease_owner is None
