"""Socket Mode end to end: `serve()` connects to Slack's WebSocket, acks envelopes, and does the same work as HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CHANNEL, OPERATOR, SID, WABA_ID, state_of
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from standins import KaleyraStandIn, SlackStandIn
from standins.documented import V2_ADD_OK

from bot import server
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def command_payload(slack: SlackStandIn, command: str, text: str) -> dict[str, Any]:
    """A slash command as Socket Mode delivers it: the same fields as the HTTP form, as JSON."""
    return {
        "token": "legacy-verification-token",
        "team_id": "T0TEST",
        "team_domain": "test",
        "channel_id": CHANNEL,
        "channel_name": "wa-ops",
        "user_id": OPERATOR,
        "user_name": "ops",
        "command": command,
        "text": text,
        "api_app_id": "A0TEST",
        "is_enterprise_install": "false",
        "response_url": slack.response_url("cmd"),
        "trigger_id": "trigger-socket-1",
    }


def submission_payload(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": OPERATOR, "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "trigger_id": "trigger-socket-2",
        "view": {**view, "state": {"values": state_of(view, values)}},
    }


@pytest.fixture
async def socket_handlers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[AsyncSocketModeHandler]]:
    """Every Socket Mode handler serve() makes, closed after the test.

    serve() keeps its handler to itself and does not close it when it is cancelled (see
    test_stopping_serve_closes_the_socket); left open, its reconnect loops keep the test's event loop from closing.
    """
    made: list[AsyncSocketModeHandler] = []

    class RecordedHandler(AsyncSocketModeHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(server, "AsyncSocketModeHandler", RecordedHandler)
    yield made
    for handler in made:
        await handler.close_async()


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[asyncio.Task[None]]:
    """`serve(settings)` as the process runs it, stopped the way asyncio.run stops it on Ctrl-C: by cancelling."""
    task = asyncio.create_task(server.serve(settings))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)


@pytest.fixture
def socket_settings(
    settings_for: Callable[..., Settings], socket_handlers: list[AsyncSocketModeHandler]
) -> Settings:
    # No signing secret: Socket Mode does not need one.
    return settings_for(slack_app_token="xapp-test", slack_signing_secret=None)


async def test_add_through_socket_mode(
    socket_settings: Settings, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    assert socket_settings.slack_signing_secret is None and socket_settings.socket_mode
    async with serving(socket_settings) as task:
        await slack.wait_for_socket(timeout=5)
        [connect] = slack.calls_of("apps.connections.open")
        assert connect.token == "xapp-test"

        # When the operator types /wa-add, the envelope is acked and the add modal opens
        ack = await slack.send_envelope(
            "slash_commands", command_payload(slack, "/wa-add", "+91 98765 43210 Acme")
        )
        assert set(ack) <= {"envelope_id", "payload"} and not ack.get("payload")
        opened = await slack.wait_for("views.open")
        assert opened.token == "xoxb-test-token"
        assert opened.args["trigger_id"] == "trigger-socket-1"
        view = {**opened.args["view"], "id": next(iter(slack.views))}
        assert view["callback_id"] == "wa_add"

        # When they submit it, the ack comes first, even though Kaleyra takes a while
        kaleyra.queue("v2_add", V2_ADD_OK, delay=1.0)
        started = time.monotonic()
        ack = await slack.send_envelope("interactive", submission_payload(view, {"verification_type": "SMS"}))
        acked_after = time.monotonic() - started
        assert not ack.get("payload")
        assert acked_after < 0.8, f"the submission was acked after {acked_after:.2f}s, waiting on Kaleyra"

        # Then Kaleyra gets the documented add, and the result lands in the number's thread
        [request] = await kaleyra.wait_for_requests(1)
        assert request.path == f"/v2/{SID}/whatsapp/{WABA_ID}/number/add"
        assert request.json == {
            "phone_number": "9876543210",
            "name": "Acme",
            "verification_type": "SMS",
            "country_code": "+91",
        }
        reply = await slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts")))
        parent = next(c for c in slack.calls_of("chat.postMessage") if not c.args.get("thread_ts"))
        assert parent.args["channel"] == CHANNEL
        assert reply.args["channel"] == CHANNEL
        assert "7654XXXXXXXXXX" in str(reply.args["blocks"])
        buttons = [
            e["action_id"] for b in reply.args["blocks"] if b["type"] == "actions" for e in b["elements"]
        ]
        assert buttons == ["enter_otp", "resend_otp"]
        assert not task.done()


async def test_a_bad_submission_is_answered_in_the_ack(
    socket_settings: Settings, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with serving(socket_settings):
        await slack.wait_for_socket(timeout=5)
        await slack.send_envelope("slash_commands", command_payload(slack, "/wa-add", ""))
        opened = await slack.wait_for("views.open")

        ack = await slack.send_envelope(
            "interactive", submission_payload(opened.args["view"], {"phone_number": "12", "name": "Acme"})
        )

        assert ack["payload"]["response_action"] == "errors"
        assert set(ack["payload"]["errors"]) == {"phone_number"}
        await asyncio.sleep(0.1)
        assert kaleyra.requests == []


async def test_help_is_answered_in_the_ack(socket_settings: Settings, slack: SlackStandIn) -> None:
    async with serving(socket_settings):
        await slack.wait_for_socket(timeout=5)
        ack = await slack.send_envelope("slash_commands", command_payload(slack, "/wa-verify", "help"))
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "/wa-verify" in ack["payload"]["text"]


async def test_stopping_serve_closes_the_socket(socket_settings: Settings, slack: SlackStandIn) -> None:
    async with serving(socket_settings):
        await slack.wait_for_socket(timeout=5)
    await asyncio.sleep(0.3)
    assert slack._live_sockets() == [], "the Socket Mode connection outlived serve()"


async def socket_mode_bot(
    tmp_path: Path,
    slack: SlackStandIn,
    kaleyra: KaleyraStandIn,
    app_token: str = "xapp-test",
    arguments: tuple[str, ...] = ("-m", "bot"),
) -> asyncio.subprocess.Process:
    """`python -m bot` in Socket Mode against the stand-ins, its stderr piped and Ctrl-C reaching it."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KALEYRA_", "META_", "WA_BOT_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN=app_token,
        SLACK_API_URL=slack.api_url,
        KALEYRA_SID=SID,
        KALEYRA_API_KEY="test-kaleyra-key",
        KALEYRA_WABA_ID=WABA_ID,
        KALEYRA_BASE_URL=kaleyra.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        LOG_LEVEL="INFO",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *arguments,
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


