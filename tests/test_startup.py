"""Starting wa-bot: the real entry point refuses bad settings with exit 2, and a good start serves /healthz."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from conftest import SID, SIGNING_SECRET, WABA_ID, Person, clean_env, free_port, running, wa_bot
from standins import KaleyraStandIn, SlackStandIn

from bot.app import build
from bot.settings import Settings
from bot.slack.identity import SlackRefusedToken
from bot.slack.signing import signed_headers
from bot.store import head_revision

KALEYRA_KEY = "supersecret-key-123"
SIGNING = "sig-secret-456"


def start_bot(cwd: Path, **variables: str) -> tuple[int, str, str]:
    """Run `python -m bot` to its end (it must stop by itself), in `cwd`, with only `variables` set."""
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=cwd,
        env=clean_env(**variables),
        capture_output=True,
        text=True,
        timeout=15,
    )
    return done.returncode, done.stdout, done.stderr


def problem_lines(stderr: str) -> list[str]:
    """The indented lines under the 'cannot start' headline, one per problem."""
    return [line.strip() for line in stderr.splitlines() if line.startswith("  ")]


# --- refusing to start ---


def test_missing_bot_token_stops_with_status_2(tmp_path: Path) -> None:
    status, stdout, stderr = start_bot(tmp_path)

    assert status == 2
    assert "SLACK_BOT_TOKEN" in stderr
    # A new user is told everything to set at once: the token, the signing secret and an account.
    assert problem_lines(stderr) == [
        "SLACK_BOT_TOKEN: required: the bot token, starting with xoxb-",
        "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
        "No account configured: set KALEYRA_SID, KALEYRA_API_KEY and KALEYRA_WABA_ID, "
        "or META_ACCESS_TOKEN and META_BUSINESS_ID, or WA_BOT_ACCOUNTS_FILE",
    ]
    assert "Traceback" not in stderr + stdout


def test_malformed_settings_give_one_line_each_and_no_secret(tmp_path: Path) -> None:
    bad_token = "not-a-bot-token-0xDEADBEEF"
    status, stdout, stderr = start_bot(
        tmp_path,
        PORT="abc",
        KALEYRA_REGION="xx",
        SLACK_BOT_TOKEN=bad_token,
        SLACK_SIGNING_SECRET=SIGNING,
        KALEYRA_API_KEY=KALEYRA_KEY,
    )

    assert status == 2
    lines = problem_lines(stderr)
    assert len(lines) == 3, stderr
    named = {line.split(":")[0] for line in lines}
    assert named == {"SLACK_BOT_TOKEN", "PORT", "KALEYRA_REGION"}
    assert any("xoxb-" in line for line in lines if line.startswith("SLACK_BOT_TOKEN"))
    assert any("in, sg, eu, na" in line for line in lines if line.startswith("KALEYRA_REGION"))
    assert "Traceback" not in stderr + stdout
    for secret in (bad_token, SIGNING, KALEYRA_KEY):
        assert secret not in stdout + stderr


def test_partial_kaleyra_account_names_what_is_missing_without_the_key(tmp_path: Path) -> None:
    status, stdout, stderr = start_bot(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-valid-shape",
        SLACK_SIGNING_SECRET=SIGNING,
        KALEYRA_API_KEY=KALEYRA_KEY,
    )

    assert status == 2
    [line] = problem_lines(stderr)
    assert "KALEYRA_SID" in line and "KALEYRA_WABA_ID" in line
    assert "KALEYRA_API_KEY" not in line.split(":")[0]  # it is set; the others are what is missing
    assert "Traceback" not in stderr + stdout
    for secret in (KALEYRA_KEY, SIGNING, "xoxb-valid-shape"):
        assert secret not in stdout + stderr


def test_bad_app_token_and_log_level_each_get_a_line(tmp_path: Path) -> None:
    status, _, stderr = start_bot(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-valid-shape",
        SLACK_APP_TOKEN="app-token-SECRET-1",
        LOG_LEVEL="chatty",
    )

    assert status == 2
    assert {line.split(":")[0] for line in problem_lines(stderr)} == {
        "SLACK_APP_TOKEN",
        "LOG_LEVEL",
        "No account configured",
    }
    assert "app-token-SECRET-1" not in stderr


def test_http_mode_without_signing_secret_says_so(tmp_path: Path) -> None:
    status, _, stderr = start_bot(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-valid-shape",
        KALEYRA_API_KEY=KALEYRA_KEY,
        KALEYRA_SID=SID,
        KALEYRA_WABA_ID=WABA_ID,
    )

    assert status == 2
    [line] = problem_lines(stderr)
    assert line.startswith("SLACK_SIGNING_SECRET:") and "SLACK_APP_TOKEN" in line
    assert KALEYRA_KEY not in stderr


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET={SIGNING}\nPORT=abc\n"
    )

    status, _, stderr = start_bot(tmp_path)

    assert status == 2
    named = [line.split(":")[0] for line in problem_lines(stderr)]
    assert named == ["PORT", "No account configured"]  # the token and the signing secret came from .env
    assert SIGNING not in stderr and "xoxb-from-dotenv" not in stderr


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET={SIGNING}\nPORT=abc\nKALEYRA_REGION=in\n"
    )

    # A good PORT in the environment hides the .env's bad one; a bad region in the environment beats the .env's.
    status, _, stderr = start_bot(tmp_path, PORT="3000", KALEYRA_REGION="xx")

    assert status == 2
    assert [line.split(":")[0] for line in problem_lines(stderr)] == [
        "KALEYRA_REGION",
        "No account configured",
    ]


ACCOUNTS_FILES: dict[str, tuple[str, int, str]] = {
    "bad region": (
        'acme:\n  provider: kaleyra\n  sid: HX1\n  api_key_env: ACME_KEY\n  waba_id: "123"\n  region: xx\n',
        6,
        "acme.region",
    ),
    "unset key variable": (
        'acme:\n  provider: kaleyra\n  sid: HX1\n  api_key_env: NOT_SET_ANYWHERE\n  waba_id: "123"\n',
        4,
        "NOT_SET_ANYWHERE",
    ),
    "unknown field": (
        'acme:\n  provider: kaleyra\n  sid: HX1\n  api_key_env: ACME_KEY\n  waba_id: "123"\n\n  colour: blue\n',
        7,
        "acme.colour",
    ),
    "broken YAML": (
        'acme:\n  provider: kaleyra\n  sid: HX1\n sid2: [unclosed\n  waba_id: "123"\n',
        4,
        "not valid YAML",
    ),
    "second account": (
        'acme:\n  provider: kaleyra\n  sid: HX1\n  api_key_env: ACME_KEY\n  waba_id: "123"\n'
        'globex:\n  provider: meta\n  business_id: "42"\n  access_token_env: ACME_KEY\n  api_version: "23"\n',
        10,
        "globex.api_version",
    ),
}


@pytest.mark.parametrize("case", list(ACCOUNTS_FILES))
def test_accounts_file_error_names_the_file_and_line(tmp_path: Path, case: str) -> None:
    text, line, words = ACCOUNTS_FILES[case]
    path = tmp_path / "accounts.yml"
    path.write_text(text)

    status, stdout, stderr = start_bot(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-valid-shape",
        SLACK_SIGNING_SECRET=SIGNING,
        WA_BOT_ACCOUNTS_FILE="accounts.yml",
        ACME_KEY="acme-account-key-SECRET",
    )

    assert status == 2
    [problem] = problem_lines(stderr)
    assert problem.startswith(f"accounts.yml:{line}:"), problem
    assert words in problem
    assert "Traceback" not in stderr + stdout
    assert "acme-account-key-SECRET" not in stdout + stderr


# --- serving ---


async def test_healthz_answers_200_with_json(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    async with running(settings_for(), slack) as person:
        url = person.url.replace("/slack/events", "/healthz")
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            body = await response.json()
    # The bot user and the workspace come from the auth.test that build() asked at start.
    assert body == {
        "ok": True,
        "store": "reachable",
        "accounts": 1,
        "bot_user": "U0BOT",
        "bot_name": "wa-bot",
        "team": "Test",
        "team_id": "T0TEST",
        "schema": head_revision(),
    }
    assert len(slack.calls_of("auth.test")) == 1


async def test_building_the_bot_with_a_refused_token_raises_before_the_store(
    settings_for: Callable[..., Settings], slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.fail("auth.test", "invalid_auth")

    with pytest.raises(SlackRefusedToken) as refused:
        await build(settings_for(database_url=f"sqlite+aiosqlite:///{tmp_path / 'refused.db'}"))

    assert refused.value.error == "invalid_auth"
    assert "SLACK_BOT_TOKEN" in str(refused.value)
    assert not (tmp_path / "refused.db").exists()


async def test_healthz_answers_503_when_the_store_is_unreachable(
    settings_for: Callable[..., Settings], slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(settings_for(), slack) as person:

        async def unreachable() -> None:
            raise ConnectionRefusedError("store is down")

        monkeypatch.setattr(person.bot.store, "ping", unreachable)
        url = person.url.replace("/slack/events", "/healthz")
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 503
            body = await response.json()
    assert body["ok"] is False


def command_form(slack: SlackStandIn, command: str = "/wa-add", text: str = "+91 98765 43210") -> str:
    return urlencode(
        {
            "command": command,
            "text": text,
            "user_id": "U0OPS",
            "user_name": "ops",
            "team_id": "T0TEST",
            "channel_id": "C0OPS",
            "channel_name": "wa-ops",
            "trigger_id": "trigger-1",
            "response_url": slack.response_url("cmd"),
            "api_app_id": "A0TEST",
        }
    )


async def test_http_mode_refuses_a_bad_signature_without_calling_anyone(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    form = "application/x-www-form-urlencoded"
    status, _ = await person.post(command_form(slack), form, secret="not-the-signing-secret")
    assert status == 401

    submission = {
        "type": "view_submission",
        "team": {"id": "T0TEST"},
        "user": {"id": "U0OPS"},
        "view": {
            "callback_id": "wa_add",
            "private_metadata": json.dumps({"channel": "C0OPS"}),
            "state": {"values": {}},
        },
    }
    status, _ = await person.post(urlencode({"payload": json.dumps(submission)}), form, secret="wrong")
    assert status == 401

    await asyncio.sleep(0.2)
    assert kaleyra.requests == []
    assert [c.method for c in slack.calls if c.method.startswith(("views.", "chat."))] == []


async def test_http_mode_refuses_an_old_timestamp_and_a_missing_signature(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    body = command_form(slack)
    old = int(time.time()) - 10 * 60
    headers = signed_headers(body, "application/x-www-form-urlencoded", SIGNING_SECRET, timestamp=old)
    async with aiohttp.ClientSession() as session:
        async with session.post(person.url, data=body, headers=headers) as response:
            assert response.status == 401
        async with session.post(
            person.url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ) as response:
            assert response.status == 401

    await asyncio.sleep(0.1)
    assert kaleyra.requests == []
    assert slack.calls_of("views.open") == []


async def wait_healthy(url: str, process: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError(f"wa-bot exited with {process.returncode} before /healthz answered")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status == 200:
                        body: dict[str, Any] = await response.json()
                        return body
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"/healthz did not answer 200 within {timeout}s")


def stand_in_env(tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn, port: int) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        KALEYRA_SID=SID,
        KALEYRA_API_KEY="test-kaleyra-key",
        KALEYRA_WABA_ID=WABA_ID,
        KALEYRA_BASE_URL=kaleyra.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        HOST="127.0.0.1",
        PORT=str(port),
    )


def default_sigint() -> None:
    """A child started from a shell without job control inherits SIGINT ignored; Ctrl-C must reach it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_a_good_start_in_http_mode_serves_healthz_and_slack(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=stand_in_env(tmp_path, slack, kaleyra, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        health = await wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=10)
        assert health["ok"] is True
        assert (health["bot_user"], health["team"]) == ("U0BOT", "Test")

        # The real process answers a signed slash command and opens the add modal on "Slack".
        status, _ = await Person(f"http://127.0.0.1:{port}/slack/events", slack, None).command(  # type: ignore[arg-type]
            "/wa-add", "+91 98765 43210 Acme"
        )
        assert status == 200
        opened = await slack.wait_for("views.open")
        assert opened.args["view"]["callback_id"] == "wa_add"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    output = (stdout + stderr).decode()
    assert process.returncode is not None
    assert "WA_BOT_ALLOWED_USERS" in output  # the open-door warning at start
    assert "Traceback" not in output
    for secret in (SIGNING_SECRET, "test-kaleyra-key", "xoxb-test-token"):
        assert secret not in output


async def test_ctrl_c_stops_the_bot_cleanly(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=stand_in_env(tmp_path, slack, kaleyra, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=10)
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert "Traceback" not in stderr.decode()


GOOD_SETTINGS = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_SIGNING_SECRET": SIGNING,
    "KALEYRA_SID": SID,
    "KALEYRA_API_KEY": KALEYRA_KEY,
    "KALEYRA_WABA_ID": WABA_ID,
    "HOST": "127.0.0.1",
}


@pytest.mark.parametrize("url", ["not-a-url", "mysql://wa@127.0.0.1:3306/wa"])
def test_a_malformed_database_url_is_a_settings_problem(tmp_path: Path, url: str) -> None:
    status, stdout, stderr = start_bot(tmp_path, DATABASE_URL=url, PORT=str(free_port()), **GOOD_SETTINGS)

    assert status == 2
    assert [line.split(":")[0] for line in problem_lines(stderr)] == ["DATABASE_URL"]
    assert "Traceback" not in stdout + stderr


async def test_an_unreachable_store_stops_the_start_without_its_password(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    url = f"postgresql+asyncpg://wa:db-pass-SECRET-31@127.0.0.1:{free_port()}/wa"
    status, stdout, stderr = await wa_bot(
        tmp_path, DATABASE_URL=url, PORT=str(free_port()), SLACK_API_URL=slack.api_url, **GOOD_SETTINGS
    )

    assert status != 0
    assert "db-pass-SECRET-31" not in stdout + stderr
    for secret in (SIGNING, KALEYRA_KEY):
        assert secret not in stdout + stderr


async def test_an_unreachable_store_is_reported_in_one_line(tmp_path: Path, slack: SlackStandIn) -> None:
    url = f"postgresql+asyncpg://wa:db-pass-SECRET-31@127.0.0.1:{free_port()}/wa"
    _, stdout, stderr = await wa_bot(
        tmp_path, DATABASE_URL=url, PORT=str(free_port()), SLACK_API_URL=slack.api_url, **GOOD_SETTINGS
    )

    assert "Traceback" not in stdout + stderr
    assert "DATABASE_URL" in stderr


# --- the Slack token: a bot token, and one Slack accepts ---


@pytest.mark.parametrize("token", ["xoxp-1111-2222-UsErToKeN", "xapp-1-A0TEST-AppToKeN"])
def test_a_token_that_is_not_a_bot_token_stops_with_status_2(tmp_path: Path, token: str) -> None:
    settings = {**GOOD_SETTINGS, "SLACK_BOT_TOKEN": token}
    status, stdout, stderr = start_bot(tmp_path, PORT=str(free_port()), **settings)

    assert status == 2
    [line] = problem_lines(stderr)
    assert line.startswith("SLACK_BOT_TOKEN:") and "not a bot token" in line and "xoxb-" in line
    assert token not in stdout + stderr
    assert "Traceback" not in stdout + stderr


async def test_a_token_slack_refuses_stops_the_start_with_status_2_before_the_store(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    slack.fail("auth.test", "token_revoked")
    store = tmp_path / "bot.db"

    status, stdout, stderr = await wa_bot(
        tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{store}",
        PORT=str(free_port()),
        SLACK_API_URL=slack.api_url,
        **GOOD_SETTINGS,
    )

    assert status == 2
    assert stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith("wa-bot cannot start: SLACK_BOT_TOKEN: ") and "token_revoked" in line
    assert [call.method for call in slack.calls] == ["auth.test"]
    assert not store.exists()  # a start Slack refuses changes nothing: the store is not even created
    for secret in ("xoxb-test-token", SIGNING, KALEYRA_KEY):
        assert secret not in stderr


async def test_slack_out_of_reach_stops_the_start_with_status_1(tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/api/"

    status, stdout, stderr = await wa_bot(
        tmp_path, PORT=str(free_port()), SLACK_API_URL=unreachable, **GOOD_SETTINGS
    )

    assert status == 1
    assert stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith("wa-bot cannot start: SLACK_API_URL: ") and unreachable in line
    assert "xoxb-test-token" not in stderr
