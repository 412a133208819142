"""The wiring (bot/app.py): build() returns the bot running, each resource's stop registered beside its start;
close() unwinds them in reverse within one deadline; the use-cases' parts are injected, not reached through."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
from conftest import ROOT, seed_number, seed_operation
from standins import KaleyraStandIn, SlackStandIn
from test_v2_failures import E164, reply_saying

from bot.app import Deadline, Stop, build
from bot.lifecycle.states import State
from bot.settings import Settings
from bot.store import Outcome, utcnow


def background_loops() -> list[str]:
    """The names of wa-bot's background loops still running (bot/background.py names their tasks)."""
    return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("wa-bot: ") and not t.done()]


async def test_build_returns_the_bot_running_and_close_stops_all_it_started(
    settings_for: Callable[..., Settings], slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    settings = settings_for(wa_bot_sweep_seconds=0.1, wa_bot_allowed_usergroups="S0OPS")
    bot = await build(settings, backoff_seconds=0.01)
    try:
        # Given an add a stopped process left behind (its lease has run out)
        number = await seed_number(bot.store, "kaleyra", E164, State.ADDING, thread_ts="1700000000.000900")
        await seed_operation(
            bot.store, number.id, "add", Outcome.PENDING, lease_owner="dead-replica", lease_until=utcnow()
        )
        # Then, with nothing more than build(), the sweeper reports it and the outbox delivers the reply
        await reply_saying(slack, "Interrupted")
        running = background_loops()
        assert {"wa-bot: sweeper", "wa-bot: outbox", "wa-bot: lease renewal"} <= set(running)
        assert "wa-bot: user groups refresh" in running
    finally:
        await bot.close(5)
    # And close() stopped every loop and closed both sessions
    assert background_loops() == []
    assert bot.slack_session.closed and bot.session.closed


async def test_a_stop_step_that_hangs_is_cut_off_at_the_deadline_and_the_earlier_ones_still_run() -> None:
    ran: list[str] = []

    async def step(name: str, hangs: bool = False) -> None:
        ran.append(name)
        if hangs:
            await asyncio.Event().wait()  # a store that never answers

    stop = Stop(AsyncExitStack())
    stop.then(lambda: step("store closed"))  # started first, so stopped last
    stop.then(lambda: step("outbox flushed", hangs=True))
    stop.then(lambda: step("leases released"))
    stop.deadline = Deadline(0.3)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(TimeoutError):
        await stop.stack.aclose()

    assert ran == ["leases released", "outbox flushed", "store closed"]
    assert loop.time() - began < 0.3 + 0.2


def test_nothing_reaches_through_the_use_cases_to_their_metrics_store_or_leases() -> None:
    # They are built in bot/app.py and handed to whoever needs them (Bulk, the web side)
    reach = re.compile(r"\bnumbers\.(metrics|store|leases)\b")
    sources = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]
    found = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sources
        for line in path.read_text().splitlines()
        if reach.search(line)
    ]
    assert found == []