async def stopped(process: asyncio.subprocess.Process, signal_number: int) -> tuple[int, float, str]:
    """Send `signal_number`; the exit status, the seconds until the process ended, and its stderr."""
    try:
        process.send_signal(signal_number)
        signalled = time.monotonic()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        took = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, took, stderr.decode()


async def ctrl_c_after_a_command(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> tuple[int, str]:
    """Run `python -m bot` in Socket Mode, have it open the add modal, press Ctrl-C; its status and stderr."""
    process = await socket_mode_bot(tmp_path, slack, kaleyra)
    try:
        await slack.wait_for_socket(timeout=10)
        await slack.send_envelope("slash_commands", command_payload(slack, "/wa-add", ""))
        await slack.wait_for("views.open")
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_the_process_serves_socket_mode_and_stops_on_ctrl_c(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    status, stderr = await ctrl_c_after_a_command(tmp_path, slack, kaleyra)
    assert status == 0
    assert "connected in Socket Mode" in stderr
    assert "xapp-test" not in stderr and "xoxb-test-token" not in stderr


async def test_ctrl_c_in_socket_mode_leaves_no_traceback(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    _, stderr = await ctrl_c_after_a_command(tmp_path, slack, kaleyra)
    assert "Traceback" not in stderr
    assert "Unclosed" not in stderr


async def test_the_app_home_through_socket_mode(socket_settings: Settings, slack: SlackStandIn) -> None:
    async with serving(socket_settings):
        await slack.wait_for_socket(timeout=5)

        # When the person opens the Home tab, the events_api envelope is acked and their Home is published
        ack = await slack.send_envelope(
            "events_api",
            {
                "team_id": "T0TEST",
                "api_app_id": "A0TEST",
                "type": "event_callback",
                "event_id": "Ev0SOCKET1",
                "event_time": int(time.time()),
                "event": {"type": "app_home_opened", "user": OPERATOR, "tab": "home", "event_ts": "1.0"},
            },
        )
        assert not ack.get("payload")
        published = await slack.wait_for("views.publish")
        assert published.args["user_id"] == OPERATOR and published.args["view"]["type"] == "home"


@contextlib.asynccontextmanager
async def a_socket_that_never_opens(
    slack: SlackStandIn,
) -> AsyncIterator[asyncio.Queue[asyncio.StreamWriter]]:
    """Slack hands out a WebSocket URL whose server accepts each connection and never answers the handshake;
    the connections, as they come."""
    handshakes: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()
    server = await asyncio.start_server(lambda _, writer: handshakes.put_nowait(writer), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slack.socket_url = f"ws://127.0.0.1:{port}/link/?ticket=one-time-TICKET-77"
    async with server:
        yield handshakes


async def handshakes_begun(
    handshakes: asyncio.Queue[asyncio.StreamWriter], process: asyncio.subprocess.Process, count: int
) -> None:
    try:
        for _ in range(count):
            await asyncio.wait_for(handshakes.get(), timeout=15)
    except TimeoutError:
        process.kill()
        raise


async def test_a_socket_that_never_opens_still_stops_on_sigterm(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    async with a_socket_that_never_opens(slack) as handshakes:
        process = await socket_mode_bot(tmp_path, slack, kaleyra)
        await handshakes_begun(handshakes, process, 1)  # the bot waits for the handshake's answer

        status, took, stderr = await stopped(process, signal.SIGTERM)

    assert status == 0, stderr
    assert took < 5, f"stopped {took:.1f} s after SIGTERM"
    assert "Traceback" not in stderr
    assert "one-time-TICKET-77" not in stderr and "xapp-test" not in stderr


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
async def test_an_app_token_slack_refuses_is_named_tried_again_and_the_process_still_stops(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn, signal_number: int
) -> None:
    token = "xapp-1-A0TEST-ReVoKeD-SECRET"
    slack.fail("apps.connections.open", "token_revoked")
    process = await socket_mode_bot(tmp_path, slack, kaleyra, app_token=token)
    try:
        # The refusal is said, and asked again after a backoff rather than given up on
        await slack.wait_for(
            "apps.connections.open", lambda _: len(slack.calls_of("apps.connections.open")) >= 2, timeout=15
        )
    except AssertionError:
        process.kill()
        raise

    status, took, stderr = await stopped(process, signal_number)

    assert status == 0, stderr
    assert took < 5, f"stopped {took:.1f} s after the signal"
    refusals = [line for line in stderr.splitlines() if "SLACK_APP_TOKEN" in line]
    assert len(refusals) >= 2, stderr  # one line per attempt, naming the variable and Slack's error
    assert all("token_revoked" in line and "trying again" in line for line in refusals), refusals
    assert token not in stderr and "Traceback" not in stderr
    assert slack.socket_connects == 0


async def test_a_socket_that_never_opens_is_said_to_be_the_network_and_tried_again(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # `python -m bot` with each attempt bounded to 0.5 s rather than 10, so that two fit in the test's seconds
    short = "import bot.server; bot.server.CONNECT_SECONDS = 0.5; from bot.__main__ import main; main()"
    async with a_socket_that_never_opens(slack) as handshakes:
        process = await socket_mode_bot(tmp_path, slack, kaleyra, arguments=("-c", short))
        await handshakes_begun(handshakes, process, 2)  # a second attempt: the first was given up on

        status, _, stderr = await stopped(process, signal.SIGTERM)

    assert status == 0, stderr
    [first, *_] = [line for line in stderr.splitlines() if "Socket Mode cannot connect" in line]
    assert "ws://127.0.0.1:" in first and "did not open within 0.5 s" in first and "the network" in first
    assert "trying again in 1 s" in first
    assert "one-time-TICKET-77" not in stderr and "Traceback" not in stderr
    assert len(slack.calls_of("apps.connections.open")) >= 2  # a new URL for each attempt
