"""The audit export: operations written as CSV to a temporary file, batch by batch, and sent to a person's DM.

Operations never hold a secret or an OTP, so neither can reach the file. A cell a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) is prefixed with `'`; a plain signed number such as
an E.164 phone number (`+919876543210`) cannot be a formula and is left as it is.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from slack_sdk.web.async_client import AsyncWebClient

from bot.store import AuditRow, utcnow

COLUMNS = (
    "requested_at",
    "finished_at",
    "user_id",
    "action",
    "phone_number",
    "account",
    "outcome",
    "provider_code",
    "provider_message",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Export:
    rows: int
    file_id: str | None


def when(moment: datetime | None) -> str:
    """UTC ISO 8601 with a Z (the store keeps naive UTC); empty for none."""
    return "" if moment is None else moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def cell(value: str | None) -> str:
    """`value` as a CSV cell no spreadsheet runs as a formula."""
    text = value or ""
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def line(row: AuditRow) -> list[str]:
    return [
        when(row.requested_at),
        when(row.finished_at),
        cell(row.user_id),
        cell(row.action),
        cell(row.phone_number),
        cell(row.account),
        cell(row.outcome),
        cell(row.provider_code),
        cell(row.provider_message),
    ]


async def write_csv(batches: AsyncGenerator[list[AuditRow], None], out: IO[str]) -> int:
    """Write the header and every row of `batches` to `out` as they come; how many rows were written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    async with aclosing(batches):
        async for batch in batches:
            writer.writerows(line(row) for row in batch)
            count += len(batch)
    return count


async def send(
    client: AsyncWebClient, user_id: str, batches: AsyncGenerator[list[AuditRow], None], days: int
) -> Export:
    """Write the CSV to a temporary file (deleted afterwards) and upload it to `user_id`'s DM with the bot.

    Raises slack_sdk's SlackApiError / SlackRequestError when Slack refuses the DM or the upload.
    """
    handle, path = tempfile.mkstemp(prefix="wa-bot-audit-", suffix=".csv")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            count = await write_csv(batches, out)
        opened = await client.conversations_open(users=user_id)
        channel = opened["channel"]["id"]
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        what = f"{count} operation{'' if count == 1 else 's'}" if count else "No operations"
        uploaded = await client.files_upload_v2(
            file=path,
            filename=f"wa-bot-audit-{stamp}-{days}d.csv",
            title=f"wa-bot audit: the last {days} days",
            channel=channel,
            initial_comment=f"{what} requested in the last {days} days (times in UTC).",
        )
        file = uploaded.get("file") or {}
        return Export(count, file.get("id") if isinstance(file, dict) else None)
    finally:
        os.unlink(path)


def summary(export: Export, days: int) -> str:
    """The ephemeral answer once the file is in the DM."""
    if not export.rows:
        return f"No operations in the last {days} days: the CSV in your DM with wa-bot has only its header."
    plural = "" if export.rows == 1 else "s"
    return f"Exported {export.rows} operation{plural} from the last {days} days: the CSV is in your DM with wa-bot."
