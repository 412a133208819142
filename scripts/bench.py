"""Benchmark: how fast wa-bot acknowledges Slack while Kaleyra is slow, and how long a submission takes to its reply.

Starts the test stand-ins (Slack, Kaleyra) and the real bot in this process on loopback, then sends N signed
requests exactly as Slack signs them:

- `/wa-add` slash commands: HTTP acknowledgement latency;
- add-modal submissions while every Kaleyra add answers after `--kaleyra-delay` seconds: HTTP acknowledgement
  latency (it must not include the delay) and the time from submission to the thread reply.

    .venv/bin/python scripts/bench.py [-n 200] [--kaleyra-delay 1.0] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CHANNEL, OPERATOR, SID, SIGNING_SECRET, WABA_ID, running, state_of  # noqa: E402
from standins import KaleyraStandIn, SlackStandIn  # noqa: E402
from standins.documented import V2_ADD_OK  # noqa: E402
from standins.slack import SlackCall  # noqa: E402

from bot import logs  # noqa: E402
from bot.settings import Settings  # noqa: E402


class TimedCalls(list[SlackCall]):
    """The Slack stand-in's call list, also noting when each thread reply arrived (cheaply: it is polled)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[tuple[SlackCall, float]] = []

    def append(self, call: SlackCall) -> None:
        if call.method == "chat.postMessage" and call.args.get("thread_ts"):
            self.replies.append((call, time.monotonic()))
        super().append(call)


