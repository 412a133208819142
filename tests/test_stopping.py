"""Stopping a real wa-bot process: SIGTERM ends it within 20 s whatever is in flight (one deadline shared by
every step of the stop), and what was in flight is handed to the sweeper (its lease released), not left to run
out."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import test_bulk as bulk
from conftest import Person, free_port
from sqlalchemy import select
from standins import KaleyraStandIn, SlackStandIn
from test_startup import stand_in_env, wait_healthy
from test_v2_failures import add_number

from bot.store import Batch, Operation, Outcome, Store, utcnow

# The bot with a stop of 4 s, 1 of them for the handover, so the test takes seconds; all else is `python -m bot`.
SHORT_STOP = (
    "import bot.app; bot.app.STOP_SECONDS, bot.app.HANDOVER_SECONDS = 4.0, 1.0; "
    "from bot.__main__ import main; main()"
)
NEVER = 60.0  # Kaleyra's answer comes after the stop, however long it takes


async def stopped_with_work_in_flight(
    tmp_path: Path,
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    arguments: list[str],
    work: Callable[[Person], Awaitable[int]],
) -> tuple[int, float, str]:
    """Start `python *arguments`, have `work` send adds that Kaleyra never answers (it returns how many calls
    to wait for), SIGTERM the process once Kaleyra has them; its status, the seconds from the signal to its end,
    and everything it printed."""
    kaleyra.delay_seconds = NEVER
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *arguments,
        cwd=tmp_path,
        env=stand_in_env(tmp_path, slack, kaleyra, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=15)
        calls = await work(Person(f"http://127.0.0.1:{port}/slack/events", slack, None))  # type: ignore[arg-type]
        await kaleyra.wait_for_requests(calls)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        output, _ = await asyncio.wait_for(process.communicate(), timeout=40)
        took = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, took, output.decode()


async def one_add(person: Person) -> int:
    await add_number(person, person.slack)
    return 1


async def an_add_and_a_bulk_add(person: Person) -> int:
    await add_number(person, person.slack)
    view = await bulk.open_bulk_modal(person)
    status, answer = await person.submit(view, {"numbers": bulk.pasted(range(1))})
    assert (status, answer) == (200, None)
    return 2


async def leases_left(tmp_path: Path) -> tuple[list[tuple[str, datetime | None]], list[datetime | None]]:
    """Each operation's outcome and lease, and each batch's lease, as the stopped process left them."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        async with store.engine.connect() as connection:
            operations = await connection.execute(select(Operation.outcome, Operation.lease_until))
            batches = await connection.execute(select(Batch.lease_until))
            return [(o, until) for o, until in operations], [until for (until,) in batches]
    finally:
        await store.close()


def released(until: datetime | None) -> bool:
    return until is not None and until < utcnow()


async def test_sigterm_waits_for_an_add_until_the_deadline_then_hands_it_over(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    status, took, output = await stopped_with_work_in_flight(
        tmp_path, slack, kaleyra, ["-c", SHORT_STOP], one_add
    )

    # Then the add had its 3 s to finish, and the process was gone by the deadline (a little margin for the exit)
    assert status == 0, output
    assert 3.0 <= took < 4.0 + 1.0, f"stopped {took:.1f} s after SIGTERM; it printed:\n{output}"
    # …and the add is the sweeper's now, not in 45 s when its lease would have run out; the log says so
    [(outcome, lease_until)], _ = await leases_left(tmp_path)
    assert outcome == Outcome.PENDING and released(lease_until), output
    assert "operation 1 handed to the sweeper" in output
    assert "Traceback" not in output


async def test_sigterm_ends_the_process_within_20_s_with_an_add_and_a_bulk_add_hanging(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # The real default: each step of the stop waited its own 15 s before, one after the other
    status, took, output = await stopped_with_work_in_flight(
        tmp_path, slack, kaleyra, ["-m", "bot"], an_add_and_a_bulk_add
    )

    assert status == 0, output
    assert took < 20.0, f"stopped {took:.1f} s after SIGTERM; it printed:\n{output}"
    # Both adds (the bulk line's too) and the batch are handed over
    operations, batches = await leases_left(tmp_path)
    assert [outcome for outcome, _ in operations] == [Outcome.PENDING] * 2
    assert all(released(until) for _, until in operations), output
    assert len(batches) == 1 and released(batches[0]), output
    assert "Traceback" not in output
