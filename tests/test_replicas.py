"""Two real wa-bot processes (`python -m bot`) on one PostgreSQL: work begun on one replica is finished on the
other, one request delivered to both makes one provider call, a replica killed mid-add is reported by the
other's sweeper, and a bulk add on a killed replica is finished by the other, or on a replica cut from the
database, which lets the batch go once the other has taken it over.

Each test gets a fresh database and its own two processes, pointed at the in-process Slack and Kaleyra
stand-ins, with short leases so a dead replica is found within about a second and a half.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import test_bulk as bulk
from conftest import CHANNEL, SIGNING_SECRET, Person, a_postgres_database, free_port, running
from sqlalchemy.engine import make_url
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from standins._server import wait_until
from standins.tcp_proxy import TcpProxy
from test_startup import stand_in_env, wait_healthy
from test_v2_failures import (
    E164,
    NUMBER_AS_TYPED,
    PHONE_NUMBER_ID,
    buttons_of,
    reply_saying,
    text_of,
    thread_replies,
)

from bot.lifecycle.states import State
from bot.settings import Settings
from bot.slack.signing import signed_headers
from bot.store import Number, Operation, Outcome, Store, utcnow

LEASE_SECONDS = 1.0
SWEEP_SECONDS = 0.5
FORM = "application/x-www-form-urlencoded"


@dataclass
class Replica:
    """One `python -m bot` process serving on its own port; what it printed goes to `log`."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path
    slack: SlackStandIn

    @property
    def person(self) -> Person:
        """The operator, talking to this replica only."""
        return Person(f"http://127.0.0.1:{self.port}/slack/events", self.slack, None)  # type: ignore[arg-type]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_healthy(self) -> None:
        try:
            await wait_healthy(f"http://127.0.0.1:{self.port}/healthz", self.process, timeout=15)
        except AssertionError as error:
            raise AssertionError(f"replica {self.name}: {error}; it printed:\n{self.output()}") from None

    async def stop(self) -> int:
        """SIGTERM, as an orchestrator stops a replica; SIGKILL if it is still running 10 s later."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def start_replica(
    name: str, tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn, replicas_database: str
) -> Replica:
    port = free_port()
    env = stand_in_env(tmp_path, slack, kaleyra, port) | {
        "DATABASE_URL": replicas_database,
        "WA_BOT_LEASE_SECONDS": str(LEASE_SECONDS),
        "WA_BOT_SWEEP_SECONDS": str(SWEEP_SECONDS),
    }
    log = tmp_path / f"replica-{name}.log"
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    return Replica(name, port, process, log, slack)


@pytest.fixture
def replicas_database() -> Iterator[str]:
    with a_postgres_database() as url:
        yield url


@pytest.fixture
async def replicas(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn, replicas_database: str
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Replicas A and B, both healthy. However the test ends, neither is left running."""
    started: list[Replica] = []
    try:
        # Both start at once on an empty database: the migration lock lets one create the schema at a time.
        for name in ("a", "b"):
            started.append(await start_replica(name, tmp_path, slack, kaleyra, replicas_database))
        await asyncio.gather(*(replica.wait_healthy() for replica in started))
        yield started[0], started[1]
    finally:
        await asyncio.gather(*(replica.stop() for replica in started))


async def stop_cleanly(*replicas: Replica) -> None:
    """SIGTERM each; each stops by itself with status 0 and printed no traceback."""
    statuses = await asyncio.gather(*(replica.stop() for replica in replicas))
    for replica, status in zip(replicas, statuses, strict=True):
        output = replica.output()
        assert status == 0, f"replica {replica.name} stopped with {status}:\n{output}"
        assert "Traceback" not in output, f"replica {replica.name}:\n{output}"


async def stored(replicas_database: str) -> tuple[Number, list[Operation]]:
    """The number and its operations (oldest first), read from the database the replicas share."""
    store = Store(replicas_database)
    try:
        [number] = await store.numbers_with(E164)
        return number, list(reversed(await store.history(number.id)))
    finally:
        await store.close()


def parent_messages(slack: SlackStandIn) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_of("chat.postMessage") if not c.args.get("thread_ts")]


async def open_add_modal(replica: Replica) -> dict[str, Any]:
    person = replica.person
    status, _ = await person.command("/wa-add", f"{NUMBER_AS_TYPED} Acme Support")
    assert status == 200
    return await person.opened_view("wa_add")