class SlackSigner:
    """Posts to /slack/events the way Slack does, over one keep-alive connection pool."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def post(self, form: dict[str, str]) -> tuple[float, int, str]:
        """Seconds until the acknowledgement, its HTTP status and body."""
        body = urlencode(form)
        timestamp = str(int(time.time()))
        digest = hmac.new(
            SIGNING_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest}",
        }
        started = time.monotonic()
        async with self.session.post(self.url, data=body, headers=headers) as response:
            text = await response.text()
        return time.monotonic() - started, response.status, text


def command_form(slack: SlackStandIn, i: int, text: str) -> dict[str, str]:
    return {
        "command": "/wa-add",
        "text": text,
        "user_id": OPERATOR,
        "user_name": "ops",
        "team_id": "T0TEST",
        "channel_id": CHANNEL,
        "channel_name": "wa-ops",
        "trigger_id": f"trigger-bench-{i}",
        "response_url": slack.response_url("cmd"),
        "api_app_id": "A0TEST",
    }


def submission_form(view: dict[str, Any], number: str, name: str) -> dict[str, str]:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEST"},
        "user": {"id": OPERATOR},
        "api_app_id": "A0TEST",
        "trigger_id": "trigger-submit",
        "view": {**view, "state": {"values": state_of(view, {"phone_number": number, "name": name})}},
    }
    return {"payload": json.dumps(payload)}


def bench_number(i: int) -> tuple[str, str]:
    """A valid Indian mobile number per request, as typed and in E.164."""
    national = f"98765{40000 + i:05d}"
    return f"+91 {national[:5]} {national[5:]}", f"+91{national}"


async def run_all(
    count: int, concurrency: int, send: Callable[[int], Awaitable[tuple[float, int, str]]]
) -> list[tuple[float, int, str]]:
    """`send(i)` for i in range(count), at most `concurrency` at a time; results in order of i."""
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> tuple[float, int, str]:
        async with limit:
            return await send(i)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Row:
    what: str
    seconds: list[float]

    def cells(self) -> list[str]:
        ms = [s * 1000 for s in self.seconds]
        return [
            self.what,
            str(len(ms)),
            *(f"{v:.1f}" for v in (percentile(ms, 0.5), percentile(ms, 0.95), max(ms))),
        ]


def table(rows: Iterable[Row]) -> str:
    lines = [["measure", "n", "p50 ms", "p95 ms", "max ms"], *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    out = []
    for j, line in enumerate(lines):
        out.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


async def bench(count: int, kaleyra_delay: float, concurrency: int, database_url: str) -> list[Row]:
    async with SlackStandIn() as slack, KaleyraStandIn() as kaleyra:
        timed = TimedCalls()
        slack.calls = timed
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            kaleyra_sid=SID,
            kaleyra_api_key="test-kaleyra-key",
            kaleyra_waba_id=WABA_ID,
            kaleyra_base_url=kaleyra.base_url,
            database_url=database_url,
            log_level="WARNING",
        )
        async with running(settings, slack) as person, aiohttp.ClientSession() as session:
            signer = SlackSigner(person.url, session)
            if (await person.bot.store.numbers(limit=1))[1]:
                raise SystemExit(
                    "the store must be empty: the benchmark matches replies to numbers by thread"
                )

            # Slash commands: ack latency, each one also opening the add modal on "Slack".
            commands = await run_all(
                count,
                concurrency,
                lambda i: signer.post(command_form(slack, i, f"{bench_number(i)[0]} Bench {i}")),
            )
            assert all(status == 200 for _, status, _ in commands), {status for _, status, _ in commands}
            await slack.wait_for(
                "views.open", lambda _: len(slack.calls_of("views.open")) >= count, timeout=30
            )
            # One modal per command, as in Slack: each submission is its own intent (view id and hash).
            modals = [{**v, "id": i} for i, v in slack.views.items() if v.get("callback_id") == "wa_add"]

            # Add-modal submissions while Kaleyra takes `kaleyra_delay` to answer each add.
            for _ in range(count):
                kaleyra.queue("v2_add", V2_ADD_OK, delay=kaleyra_delay)
            sent_at: dict[str, float] = {}

            async def submit(i: int) -> tuple[float, int, str]:
                typed, e164 = bench_number(i)
                sent_at[e164] = time.monotonic()
                return await signer.post(submission_form(modals[i], typed, f"Bench {i}"))

            submissions = await run_all(count, concurrency, submit)
            assert all(status == 200 and not body for _, status, body in submissions), submissions[:3]

            deadline = time.monotonic() + 30 + kaleyra_delay * count / 50
            while len(timed.replies) < count:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {len(timed.replies)} of {count} thread replies arrived")
                await asyncio.sleep(0.05)
            end_to_end: list[float] = []
            known, _ = await person.bot.store.numbers(limit=count * 2)
            numbers = {n.thread_ts: n.e164 for n in known}  # a reply's thread is its number's
            for call, at in timed.replies:
                e164 = numbers.get(call.args["thread_ts"])
                if e164 in sent_at:
                    end_to_end.append(at - sent_at[e164])
            assert len(end_to_end) == count, (len(end_to_end), count)
            assert len(kaleyra.requests) == count

    return [
        Row("/wa-add slash command → HTTP ack", [s for s, _, _ in commands]),
        Row(f"add submission → HTTP ack (Kaleyra {kaleyra_delay:g} s)", [s for s, _, _ in submissions]),
        Row("add submission → thread reply", end_to_end),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=200, help="requests of each kind (default 200)")
    parser.add_argument(
        "--kaleyra-delay", type=float, default=1.0, help="seconds Kaleyra takes per add (1.0)"
    )
    parser.add_argument(
        "--database-url", help="an empty store, e.g. PostgreSQL (default: SQLite in a temporary directory)"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (default 1)")
    args = parser.parse_args()
    logs.configure("ERROR", [])  # the open allow-list warning is expected here; errors still show
    with tempfile.TemporaryDirectory() as directory:
        started = time.monotonic()
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        rows = asyncio.run(bench(args.requests, args.kaleyra_delay, args.concurrency, database_url))
        elapsed = time.monotonic() - started
    print(
        f"wa-bot benchmark: {args.requests} requests of each kind, concurrency {args.concurrency}, "
        f"Kaleyra add delay {args.kaleyra_delay:g} s"
    )
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}; {elapsed:.1f} s in all"
    )
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
