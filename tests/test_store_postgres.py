"""The store on PostgreSQL (a fresh database per run at WA_BOT_TEST_DATABASE_URL) and on SQLite, checked alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CHANNEL, OPERATOR, running
from sqlalchemy import text, update
from standins import KaleyraStandIn, SlackStandIn

from bot.settings import Settings
from bot.store import Base, NumberState, Operation, Outcome, Store, utcnow


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    async with store.engine.begin() as connection:  # every test starts from empty tables
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await store.migrate()
    yield store
    await store.close()


async def a_number(store: Store, e164: str = "+919876543210", **fields: Any) -> int:
    number = await store.start_number(
        account="kaleyra", e164=e164, user_id=OPERATOR, channel_id=CHANNEL, **fields
    )
    return number.id


async def test_ping_and_migrate_twice(store: Store) -> None:
    await store.ping()
    assert await store.migrate() == await store.current_revision()  # a second start changes nothing


async def test_start_number_creates_then_reuses_the_row(store: Store) -> None:
    first = await store.start_number(
        account="kaleyra",
        e164="+919876543210",
        user_id=OPERATOR,
        channel_id=CHANNEL,
        display_name="Acme Support",
        verification_type="SMS",
    )
    assert (first.state, first.display_name, first.verification_type, first.profile) == (
        NumberState.ADDING,
        "Acme Support",
        "SMS",
        {},
    )
    assert first.created_by == OPERATOR and first.thread_ts is None

    again = await store.start_number(
        account="kaleyra",
        e164="+919876543210",
        user_id="U0OTHER",
        channel_id="C0OTHER",
        state=NumberState.AWAITING_OTP,
    )
    assert again.id == first.id
    assert (again.state, again.display_name, again.verification_type) == (
        NumberState.AWAITING_OTP,
        "Acme Support",
        "SMS",
    )
    assert (again.created_by, again.channel_id) == (OPERATOR, CHANNEL)  # the thread stays where it began

    assert await a_number(store) == first.id
    elsewhere = await store.start_number(
        account="meta", e164="+919876543210", user_id=OPERATOR, channel_id=CHANNEL
    )
    assert elsewhere.id != first.id
    assert [n.account for n in await store.numbers_with("+919876543210")] == ["kaleyra", "meta"]


async def test_change_sets_fields_and_refuses_unknown_numbers(store: Store) -> None:
    number_id = await a_number(store)
    profile = {"address": "EGL, Bengaluru", "about": "Nous répondons vite ✓", "category": "OTHER"}

    changed = await store.change(
        number_id,
        state=NumberState.VERIFIED,
        phone_number_id="7654XXXXXXXXXX",
        thread_ts="1.2",
        profile=profile,
    )

    assert changed.state == NumberState.VERIFIED
    read = await store.number(number_id)
    assert read is not None
    assert (read.phone_number_id, read.thread_ts, read.profile) == ("7654XXXXXXXXXX", "1.2", profile)
    with pytest.raises(LookupError):
        await store.change(number_id + 1000, state=NumberState.FAILED)
    assert await store.number(number_id + 1000) is None


async def test_begin_finish_and_history_newest_first(store: Store) -> None:
    number_id = await a_number(store)
    add = await store.begin(number_id, OPERATOR, "add", {"phone_number": "9876543210", "country_code": "+91"})
    await store.finish(add, Outcome.OK, code="WA200", response={"data": "7654XXXXXXXXXX"})
    verify = await store.begin(number_id, OPERATOR, "verify", {"id": "7654XXXXXXXXXX"})
    await store.finish(
        verify,
        Outcome.FAILED,
        code="WA400",
        message="Incorrect OTP format",
        response={"field_errors": {}, "http_status": 400},
    )
    update_id = await store.begin(number_id, "U0OTHER", "update", {"address": "EGL"})

    history = await store.history(number_id)

    assert [(o.id, o.action, o.outcome) for o in history] == [
        (update_id, "update", Outcome.PENDING),
        (verify, "verify", Outcome.FAILED),
        (add, "add", Outcome.OK),
    ]
    newest, failed, first = history
    assert newest.finished_at is None and newest.user_id == "U0OTHER"
    assert (failed.provider_code, failed.provider_message, failed.response) == (
        "WA400",
        "Incorrect OTP format",
        {"field_errors": {}, "http_status": 400},
    )
    assert first.request == {"phone_number": "9876543210", "country_code": "+91"}
    assert first.finished_at is not None and first.finished_at >= first.requested_at
    assert [o.id for o in await store.history(number_id, limit=2)] == [update_id, verify]


async def test_numbers_lists_the_latest_changed_first_with_the_total(store: Store) -> None:
    first = await a_number(store, "+919876543210")
    second = await a_number(store, "+919876543211")
    third = await a_number(store, "+919876543212")
    await store.change(first, state=NumberState.VERIFIED)

    listed, total = await store.numbers(limit=2)

    assert total == 3
    assert [n.id for n in listed] == [first, third]
    everything, _ = await store.numbers(limit=10)
    assert [n.id for n in everything] == [first, third, second]


async def test_interrupt_stale_marks_only_old_pending_operations(store: Store) -> None:
    number_id = await a_number(store)
    old_pending = await store.begin(number_id, OPERATOR, "add", {"phone_number": "9876543210"})
    old_done = await store.begin(number_id, OPERATOR, "verify", {"id": "x"})
    await store.finish(old_done, Outcome.OK, code="WA200")
    fresh_pending = await store.begin(number_id, OPERATOR, "update", {"address": "EGL"})
    ten_minutes_ago = utcnow() - timedelta(minutes=10)
    async with store.engine.begin() as connection:
        await connection.execute(
            update(Operation)
            .where(Operation.id.in_([old_pending, old_done]))
            .values(requested_at=ten_minutes_ago)
        )

    stale = await store.interrupt_stale(timedelta(minutes=2))

    assert [o.id for o in stale] == [old_pending]
    outcomes = {o.id: o.outcome for o in await store.history(number_id)}
    assert outcomes == {
        old_pending: Outcome.INTERRUPTED,
        old_done: Outcome.OK,
        fresh_pending: Outcome.PENDING,
    }
    assert await store.interrupt_stale(timedelta(minutes=2)) == []  # reported once, not at every start


async def test_claim_otp_request_is_exclusive_under_concurrency(store: Store) -> None:
    number_id = await a_number(store)

    claims = await asyncio.gather(
        *(store.claim_otp_request(number_id, timedelta(seconds=60)) for _ in range(10))
    )

    assert sorted(claims) == [False] * 9 + [True]
    assert await store.claim_otp_request(number_id, timedelta(seconds=60)) is False
    assert await store.claim_otp_request(number_id, timedelta(0)) is True  # after the cool-down, again
    await store.change(number_id, otp_requested_at=None)  # a failed request frees it
    assert await store.claim_otp_request(number_id, timedelta(seconds=60)) is True
    assert await store.claim_otp_request(number_id + 1000, timedelta(0)) is False


async def test_two_replicas_on_postgresql_claim_once_between_them(postgres_url: str) -> None:
    replicas = [Store(postgres_url), Store(postgres_url)]
    try:
        await replicas[0].migrate()
        number_id = await a_number(replicas[0], f"+9198765{uuid.uuid4().int % 100000:05d}")
        claims = await asyncio.gather(
            *(replicas[i % 2].claim_otp_request(number_id, timedelta(seconds=60)) for i in range(20))
        )
        assert claims.count(True) == 1
    finally:
        for replica in replicas:
            await replica.close()


async def test_replicas_starting_together_report_each_stale_operation_once(postgres_url: str) -> None:
    replicas = [Store(postgres_url) for _ in range(4)]
    try:
        await replicas[0].migrate()
        number_id = await a_number(replicas[0], f"+9198764{uuid.uuid4().int % 100000:05d}")
        operation_ids = [await replicas[0].begin(number_id, OPERATOR, "add", {"n": i}) for i in range(5)]
        async with replicas[0].engine.begin() as connection:
            await connection.execute(
                update(Operation)
                .where(Operation.id.in_(operation_ids))
                .values(requested_at=utcnow() - timedelta(minutes=10))
            )

        await asyncio.gather(*(r.ping() for r in replicas))  # connected, so they really start together
        reported = await asyncio.gather(*(r.interrupt_stale(timedelta(minutes=2)) for r in replicas))

        assert sorted(o.id for batch in reported for o in batch) == operation_ids
    finally:
        for replica in replicas:
            await replica.close()


# --- a journey on PostgreSQL ---


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section")


async def test_add_and_verify_through_slack_on_postgresql(
    postgres_url: str, settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    e164_national = f"98765{uuid.uuid4().int % 100000:05d}"
    async with running(settings_for(database_url=postgres_url), slack) as person:
        await person.command("/wa-add", f"+91 {e164_national} Acme Support")
        status, body = await person.submit(await person.opened_view("wa_add"), {})
        assert (status, body) == (200, None)
        reply = (await slack.wait_for("chat.postMessage", lambda c: "Added" in text_of(c.args))).args

        await person.click(reply["blocks"], "enter_otp")
        status, body = await person.submit(await person.opened_view("wa_verify"), {"otp": "123 456"})
        assert status == 200 and body["response_action"] == "update"
        await slack.wait_for("chat.postMessage", lambda c: "Verified" in text_of(c.args))

        [number] = await person.bot.store.numbers_with(f"+91{e164_national}")
        history = await person.bot.store.history(number.id)

    assert [r.operation for r in kaleyra.requests] == ["v2_add", "v2_verify"]
    assert (number.state, number.phone_number_id, number.thread_ts) == (
        NumberState.VERIFIED,
        "7654XXXXXXXXXX",
        reply["thread_ts"],
    )
    assert [(o.action, o.outcome) for o in history] == [("verify", Outcome.OK), ("add", Outcome.OK)]
    assert "otp" not in history[0].request
