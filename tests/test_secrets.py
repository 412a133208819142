"""Secrets stay secret: the API key, tokens, signing secret and OTPs reach no log line, Slack message or store row."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import SIGNING_SECRET, Person, running, seed_number, state_of
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from standins import KaleyraStandIn, SlackStandIn
from standins.documented import V2_ADD_FAILURES, V2_VERIFY_FAILURES

from bot import logs
from bot.accounts import KaleyraAccount, MetaAccount, accounts_from
from bot.app import build
from bot.lifecycle.states import State
from bot.logs import Redactor
from bot.settings import Settings

BOT_TOKEN = "xoxb-1234567-7654321-SeCrEtBoTtOkEn"
KALEYRA_KEY = "kaleyra-API-KEY-8a9b0c1d2e"
OTP = "918273"
SECRETS = {
    "Kaleyra API key": KALEYRA_KEY,
    "bot token": BOT_TOKEN,
    "signing secret": SIGNING_SECRET,
    "OTP": OTP,
}


def secrets_as_main_collects_them(
    settings: Settings, accounts: dict[str, KaleyraAccount | MetaAccount]
) -> list[str]:
    """The same list bot/__main__.py hands to logs.configure()."""
    secrets = [
        s.get_secret_value()
        for s in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
        if s
    ]
    for account in accounts.values():
        secrets.append(
            account.api_key.get_secret_value()
            if isinstance(account, KaleyraAccount)
            else account.access_token.get_secret_value()
        )
    return secrets


@dataclass
class Captured:
    """What the configured handler wrote (the real log output) and every record after it filtered them."""

    stream: io.StringIO
    records: list[logging.LogRecord]

    def texts(self) -> list[str]:
        formatter = logging.Formatter()
        return [self.stream.getvalue(), *(formatter.format(record) for record in self.records)]


class AfterTheRedactor(logging.Handler):
    """Added to the root logger after the configured handler, so it sees records as that handler left them."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def stand_ins() -> AsyncIterator[tuple[SlackStandIn, KaleyraStandIn]]:
    async with SlackStandIn(bot_token=BOT_TOKEN) as slack, KaleyraStandIn(api_key=KALEYRA_KEY) as kaleyra:
        yield slack, kaleyra


@pytest.fixture
def settings(stand_ins: tuple[SlackStandIn, KaleyraStandIn], tmp_path: Path) -> Settings:
    slack, kaleyra = stand_ins
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        kaleyra_sid="HXAP16XXXXXX97IN",
        kaleyra_api_key=KALEYRA_KEY,
        kaleyra_waba_id="766XXXXXXXXXX",
        kaleyra_base_url=kaleyra.base_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}",
        log_level="DEBUG",
    )


