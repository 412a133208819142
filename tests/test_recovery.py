"""After a crash: operations left pending are reported in their thread at the next start and marked interrupted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from conftest import CHANNEL, OPERATOR, free_port
from sqlalchemy import update
from standins import SlackStandIn

from bot.server import Bot, build, serve
from bot.settings import Settings
from bot.store import NumberState, Operation, Outcome, utcnow

ADD_REQUEST = {
    "phone_number": "9876543210",
    "name": "Acme Support",
    "verification_type": "SMS",
    "country_code": "+91",
}


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section")


@contextlib.asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Bot]:
    bot = await build(settings)
    try:
        yield bot
    finally:
        await bot.close()


async def crash_during_add(settings: Settings) -> tuple[int, int]:
    """A first run that recorded an add and died before Kaleyra answered: the number and the operation."""
    async with started(settings) as bot:
        number = await bot.store.start_number(
            account="kaleyra",
            e164="+919876543210",
            user_id=OPERATOR,
            channel_id=CHANNEL,
            display_name="Acme Support",
            verification_type="SMS",
        )
        operation_id = await bot.store.begin(number.id, OPERATOR, "add", ADD_REQUEST)
    return number.id, operation_id


async def age(bot: Bot, operation_id: int, minutes: int) -> None:
    async with bot.store.engine.begin() as connection:
        await connection.execute(
            update(Operation)
            .where(Operation.id == operation_id)
            .values(requested_at=utcnow() - timedelta(minutes=minutes))
        )


async def test_an_add_cut_short_is_reported_in_a_new_thread(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    settings = settings_for()
    number_id, operation_id = await crash_during_add(settings)

    async with started(settings) as bot:
        recovered = await bot.onboarding.recover(older_than=timedelta(0))

        number = await bot.store.number(number_id)
        [operation] = await bot.store.history(number_id)

    assert recovered == 1
    parent, reply = (c.args for c in slack.calls_of("chat.postMessage"))
    assert parent["channel"] == CHANNEL and "thread_ts" not in parent
    assert "+919876543210" in text_of(parent)
    assert reply["channel"] == CHANNEL and reply["thread_ts"] == number.thread_ts  # type: ignore[union-attr]
    assert "Interrupted" in text_of(reply) and f"<@{OPERATOR}>" in text_of(reply)
    assert "/wa-numbers" in text_of(reply)
    assert "Failed" in text_of(slack.calls_of("chat.update")[-1].args)

    assert (operation.id, operation.outcome) == (operation_id, Outcome.INTERRUPTED)
    assert operation.finished_at is not None
    assert operation.request == ADD_REQUEST  # what the person typed is still there
    assert number is not None and number.state == NumberState.FAILED
    assert (number.display_name, number.verification_type) == ("Acme Support", "SMS")


async def test_a_verify_cut_short_is_reported_in_the_numbers_thread(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    settings = settings_for()
    async with started(settings) as bot:
        number = await bot.store.start_number(
            account="kaleyra",
            e164="+919876543210",
            user_id=OPERATOR,
            channel_id=CHANNEL,
            state=NumberState.AWAITING_OTP,
        )
        await bot.store.change(number.id, phone_number_id="7654XXXXXXXXXX", thread_ts="1690000000.000100")
        await bot.store.begin(
            number.id, "U0OTHER", "verify", {"id": "7654XXXXXXXXXX", "phone_number": "+919876543210"}
        )

    async with started(settings) as bot:
        assert await bot.onboarding.recover(older_than=timedelta(0)) == 1
        after = await bot.store.number(number.id)
        [operation] = await bot.store.history(number.id)

    [reply] = [c.args for c in slack.calls_of("chat.postMessage")]  # no second parent message
    assert (reply["channel"], reply["thread_ts"]) == (CHANNEL, "1690000000.000100")
    assert "Interrupted" in text_of(reply) and "<@U0OTHER>" in text_of(reply)
    assert after is not None and after.state == NumberState.AWAITING_OTP  # the code may still be entered
    assert operation.outcome == Outcome.INTERRUPTED
    assert operation.request == {"id": "7654XXXXXXXXXX", "phone_number": "+919876543210"}


async def test_only_operations_older_than_the_grace_period_count(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    settings = settings_for()
    _, operation_id = await crash_during_add(settings)

    async with started(settings) as bot:
        # Just begun: perhaps another replica is still waiting for Kaleyra.
        assert await bot.onboarding.recover() == 0
        assert slack.calls_of("chat.postMessage") == []
        await age(bot, operation_id, minutes=5)
        assert await bot.onboarding.recover() == 1
        assert await bot.onboarding.recover() == 0  # reported once

    assert len([c for c in slack.calls_of("chat.postMessage") if c.args.get("thread_ts")]) == 1


async def test_recovery_survives_slack_refusing_every_post(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    settings = settings_for()
    number_id, _ = await crash_during_add(settings)
    slack.fail("chat.postMessage", "channel_not_found")

    async with started(settings) as bot:
        assert await bot.onboarding.recover(older_than=timedelta(0)) == 1
        [operation] = await bot.store.history(number_id)

    assert operation.outcome == Outcome.INTERRUPTED
    assert operation.request == ADD_REQUEST


async def test_the_real_start_reports_interrupted_operations(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    port = free_port()
    settings = settings_for(host="127.0.0.1", port=port)
    number_id, operation_id = await crash_during_add(settings)
    async with started(settings) as bot:
        await age(bot, operation_id, minutes=5)

    task = asyncio.create_task(serve(settings))
    try:
        reply = await slack.wait_for("chat.postMessage", lambda c: "Interrupted" in text_of(c.args))
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the bot did not serve /healthz after recovering")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert reply.args["channel"] == CHANNEL
    async with started(settings) as bot:
        [operation] = await bot.store.history(number_id)
    assert operation.outcome == Outcome.INTERRUPTED
