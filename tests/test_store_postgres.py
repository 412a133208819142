"""The store on PostgreSQL (a fresh database per run at WA_BOT_TEST_DATABASE_URL) and on SQLite, checked alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import CHANNEL, OPERATOR, running, seed_number
from sqlalchemy import text, update
from standins import KaleyraStandIn, SlackStandIn

from bot.lifecycle.states import Move, State, keep_state, stay_awaiting, to
from bot.lifecycle.usecases import HOME_ORDER
from bot.settings import Settings
from bot.store import DuplicateIntent, Lease, MoveRefused, Operation, Outcome, Store, utcnow


def lease() -> Lease:
    return Lease("test-replica", utcnow() + timedelta(seconds=45))


async def start_add(store: Store, intent: str | None, e164: str = "+919876543210", **fields: Any) -> Any:
    return await store.start(
        account="kaleyra",
        e164=e164,
        user_id=OPERATOR,
        channel_id=CHANNEL,
        intent=intent,
        action="add",
        request={"phone_number": e164[3:], "country_code": e164[:3]},
        lease=lease(),
        transition=to(Move.START_ADD, **fields),
    )


async def test_ping_and_migrate_twice(store: Store) -> None:
    await store.ping()
    assert await store.migrate() == await store.current_revision()  # a second start changes nothing


async def test_an_add_creates_the_row_then_a_second_add_of_a_live_number_is_refused(store: Store) -> None:
    number, operation = await start_add(store, "view:V1:h1", display_name="Acme")
    assert (number.state, number.display_name, operation.intent) == (State.ADDING, "Acme", "view:V1:h1")

    with pytest.raises(MoveRefused) as refused:
        await start_add(store, "view:V2:h1", display_name="Other")
    assert refused.value.number.state == State.ADDING  # the store refused: nothing changed
    assert (await store.number(number.id)).display_name == "Acme"  # type: ignore[union-attr]
    assert [o.intent for o in await store.history(number.id)] == ["view:V1:h1"]


async def test_the_same_intent_twice_is_refused_whatever_the_state(store: Store) -> None:
    number, operation = await start_add(store, "view:V1:h1")
    await store.finish(
        operation.id, Outcome.FAILED, code="WA400", number_id=number.id, transition=to(Move.ADD_FAILED)
    )

    with pytest.raises(DuplicateIntent) as duplicate:
        await start_add(store, "view:V1:h1")  # a failed number may be added again, but not by the same intent
    assert duplicate.value.operation.id == operation.id
    assert (await store.number(number.id)).state == State.FAILED  # type: ignore[union-attr]


async def test_concurrent_adds_of_one_number_make_exactly_one_winner(store: Store) -> None:
    intents = [f"view:V{i}:h" for i in range(6)] + ["view:V0:h"] * 4  # six intents, one of them five times
    results = await asyncio.gather(*(start_add(store, intent) for intent in intents), return_exceptions=True)

    started = [r for r in results if not isinstance(r, BaseException)]
    assert len(started) == 1, results
    assert all(isinstance(r, MoveRefused | DuplicateIntent) for r in results if isinstance(r, BaseException))


async def test_a_late_answer_moves_an_unknown_add_but_a_failure_does_not(store: Store) -> None:
    number, _ = await start_add(store, "view:V1:h1")
    assert await store.move(number.id, to(Move.ADD_UNKNOWN)) is not None
    assert await store.move(number.id, to(Move.ADD_FAILED)) is None  # refused: unknown is not adding
    moved = await store.move(number.id, to(Move.AWAIT_OTP, phone_number_id="7654XXXXXXXXXX"))
    assert moved is not None and (moved.state, moved.phone_number_id) == (
        State.AWAITING_OTP,
        "7654XXXXXXXXXX",
    )


async def test_the_sweeper_takes_only_expired_leases_and_moves_adds_to_unknown(store: Store) -> None:
    _, add_op = await start_add(store, "i1", "+919876543210")
    _, fresh_op = await start_add(store, "i2", "+919876543211")
    async with store.engine.begin() as connection:
        await connection.execute(
            update(Operation)
            .where(Operation.id == add_op.id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )

    swept = await store.sweep(to(Move.ADD_UNKNOWN))

    assert [(o.id, o.outcome, n.state) for o, n in swept] == [(add_op.id, Outcome.INTERRUPTED, State.UNKNOWN)]
    assert (await store.operation(fresh_op.id)).outcome == Outcome.PENDING  # type: ignore[union-attr]
    assert await store.sweep(to(Move.ADD_UNKNOWN)) == []  # reported once


async def start_resend(store: Store, intent: str, cooldown: timedelta) -> Any:
    return await store.start(
        account="kaleyra",
        e164="+919876543210",
        user_id=OPERATOR,
        channel_id=CHANNEL,
        intent=intent,
        action="resend",
        request={},
        lease=lease(),
        transition=stay_awaiting(cooldown=cooldown),
    )


async def test_a_code_is_claimed_once_per_cooldown_and_only_with_a_new_intent(store: Store) -> None:
    number, _ = await start_add(store, "i1")
    await store.move(number.id, to(Move.AWAIT_OTP, phone_number_id="7654XXXXXXXXXX"))
    minute = timedelta(seconds=60)
    claims = await asyncio.gather(
        *(start_resend(store, f"click:{i}", minute) for i in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(claim, BaseException) for claim in claims) == 1
    assert all(isinstance(claim, MoveRefused) for claim in claims if isinstance(claim, BaseException))

    claimed_at = (await store.number(number.id)).otp_requested_at  # type: ignore[union-attr]
    # The click that won, delivered again, is a duplicate: it claims no new cool-down.
    winner = next(f"click:{i}" for i, claim in enumerate(claims) if not isinstance(claim, BaseException))
    with pytest.raises(DuplicateIntent):
        await start_resend(store, winner, timedelta(0))
    assert (await store.number(number.id)).otp_requested_at == claimed_at  # type: ignore[union-attr]
    await start_resend(store, "click:later", timedelta(0))  # a cool-down that has passed: claimed again


async def test_two_replicas_on_postgresql_start_one_add_between_them(postgres_url: str) -> None:
    replicas = [Store(postgres_url), Store(postgres_url)]
    try:
        await replicas[0].migrate()
        e164 = f"+9198765{uuid.uuid4().int % 100000:05d}"
        intent = f"view:{uuid.uuid4().hex}:h"
        await asyncio.gather(*(r.ping() for r in replicas))
        results = await asyncio.gather(
            *(start_add(replicas[i % 2], intent if i < 10 else f"{intent}{i}", e164) for i in range(20)),
            return_exceptions=True,
        )
        assert len([r for r in results if not isinstance(r, BaseException)]) == 1, results
    finally:
        for replica in replicas:
            await replica.close()


async def test_replicas_sweeping_together_report_each_expired_operation_once(postgres_url: str) -> None:
    replicas = [Store(postgres_url) for _ in range(4)]
    try:
        await replicas[0].migrate()
        operation_ids = []
        for _ in range(5):
            _, operation = await start_add(
                replicas[0], uuid.uuid4().hex, f"+9198764{uuid.uuid4().int % 100000:05d}"
            )
            operation_ids.append(operation.id)
        async with replicas[0].engine.begin() as connection:
            await connection.execute(
                update(Operation)
                .where(Operation.id.in_(operation_ids))
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )

        await asyncio.gather(*(r.ping() for r in replicas))  # connected, so they really sweep together
        swept = await asyncio.gather(*(r.sweep(to(Move.ADD_UNKNOWN), limit=2) for r in replicas))
        swept += await asyncio.gather(*(r.sweep(to(Move.ADD_UNKNOWN)) for r in replicas))

        reported = [o.id for batch in swept for o, _ in batch]
        assert len(reported) == len(set(reported))  # each once, whichever replica took it
        assert set(operation_ids) <= set(reported)
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
        State.VERIFIED,
        "7654XXXXXXXXXX",
        reply["thread_ts"],
    )
    assert [(o.action, o.outcome) for o in history] == [("verify", Outcome.OK), ("add", Outcome.OK)]
    assert "otp" not in history[0].request


async def test_numbers_by_state_ranks_states_then_recency_and_counts_every_state(store: Store) -> None:
    old = utcnow() - timedelta(hours=2)
    await seed_number(store, "kaleyra", "+919800000001", State.VERIFIED)
    await seed_number(store, "kaleyra", "+919800000002", State.AWAITING_OTP, updated_at=old)
    await seed_number(store, "kaleyra", "+919800000003", State.AWAITING_OTP)
    await seed_number(store, "kaleyra", "+919800000004", State.FAILED)
    await seed_number(store, "kaleyra", "+919800000005", State.NEW)

    numbers, counts = await store.numbers_by_state(HOME_ORDER, 3)

    assert [n.e164[-1] for n in numbers] == ["3", "2", "4"]
    assert counts == {State.AWAITING_OTP: 2, State.FAILED: 1, State.VERIFIED: 1}


async def test_a_listener_read_after_postgresql_dropped_its_connections_still_answers(
    postgres_url: str,
) -> None:
    """The reads before an acknowledgement skip the ping: a connection the server closed is replaced at once."""
    store = Store(postgres_url)
    try:
        await store.migrate()
        await seed_number(store, "kaleyra", "+919876543210", State.AWAITING_OTP)
        assert (await store.find("kaleyra", "+919876543210")) is not None  # its connection is now pooled
        async with store.engine.connect() as connection:  # as a restart would: every other session ends
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        found = await store.find("kaleyra", "+919876543210")
        assert found is not None and found.state == State.AWAITING_OTP
        assert [n.e164 for n in await store.numbers_with("+919876543210")] == ["+919876543210"]
    finally:
        await store.close()


async def test_finds_asked_together_each_get_their_own_number(store: Store) -> None:
    """A burst of reads before acknowledgements goes to the store together; each asker gets its own answer,
    and one that gives up early takes nobody else's answer with it."""
    for i in range(5):
        await seed_number(
            store, "kaleyra", f"+91987654321{i}", State.AWAITING_OTP if i % 2 else State.VERIFIED
        )
    asked = [("kaleyra", f"+91987654321{i % 8}") for i in range(40)] + [("meta", "+919876543210")]
    impatient = asyncio.ensure_future(asyncio.wait_for(store.find("kaleyra", "+919876543211"), 0))
    answers = await asyncio.gather(*(store.find(account, e164) for account, e164 in asked))
    for (account, e164), number in zip(asked, answers, strict=True):
        if account == "kaleyra" and int(e164[-1]) < 5:
            assert number is not None and (number.account, number.e164) == (account, e164)
            assert number.state == (State.AWAITING_OTP if int(e164[-1]) % 2 else State.VERIFIED)
        else:
            assert number is None
    with pytest.raises(TimeoutError):
        await impatient