@contextlib.contextmanager
def bot_logs(settings: Settings, level: str) -> Iterator[Captured]:
    """Logging configured exactly as __main__ does, with the handler's stream captured; restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    logs.configure(level, secrets_as_main_collects_them(settings, accounts_from(settings)))
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert any(isinstance(f, Redactor) for f in handler.filters)
    stream = io.StringIO()
    handler.setStream(stream)
    records: list[logging.LogRecord] = []
    root.addHandler(AfterTheRedactor(records))
    try:
        yield Captured(stream, records)
    finally:
        root.handlers, root.level = saved_handlers, saved_level


@pytest.fixture
def debug_logs(settings: Settings) -> Iterator[Captured]:
    with bot_logs(settings, "DEBUG") as captured:
        yield captured


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section")


def what_sqlite_holds(database: Path) -> tuple[list[bytes], list[str], list[str]]:
    """The bytes of the database file (and any journal beside it), and every operations and numbers row."""
    files = [path.read_bytes() for path in database.parent.glob(database.name + "*")]
    with contextlib.closing(sqlite3.connect(database)) as connection:
        operations = [repr(row) for row in connection.execute("SELECT * FROM operations")]
        numbers = [repr(row) for row in connection.execute("SELECT * FROM numbers")]
    return files, operations, numbers


async def journey(person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn) -> None:
    """Add → OTP refused once → OTP accepted → profile update, then a second number whose add Kaleyra refuses."""
    await person.command("/wa-add", "+91 98765 43210 Acme Support")
    status, _ = await person.submit(await person.opened_view("wa_add"), {})
    assert status == 200
    reply = (await slack.wait_for("chat.postMessage", lambda c: "Added" in text_of(c.args))).args

    await person.click(reply["blocks"], "enter_otp")
    otp_view = await person.opened_view("wa_verify")
    kaleyra.queue("v2_verify", V2_VERIFY_FAILURES["incorrect_otp_format"], status=400)
    status, _ = await person.submit(otp_view, {"otp": OTP})
    assert status == 200
    await slack.wait_for("chat.postMessage", lambda c: "verify failed" in text_of(c.args))
    retry_view = await slack.wait_for(
        "views.update", lambda c: c.args["view"].get("callback_id") == "wa_verify"
    )
    status, _ = await person.submit(
        {**retry_view.args["view"], "id": retry_view.args["view_id"]}, {"otp": OTP}
    )
    assert status == 200
    await slack.wait_for("chat.postMessage", lambda c: "Verified" in text_of(c.args))

    await person.command("/wa-update", "+919876543210")
    update_view = await person.opened_view("wa_update")
    status, _ = await person.submit(update_view, {"address": "EGL, Bengaluru", "about": "We answer fast"})
    assert status == 200
    await slack.wait_for("chat.postMessage", lambda c: "Profile updated" in text_of(c.args))

    kaleyra.queue("v2_add", V2_ADD_FAILURES["incorrect_sid_or_key"], status=401)
    await person.command("/wa-add", "+1 631 555 1000 Globex")
    await slack.wait_for("views.open", lambda c: len(slack.calls_of("views.open")) >= 4)
    add_view = {**slack.calls_of("views.open")[-1].args["view"], "id": list(slack.views)[-1]}
    status, body = await person.submit(add_view, {})
    assert (status, body) == (200, None)
    await slack.wait_for("chat.postMessage", lambda c: "add failed" in text_of(c.args))


async def test_no_secret_reaches_logs_slack_or_the_store(
    settings: Settings,
    stand_ins: tuple[SlackStandIn, KaleyraStandIn],
    debug_logs: Captured,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack, kaleyra = stand_ins
    async with running(settings, slack) as person:
        # The capture sees what the Redactor leaves: a secret logged on purpose comes out redacted.
        logging.getLogger("wa-bot.test").warning("probe %s %s %s", KALEYRA_KEY, BOT_TOKEN, SIGNING_SECRET)
        await journey(person, slack, kaleyra)

    # The secrets did go where they belong: the key to Kaleyra, the OTP to Kaleyra's verify, and nowhere else.
    assert {r.headers["api-key"] for r in kaleyra.requests} == {KALEYRA_KEY}
    assert [r.json["otp"] for r in kaleyra.requests if r.operation == "v2_verify"] == [OTP, OTP]

    log_texts = [*debug_logs.texts(), caplog.text]
    assert "probe [redacted] [redacted] [redacted]" in debug_logs.stream.getvalue()
    assert any(r.levelno == logging.DEBUG and r.name.startswith("slack_sdk") for r in debug_logs.records)
    assert len(debug_logs.records) > 20

    slack_calls = [json.dumps(c.args) for c in slack.calls]
    assert any(c.method == "views.update" for c in slack.calls) and len(slack_calls) > 10

    files, operations, numbers = what_sqlite_holds(tmp_path / "wa-bot.db")
    assert len(operations) == 5

    leaks = []
    for what, secret in SECRETS.items():
        leaks += [f"{what} in a log line" for text in log_texts if secret in text]
        leaks += [f"{what} in a Slack call" for text in slack_calls if secret in text]
        leaks += [f"{what} in the database file" for data in files if secret.encode() in data]
        leaks += [f"{what} in an operations row" for row in operations if secret in row]
        leaks += [f"{what} in a numbers row" for row in numbers if secret in row]
    assert leaks == []


async def test_a_badly_signed_otp_submission_is_not_logged(
    settings: Settings, stand_ins: tuple[SlackStandIn, KaleyraStandIn]
) -> None:
    # As when the signing secret was rotated in Slack but not in the bot: every real request fails the check.
    slack, kaleyra = stand_ins
    view = {
        "id": "V1",
        "callback_id": "wa_verify",
        "private_metadata": json.dumps({"channel": "C0OPS", "number_id": 1}),
        "blocks": [
            {
                "type": "input",
                "block_id": "otp",
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEST"},
        "user": {"id": "U0OPS"},
        "view": {**view, "state": {"values": state_of(view, {"otp": OTP})}},
    }
    with bot_logs(settings, "INFO") as captured:
        async with running(settings, slack) as person:
            status, _ = await person.post(
                urlencode({"payload": json.dumps(payload)}),
                "application/x-www-form-urlencoded",
                secret="the-old-signing-secret",
            )
    assert status == 401
    assert kaleyra.requests == []
    assert not [text for text in captured.texts() if OTP in text]


async def test_socket_mode_at_debug_does_not_log_the_otp(
    settings: Settings, stand_ins: tuple[SlackStandIn, KaleyraStandIn], debug_logs: Captured
) -> None:
    slack, kaleyra = stand_ins
    socket_settings = settings.model_copy(update={"slack_app_token": SecretStr("xapp-1-A0TEST-SeCrEtApP")})
    bot = await build(socket_settings)
    handler = AsyncSocketModeHandler(bot.app, "xapp-1-A0TEST-SeCrEtApP")
    try:
        await handler.connect_async()
        await slack.wait_for_socket()
        await seed_number(
            bot.store, "kaleyra", "+919876543210", State.AWAITING_OTP, phone_number_id="7654XXXXXXXXXX"
        )
        command = {
            "command": "/wa-verify",
            "text": "+919876543210",
            "user_id": "U0OPS",
            "channel_id": "C0OPS",
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "trigger_id": "trigger-1",
            "response_url": slack.response_url("cmd"),
        }
        await slack.send_envelope("slash_commands", command)
        opened = (await slack.wait_for("views.open")).args["view"]
        submission = {
            "type": "view_submission",
            "team": {"id": "T0TEST"},
            "user": {"id": "U0OPS"},
            "api_app_id": "A0TEST",
            "view": {**opened, "id": "V0000001", "state": {"values": state_of(opened, {"otp": OTP})}},
        }
        await slack.send_envelope("interactive", submission)
        await slack.wait_for("chat.postMessage", lambda c: "Verified" in text_of(c.args))
    finally:
        await handler.close_async()
        await bot.close()
    assert [r.json["otp"] for r in kaleyra.requests] == [OTP]
    assert not [text for text in debug_logs.texts() if "SeCrEtApP" in text]
    assert not [text for text in debug_logs.texts() if OTP in text]


# --- the Redactor on its own ---


@pytest.mark.parametrize(
    "line",
    [
        "token=xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
        "app token xapp-1-A0TEST-1234567890-abcdef0123456789 in use",
        "user token xoxp-11-22-33-abc",
        "Authorization: Bearer EAAGm0PX4ZCpsBAKZAZD.long-token_value",
        "authorization: bearer abc/def+ghi==",
        "{'Authorization': 'Bearer xoxb-nested-1'}",
    ],
)
def test_redactor_removes_token_shapes(line: str) -> None:
    redacted = Redactor([]).redact(line)
    assert "[redacted]" in redacted
    for shape in ("xoxb-", "xapp-", "xoxp-", "EAAG", "abc/def", "nested"):
        assert shape not in redacted


def test_redactor_removes_configured_secrets_longest_first() -> None:
    redactor = Redactor(["abcd-secret", "abcd-secret-and-more", "xyz"])
    assert redactor.redact("a abcd-secret-and-more b abcd-secret c") == "a [redacted] b [redacted] c"
    assert redactor.redact("xyz stays: too short to be a secret worth hiding") == (
        "xyz stays: too short to be a secret worth hiding"
    )


def test_redactor_applies_to_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redactor(["kaleyra-key-0001"]))
    logger = logging.getLogger("wa-bot.test.redactor")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sending %s with %r", "kaleyra-key-0001", {"token": "xoxb-9-9-abc"})
        try:
            raise RuntimeError("bad key kaleyra-key-0001 for Bearer abc.def")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    assert "kaleyra-key-0001" not in output and "xoxb-9-9-abc" not in output and "abc.def" not in output
    assert "RuntimeError" in output and output.count("[redacted]") >= 4