async def test_an_add_through_one_replica_is_verified_through_the_other(
    replicas: tuple[Replica, Replica], slack: SlackStandIn, kaleyra: KaleyraStandIn, replicas_database: str
) -> None:
    a, b = replicas

    # When the operator adds the number through replica A
    status, body = await a.person.submit(await open_add_modal(a), {})
    assert (status, body) == (200, None)
    added = await reply_saying(slack, "Added")

    # And the Enter OTP button and the OTP modal reach replica B
    status, _ = await b.person.click(added["blocks"], "enter_otp")
    assert status == 200
    form = await b.person.opened_view("wa_verify")
    status, body = await b.person.submit(form, {"otp": "482913"})
    assert status == 200 and body["response_action"] == "update"
    verified = await reply_saying(slack, "Verified")

    # Then Kaleyra had one add and one verify, the thread tells it in order, and the store agrees
    assert [r.operation for r in kaleyra.requests] == ["v2_add", "v2_verify"]
    assert kaleyra.requests[1].json == {"id": PHONE_NUMBER_ID, "phone_number": E164, "otp": "482913"}
    [parent] = parent_messages(slack)
    assert parent["channel"] == CHANNEL
    assert thread_replies(slack) == [added, verified]
    assert verified["thread_ts"] == added["thread_ts"]
    number, operations = await stored(replicas_database)
    assert (number.state, number.phone_number_id, number.channel_id) == (
        State.VERIFIED,
        PHONE_NUMBER_ID,
        CHANNEL,
    )
    assert number.thread_ts == added["thread_ts"]
    assert [(o.action, o.outcome) for o in operations] == [("add", Outcome.OK), ("verify", Outcome.OK)]
    await stop_cleanly(a, b)


async def test_one_submission_delivered_to_both_replicas_at_once_adds_once(
    replicas: tuple[Replica, Replica], slack: SlackStandIn, kaleyra: KaleyraStandIn, replicas_database: str
) -> None:
    a, b = replicas
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=0.3)  # the add is still in flight when the copy lands
    view = await open_add_modal(a)

    # When one signed submission reaches both replicas at the same moment (the second as Slack's retry)
    body = a.person.submission_body(view, {})
    headers = signed_headers(body, FORM, SIGNING_SECRET)
    answers = await asyncio.gather(
        a.person.deliver(body, headers),
        b.person.deliver(body, {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}),
    )

    # Then both acknowledge, Kaleyra is asked once, and one thread says Added
    assert [status for status, _ in answers] == [200, 200], answers
    await reply_saying(slack, "Added")
    # The other copy is told so: inline under the number if the add had already started, else by message.
    inline = [answer["errors"]["phone_number"] for _, answer in answers if answer]
    if not inline:
        told = await slack.wait_for(
            "response_url:cmd", lambda c: "already received once" in c.args.get("text", "")
        )
        assert E164 in told.args["text"]
    else:  # the number already adding (or, on a slow machine, already awaiting its OTP): nothing sent
        assert len(inline) == 1 and "nothing was sent" in inline[0], inline
    assert [r.operation for r in kaleyra.requests] == ["v2_add"]
    assert len(parent_messages(slack)) == 1
    assert len(thread_replies(slack)) == 1
    number, operations = await stored(replicas_database)
    assert number.state == State.AWAITING_OTP
    assert [(o.action, o.outcome) for o in operations] == [("add", Outcome.OK)]
    await stop_cleanly(a, b)