async def test_two_updates_finishing_at_once_keep_both_changes(store: Store) -> None:
    number, _ = await start_add(store, "i1")
    changes = [{"about": "We answer fast"}, {"email": "ops@example.com"}, {"website": "https://example.com"}]
    operations = []
    for i in range(len(changes)):
        _, operation = await store.start(
            account="kaleyra",
            e164=number.e164,
            user_id=OPERATOR,
            channel_id=CHANNEL,
            intent=f"update:{i}",
            action="update",
            request={},
            lease=lease(),
        )
        operations.append(operation)

    # When their answers are recorded at the same moment, each merging only what it changed
    await asyncio.gather(
        *(
            store.finish(op.id, Outcome.OK, number_id=number.id, transition=keep_state(profile=change))
            for op, change in zip(operations, changes, strict=True)
        )
    )

    # Then the stored profile holds every change
    assert (await store.number(number.id)).profile == {k: v for c in changes for k, v in c.items()}  # type: ignore[union-attr]


async def test_an_answer_never_overwrites_a_finished_outcome(store: Store) -> None:
    number, operation = await start_add(store, "i1")
    first = await store.finish(operation.id, Outcome.OK, code="WA200", number_id=number.id)
    again = await store.finish(operation.id, Outcome.UNKNOWN, code="BOT_ERROR", number_id=number.id)
    assert (first.recorded, first.was, again.recorded, again.was) == (
        True,
        Outcome.PENDING,
        False,
        Outcome.OK,
    )
    stored = await store.operation(operation.id)
    assert (stored.outcome, stored.provider_code) == (Outcome.OK, "WA200")  # type: ignore[union-attr]
