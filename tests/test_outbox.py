"""When Slack is unreachable: what the bot means to say in a number's thread is recorded, then delivered once
Slack answers again, once, in order; and a replica that starts delivers what a stopped one left."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import Person, running, seed_number
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from test_v2_failures import E164, NUMBER_AS_TYPED, add_number, stored_number, text_of, view_opened_by

from bot.lifecycle.states import State
from bot.settings import Settings
from bot.store import Lease, OutboxItem, Store, utcnow


def posts_saying(slack: SlackStandIn, words: str) -> list[int]:
    """Where (in the order Slack took them) the messages whose text has `words` are."""
    return [
        i
        for i, call in enumerate(slack.calls)
        if call.method == "chat.postMessage" and words in (text_of(call.args) or call.args.get("text", ""))
    ]


def tried(slack: SlackStandIn, predicate: Callable[[dict[str, Any]], bool]) -> int:
    return sum(1 for call in slack.refused if call.method == "chat.postMessage" and predicate(call.args))


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Poll `condition` (what the stand-in recorded) until it holds."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (the stand-in records calls; it signals nothing)
            await asyncio.sleep(0.01)


async def the_thread_is_whole(person: Person, slack: SlackStandIn) -> None:
    """The parent once, the add's reply once in its thread after it, the parent edited to the final state after
    that, the number's row pointing at that thread, and its history saying the add went through."""
    reply = await slack.wait_for(
        "chat.postMessage", lambda c: "Added" in text_of(c.args) and bool(c.args.get("thread_ts")), timeout=15
    )
    await slack.wait_for("chat.update", lambda c: "Awaiting OTP" in text_of(c.args), timeout=15)
    [parent_at] = posts_saying(slack, "Asked by")
    [reply_at] = posts_saying(slack, "Added")
    edits = [i for i, call in enumerate(slack.calls) if call.method == "chat.update"]
    assert parent_at < reply_at < edits[-1]
    parent, edit = slack.calls[parent_at], slack.calls[edits[-1]]
    assert parent.args["channel"] == "C0OPS"
    number = await stored_number(person)
    assert (number.channel_id, number.thread_ts) == ("C0OPS", reply.args["thread_ts"])
    assert (edit.args["channel"], edit.args["ts"]) == ("C0OPS", reply.args["thread_ts"])

    await person.command("/wa-numbers", NUMBER_AS_TYPED)
    history = (await slack.wait_for("response_url:cmd", lambda c: E164 in c.args.get("text", ""))).args
    shown = history["text"] + "".join(text_of(history))
    assert "add by <@U0OPS> · ok · `WA200`" in shown and "BOT_ERROR" not in shown


@pytest.mark.parametrize(("how", "retry_after"), [("drop", 0), ("503", 0), ("429", 1)])
async def test_a_reply_slack_could_not_take_is_posted_once_it_is_back(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn, how: str, retry_after: int
) -> None:
    # Given an add whose parent message is posted, and Slack goes away before Kaleyra's answer comes
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=0.3)
    await add_number(person, slack)
    await slack.wait_for("chat.postMessage", lambda c: "Asked by" in text_of(c.args))
    slack.outage(how, retry_after)

    # When the answer comes while Slack cannot take it, and the bot has tried four times (past slack_sdk's own
    # two retries of a 429)
    await until(lambda: tried(slack, lambda args: bool(args.get("thread_ts"))) >= 4)
    slack.restore()

    # Then, Slack back, the reply is in the thread once, in order, and the parent shows the final state
    await the_thread_is_whole(person, slack)
    if retry_after:  # Slack's Retry-After was waited for between attempts
        attempts = [c.at for c in slack.refused if c.method == "chat.postMessage"]
        assert all(b - a >= retry_after * 0.9 for a, b in itertools.pairwise(attempts))


async def test_the_add_goes_on_while_slack_cannot_take_the_parent(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given the add modal is open, and Slack goes away before it is submitted
    form = await view_opened_by(slack, person.command("/wa-add", f"{NUMBER_AS_TYPED} Acme Support"), "wa_add")
    slack.outage("drop")

    # When the person submits it
    status, body = await person.submit(form, {})
    assert (status, body) == (200, None)

    # Then Kaleyra is asked at once, though the parent message could not be posted
    await kaleyra.wait_for_requests(1)
    assert tried(slack, lambda args: "Asked by" in text_of(args)) >= 1
    assert posts_saying(slack, "Asked by") == []

    # And once Slack is back, the parent, the reply and the edit arrive, once each, in order
    await until(lambda: tried(slack, lambda args: True) >= 3)
    slack.restore()
    await the_thread_is_whole(person, slack)


async def test_a_replica_that_starts_delivers_what_a_stopped_one_left(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn, database_url: str
) -> None:
    settings = settings_for(database_url=database_url)

    # Given a replica that adds a number while Slack is away, and stops before Slack is back
    async with running(settings, slack) as first:
        form = await view_opened_by(
            slack, first.command("/wa-add", f"{NUMBER_AS_TYPED} Acme Support"), "wa_add"
        )
        slack.outage("503")
        await first.submit(form, {})
        await kaleyra.wait_for_requests(1)
        async with asyncio.timeout(10):  # the add's answer is recorded: its reply waits behind the parent
            while (await stored_number(first)).state != State.AWAITING_OTP:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    assert posts_saying(slack, "Added") == []

    # When Slack is back and another replica starts on the same store
    slack.restore()
    async with running(settings, slack) as second:
        # Then it posts the parent, the reply and the edit the first one left, once each, in order
        await the_thread_is_whole(second, slack)


async def test_two_replicas_claiming_at_once_share_the_threads_never_an_item(
    store: Store, database_url: str
) -> None:
    # Given two threads' items whose holder stopped (their lease ran out)
    first = await seed_number(store, "kaleyra", "+919876500001", State.ADDING)
    second = await seed_number(store, "kaleyra", "+919876500002", State.ADDING)
    gone = Lease("wa-bot-outbox-gone", utcnow() - timedelta(seconds=1))
    for number in (first, second):
        kinds = ("parent", "reply", "edit")
        await store.outbox_add([[OutboxItem(number_id=number.id, kind=k, message={}) for k in kinds]], gone)

    # When two replicas claim at the same moment
    other = Store(database_url)
    try:
        one, two = await asyncio.gather(
            store.outbox_claim(Lease("one", utcnow() + timedelta(minutes=1))),
            other.outbox_claim(Lease("two", utcnow() + timedelta(minutes=1))),
        )
    finally:
        await other.close()

    # Then every item is claimed once, and each thread whole by one of them, in order
    assert (
        sorted(i.id for i in [*one, *two]) == sorted({i.id for i in [*one, *two]})
        and len(one) + len(two) == 6
    )
    for claimed in (one, two):
        assert [i.id for i in claimed] == sorted(i.id for i in claimed)
        assert all(len([i for i in claimed if i.number_id == n.id]) in (0, 3) for n in (first, second))