async def test_an_add_on_a_killed_replica_is_reported_by_the_other(
    replicas: tuple[Replica, Replica], slack: SlackStandIn, kaleyra: KaleyraStandIn, replicas_database: str
) -> None:
    a, b = replicas
    # Given Kaleyra takes its time with the add that replica A sends
    kaleyra.queue("v2_add", doc.V2_ADD_OK, delay=5.0)
    status, _ = await a.person.submit(await open_add_modal(a), {})
    assert status == 200
    await kaleyra.wait_for_requests(1)

    # When replica A dies while waiting for the answer
    a.process.kill()
    assert await a.process.wait() == -signal.SIGKILL
    killed_at = time.monotonic()

    # Then replica B's sweeper reports the add as interrupted in the number's thread, with Retry
    interrupted = await reply_saying(slack, "Interrupted")
    reported_after = time.monotonic() - killed_at
    assert len(parent_messages(slack)) == 1
    assert buttons_of(interrupted) == ["retry"]
    assert "may have been added" in text_of(interrupted)
    assert reported_after < LEASE_SECONDS + SWEEP_SECONDS + 2, reported_after
    number, operations = await stored(replicas_database)
    assert number.state == State.UNKNOWN  # not left adding
    assert number.thread_ts == interrupted["thread_ts"]
    assert [(o.action, o.outcome) for o in operations] == [("add", Outcome.INTERRUPTED)]
    assert "was interrupted" in b.output()
    # Reported once, though B's sweeper has looked again since
    await asyncio.sleep(SWEEP_SECONDS + 0.2)
    assert len([r for r in thread_replies(slack) if "Interrupted" in text_of(r)]) == 1
    assert [r.operation for r in kaleyra.requests] == ["v2_add"]  # and nothing sent again on its own
    await stop_cleanly(b)


async def test_a_bulk_add_on_a_killed_replica_is_resumed_by_the_other_without_a_line_sent_twice(
    replicas: tuple[Replica, Replica], slack: SlackStandIn, kaleyra: KaleyraStandIn, replicas_database: str
) -> None:
    a, b = replicas
    # Given replica A runs a bulk add of 20 numbers, and Kaleyra takes half a second over each
    kaleyra.delay_seconds = 0.5
    status, _ = await a.person.command("/wa-add", "bulk")
    assert status == 200
    view = await a.person.opened_view("wa_bulk")
    status, answer = await a.person.submit(view, {"numbers": bulk.pasted(range(20))})
    assert (status, answer) == (200, None)
    await kaleyra.wait_for_requests(4)

    # When replica A dies mid-batch
    a.process.kill()
    assert await a.process.wait() == -signal.SIGKILL
    sent_by_a = len(kaleyra.requests)

    # Then replica B takes the batch over: every line is sent once in all, and the summary is posted once
    summary = await bulk.summary_of(slack, 1, timeout=30)
    assert sent_by_a < 20
    assert Counter(r.e164 for r in kaleyra.requests) == Counter(bulk.e164(i) for i in range(20))
    assert "resuming bulk add 1" in b.output()
    store = Store(replicas_database)
    try:
        operations = await store.batch_operations(1)
    finally:
        await store.close()
    outcomes = Counter(o.outcome for o in operations.values())
    # The adds A had in flight may or may not have happened: reported, not sent again on their own
    assert outcomes[Outcome.OK] + outcomes[Outcome.INTERRUPTED] == 20, outcomes
    assert f"{outcomes[Outcome.OK]} added, {outcomes[Outcome.INTERRUPTED]} failed" in bulk.text_of(summary)
    assert len(parent_messages(slack)) == 1  # one batch message, edited by both replicas
    await asyncio.sleep(SWEEP_SECONDS * 2)
    assert (
        len([c for c in slack.calls_of("chat.postMessage") if "#1 finished" in c.args.get("text", "")]) == 1
    )
    await stop_cleanly(b)


