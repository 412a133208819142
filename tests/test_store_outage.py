"""The database goes away under a live bot (a failover, a network blip): PostgreSQL behind a TCP proxy that the
test cuts and restores, the real bot (Bolt's request handling, signed requests) in front of it. No answer is
lost, no add is sent twice, and a process that lives is never taken for dead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from conftest import Person, running
from sqlalchemy.engine import make_url
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from standins.tcp_proxy import TcpProxy
from test_v2_failures import E164, PHONE_NUMBER_ID, add_number, reply_saying, text_of, thread_replies

from bot.lifecycle.states import State
from bot.settings import Settings
from bot.store import Number, Outcome, Store, utcnow

LEASE = 1.5  # seconds: the renewer runs every 0.5 s
SWEEP = 0.3


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[TcpProxy]:
    url = make_url(postgres_url)
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
async def empty(postgres_url: str) -> AsyncIterator[None]:
    """The module's database, migrated and with no number left by an earlier test."""
    store = Store(postgres_url)
    await store.migrate()
    async with store.engine.begin() as connection:
        await connection.exec_driver_sql("TRUNCATE operations, numbers, batches RESTART IDENTITY CASCADE")
    await store.close()
    yield


def through(proxy: TcpProxy, postgres_url: str) -> str:
    return make_url(postgres_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Poll `condition` (sync or async) until it gives something true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def the_number(store: Store) -> Number:
    [number] = await store.numbers_with(E164)
    return number


def adds(kaleyra: KaleyraStandIn) -> int:
    return sum(request.operation == "v2_add" for request in kaleyra.requests)


async def test_an_answer_that_comes_while_postgresql_is_away_reaches_the_thread_and_then_the_store(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    proxy: TcpProxy,
    postgres_url: str,
    empty: None,
) -> None:
    settings = settings_for(database_url=through(proxy, postgres_url))
    async with running(settings, slack) as person:
        # Given an add whose answer Kaleyra gives a moment after the request arrives
        kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=0.6)
        await add_number(person, slack)
        await kaleyra.wait_for_requests(1)

        # When the database goes away before the answer comes
        await proxy.cut()

        # Then the answer is in the thread at once, with the phone number ID, saying it is not recorded yet
        reply = await reply_saying(slack, "Added")
        assert f"`{PHONE_NUMBER_ID}`" in text_of(reply)
        assert "could not record this answer" in text_of(reply)

        # And once the database is back, the store has it: the number awaits its code under that ID
        await proxy.restore()
        number = await until(
            lambda: _awaiting(person.bot.store),
            timeout=20,
        )
        assert number.phone_number_id == PHONE_NUMBER_ID
        [operation] = await person.bot.store.history(number.id)
        assert (operation.outcome, operation.provider_code) == (Outcome.OK, "WA200")

        # And Enter OTP opens the code form without asking for the ID, and the verify is sent under it
        await person.click(reply["blocks"], "enter_otp")
        form = await person.opened_view("wa_verify")
        assert [b["block_id"] for b in form["blocks"] if b["type"] == "input"] == ["otp"]
        await person.submit(form, {"otp": "482913"})
        await reply_saying(slack, "Verified")
        verify = next(r for r in kaleyra.requests if r.operation == "v2_verify")
        assert verify.json["id"] == PHONE_NUMBER_ID
        assert adds(kaleyra) == 1


async def _awaiting(store: Store) -> Number | None:
    try:
        number = await the_number(store)
    except Exception:
        return None
    return number if number.state == State.AWAITING_OTP else None


async def test_after_a_cut_a_long_add_is_not_reported_interrupted(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    proxy: TcpProxy,
    postgres_url: str,
    empty: None,
) -> None:
    settings = settings_for(
        database_url=through(proxy, postgres_url), wa_bot_lease_seconds=LEASE, wa_bot_sweep_seconds=SWEEP
    )
    async with running(settings, slack) as person:
        # Given an add in flight while the database is cut for a renewal's turn (shorter than the lease)
        kaleyra.answer_number("+919876500001", doc.V2_ADD_OK, delay=1.2)
        await add_number_as(person, slack, "+91 98765 00001")
        await kaleyra.wait_for_requests(1)
        await proxy.cut()
        await asyncio.sleep(0.8)  # the cut lasts longer than the renewer's period: one renewal fails
        await proxy.restore()
        await reply_saying(slack, "Added")

        # When the next add takes longer than two lease periods
        kaleyra.answer_number(E164, doc.V2_ADD_OK, delay=2 * LEASE + 1)
        await add_number(person, slack)

        # Then its answer is recorded as it came, and no reply called it interrupted
        await until(lambda: len([r for r in thread_replies(slack) if "Added" in text_of(r)]) == 2, timeout=15)
        number = await the_number(person.bot.store)
        [operation] = await person.bot.store.history(number.id)
        assert (operation.outcome, number.state) == (Outcome.OK, State.AWAITING_OTP)
        assert not [r for r in thread_replies(slack) if "interrupted" in text_of(r).lower()]


async def add_number_as(person: Person, slack: SlackStandIn, typed: str) -> None:
    await person.command("/wa-add", f"{typed} Acme Support")
    form = await person.opened_view("wa_add")
    slack.views.clear()  # the next add's form is found anew
    status, body = await person.submit(form, {})
    assert (status, body) == (200, None)


async def test_retry_is_refused_while_the_replica_that_sent_the_add_still_waits_for_its_answer(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    proxy: TcpProxy,
    postgres_url: str,
    empty: None,
) -> None:
    timings = {"wa_bot_lease_seconds": LEASE, "wa_bot_sweep_seconds": SWEEP}
    cut_off = settings_for(database_url=through(proxy, postgres_url), **timings)
    direct = settings_for(database_url=postgres_url, **timings)
    async with running(cut_off, slack) as a, running(direct, slack) as b:
        # Given replica A's add in flight, and A cut from the database for longer than the lease
        kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=6)
        await add_number(a, slack)
        await kaleyra.wait_for_requests(1)
        await proxy.cut()

        # When replica B's sweeper reports it interrupted, and A comes back while still waiting for Kaleyra
        interrupted = await reply_saying(slack, "nterrupted")
        await proxy.restore()
        operation_id = (await b.bot.store.history((await the_number(b.bot.store)).id))[0].id

        async def renewed() -> bool:
            operation = await b.bot.store.operation(operation_id)
            return operation is not None and (operation.lease_until or utcnow()) > utcnow()

        await until(renewed)

        # Then Retry (through B) is refused with the reason, and nothing is sent again
        await b.click(interrupted["blocks"], "retry")
        refusal = await slack.wait_for(
            "response_url:button", lambda c: "still waiting" in c.args.get("text", "")
        )
        assert "alive" in refusal.args["text"]
        # And A's answer, when it comes, wins over "interrupted", and the thread says so
        late = await reply_saying(slack, "reported interrupted")
        assert f"`{PHONE_NUMBER_ID}`" in text_of(late)
        number = await the_number(b.bot.store)
        [operation] = await b.bot.store.history(number.id)
        assert (operation.outcome, number.state) == (Outcome.OK, State.AWAITING_OTP)
        assert adds(kaleyra) == 1