def through(proxy: TcpProxy, database_url: str) -> str:
    """`database_url` with its host and port those of `proxy`."""
    return make_url(database_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def database_address(database_url: str) -> tuple[str, int]:
    url = make_url(database_url)
    return url.host or "127.0.0.1", url.port or 5432


async def submit_bulk(person: Person, lines: int) -> None:
    status, _ = await person.command("/wa-add", "bulk")
    assert status == 200
    view = await person.opened_view("wa_bulk")
    status, answer = await person.submit(view, {"numbers": bulk.pasted(range(lines))})
    assert (status, answer) == (200, None)


def summaries(slack: SlackStandIn, batch_id: int) -> list[dict[str, Any]]:
    finished = f"Bulk add #{batch_id} finished"
    return [c.args for c in slack.calls_of("chat.postMessage") if c.args.get("text", "").startswith(finished)]


async def test_a_replica_cut_from_the_database_mid_batch_lets_go_of_the_batch_another_took_over(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    replicas_database: str,
) -> None:
    rate = 5
    lines = 25
    kaleyra.delay_seconds = 0.3
    short = {"wa_bot_bulk_rate_per_second": rate, "wa_bot_lease_seconds": 1.5, "wa_bot_sweep_seconds": 0.3}
    async with TcpProxy(*database_address(replicas_database)) as proxy:
        a_settings = settings_for(database_url=through(proxy, replicas_database), **short)
        b_settings = settings_for(database_url=replicas_database, **short)
        async with running(a_settings, slack) as a, running(b_settings, slack) as b:
            # Given replica A, which reaches the database through a proxy, runs a bulk add
            await submit_bulk(a, lines)
            await kaleyra.wait_for_requests(4)  # just after a call: the next line's start is a pace away

            # When A is cut from the database for longer than the batch's lease, so that B takes the batch over
            await proxy.cut()
            await wait_until(
                lambda: True if 1 in b.bot.bulk.running else None, 10, lambda: "B never took over"
            )
            # …and A reaches the database again while B runs the batch
            await proxy.restore()

            # Then the summary is posted once, when B's batch ends and A has let go of the batch
            await bulk.summary_of(slack, 1, timeout=30)
            await wait_until(
                lambda: True if not (a.bot.bulk.running or b.bot.bulk.running) else None,
                10,
                lambda: "the batch still runs",
            )
            operations = await b.bot.store.batch_operations(1)

    assert len(summaries(slack, 1)) == 1
    # Each line reached Kaleyra once, A's and B's calls together keeping to the rate
    assert Counter(r.e164 for r in kaleyra.requests) == Counter(bulk.e164(i) for i in range(lines))
    assert bulk.most_in_one_second([r.at for r in kaleyra.requests]) <= rate
    assert len(operations) == lines


async def test_a_batch_keeps_its_lease_through_a_database_outage(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    replicas_database: str,
) -> None:
    lease = 1.5
    kaleyra.delay_seconds = 4.0  # both lines are in flight through the outage and well after it
    # No sweep during the test: nothing but the batch's keeper renews its lease.
    settings = {"wa_bot_lease_seconds": lease, "wa_bot_sweep_seconds": 60}
    async with TcpProxy(*database_address(replicas_database)) as proxy:
        async with running(
            settings_for(database_url=through(proxy, replicas_database), **settings), slack
        ) as a:
            await submit_bulk(a, 2)
            await kaleyra.wait_for_requests(2)

            # When the database is away for longer than a renewal's interval (a third of the lease)
            await proxy.cut()
            await asyncio.sleep(lease / 3 * 2)  # the outage itself: two renewals fail meanwhile
            await proxy.restore()
            restored_at = utcnow()

            # Then the keeper renews the batch's lease again once the database is back
            store = Store(replicas_database)
            try:
                for _ in range(50):
                    batch = await store.batch(1)
                    assert batch is not None and batch.finished_at is None, "it ended before a renewal"
                    assert batch.lease_until is not None
                    if (batch.lease_until - restored_at).total_seconds() > lease - 0.5:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the batch's lease was not renewed after the outage")
            finally:
                await store.close()
            # …and the batch ends as usual, summed up once
            summary = await bulk.summary_of(slack, 1, timeout=15)
    assert "2 added, 0 failed" in bulk.text_of(summary)
    assert len(summaries(slack, 1)) == 1


async def test_lines_that_meet_a_database_outage_wait_for_it_and_are_each_sent_once(
    settings_for: Callable[..., Settings],
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    replicas_database: str,
) -> None:
    kaleyra.delay_seconds = 0.2
    settings = {"wa_bot_lease_seconds": 3.0, "wa_bot_sweep_seconds": 60, "wa_bot_bulk_rate_per_second": 10}
    async with TcpProxy(*database_address(replicas_database)) as proxy:
        async with running(
            settings_for(database_url=through(proxy, replicas_database), **settings), slack
        ) as a:
            # Given a batch of 12 lines under way
            await submit_bulk(a, 12)
            await kaleyra.wait_for_requests(2)

            # When the database is away while the next lines are due to start
            await proxy.cut()
            await asyncio.sleep(1.0)
            await proxy.restore()

            # Then the batch ends with every line added, none left unsent, each number sent once
            summary = await bulk.summary_of(slack, 1, timeout=20)
    assert "12 added, 0 failed" in bulk.text_of(summary)
    sent = Counter(request.e164 for request in kaleyra.requests if request.operation == "v2_add")
    assert len(sent) == 12 and set(sent.values()) == {1}
