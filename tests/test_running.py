"""Running it for real: the command line (--version, --sandbox after the command, each command's --help), settings
that cannot fool anyone (.env.example's placeholders), and the sandbox's numbers kept out of live use."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from conftest import ROOT, SIGNING_SECRET, Person, clean_env, free_port, running, wa_bot
from standins import KaleyraStandIn, SlackStandIn
from test_sandbox import NO_PROVIDER, add
from test_startup import stand_in_env, wait_healthy
from test_v2_failures import reply_saying

from bot.app import build
from bot.settings import Settings
from bot.store import StoreServesOther

COMMANDS = ("run", "migrate", "check", "demo")


# --- the command line ---


async def test_version_prints_the_version_of_the_package(tmp_path: Path) -> None:
    status, stdout, stderr = await wa_bot(tmp_path, "--version")

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (status, stdout.strip(), stderr) == (0, f"wa-bot {version}", "")


@pytest.mark.parametrize("command", COMMANDS)
async def test_each_command_has_a_description_of_its_own(tmp_path: Path, command: str) -> None:
    status, stdout, _ = await wa_bot(tmp_path, command, "--help")

    assert status == 0
    # argparse prints the description between the usage and the options: empty before there was one
    described = stdout.split("\n\n")[1]
    assert not described.startswith("options:") and len(described.split()) >= 15, stdout
    assert "--sandbox" in stdout.split("\n\n")[0]  # accepted after the command too


@asynccontextmanager
async def serving(
    cwd: Path, env: dict[str, str], slack: SlackStandIn, *arguments: str
) -> AsyncIterator[tuple[Person, dict[str, str]]]:
    """`python -m bot …arguments` serving on env's PORT; a Person talking to it, and /healthz's answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *arguments,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        health = await wait_healthy(f"{base}/healthz", process, timeout=15)
        yield Person(f"{base}/slack/events", slack, None), health  # type: ignore[arg-type]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert "Traceback" not in stderr.decode()


def live_env(tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn) -> dict[str, str]:
    """The live settings, pointed at the stand-ins, with the store left at its default (no DATABASE_URL)."""
    env = stand_in_env(tmp_path, slack, kaleyra, free_port())
    del env["DATABASE_URL"]
    return env


def sandbox_env(tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn) -> dict[str, str]:
    """The same, with no provider account: what a first try in one's workspace sets."""
    env = live_env(tmp_path, slack, kaleyra)
    for name in ("KALEYRA_SID", "KALEYRA_API_KEY", "KALEYRA_WABA_ID", "KALEYRA_BASE_URL"):
        del env[name]
    return env


async def test_sandbox_after_the_command_serves_the_sandbox_on_its_own_store_and_live_never_shows_it(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given `wa-bot run --sandbox` in a folder, with no DATABASE_URL, where a person adds a number
    sandbox = sandbox_env(tmp_path, slack, kaleyra)
    async with serving(tmp_path, sandbox, slack, "run", "--sandbox") as (person, health):
        assert health["accounts"] == 1
        await add(person)
        await reply_saying(slack, "Added")
    # Then the sandbox kept it in wa-bot-sandbox.db, and the live store was never made
    assert (tmp_path / "wa-bot-sandbox.db").is_file() and not (tmp_path / "wa-bot.db").exists()

    # When the live bot starts in the same folder
    async with serving(tmp_path, live_env(tmp_path, slack, kaleyra), slack, "run") as (person, _):
        await person.command("/wa-numbers")
        listed = await slack.wait_for("response_url:cmd")

    # Then its list holds none of the sandbox's numbers, and no provider was called by either
    assert "no numbers yet" in str(listed.args)
    assert kaleyra.requests == []


# --- .env.example ---


def test_env_example_leaves_every_account_line_commented_out() -> None:
    set_lines = [
        line for line in (ROOT / ".env.example").read_text().splitlines() if re.match(r"^[A-Z]", line)
    ]

    assert [line.split("=")[0] for line in set_lines] == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]


async def test_env_example_copied_as_env_fails_check_naming_each_placeholder(
    tmp_path: Path, kaleyra: KaleyraStandIn
) -> None:
    # Given .env.example copied as .env
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")

    # When wa-bot check runs
    status, stdout, _ = await wa_bot(tmp_path, "check")

    # Then it fails, naming the Slack placeholders and the missing account
    assert status == 1
    failed = [line for line in stdout.splitlines() if line.startswith("FAIL")]
    assert any(line.startswith("FAIL settings: SLACK_BOT_TOKEN: still the placeholder") for line in failed)
    assert any(
        line.startswith("FAIL settings: SLACK_SIGNING_SECRET: still the placeholder") for line in failed
    )
    assert any("No account configured" in line for line in failed)
    assert "ok   accounts" not in stdout

    # When the Kaleyra lines are uncommented as they are
    env = (tmp_path / ".env").read_text()
    (tmp_path / ".env").write_text(re.sub(r"^# (KALEYRA_(SID|API_KEY|WABA_ID)=)", r"\1", env, flags=re.M))
    status, stdout, _ = await wa_bot(tmp_path, "check")
    started, _, stderr = await wa_bot(tmp_path, KALEYRA_BASE_URL=kaleyra.base_url)

    # Then check and the start refuse each of them by name (exit 1 and 2), and nothing reaches Kaleyra
    assert status == 1 and started == 2
    for name in ("KALEYRA_SID", "KALEYRA_API_KEY", "KALEYRA_WABA_ID"):
        assert f"FAIL settings: {name}: still the placeholder from .env.example" in stdout
        assert f"  {name}: still the placeholder from .env.example" in stderr
    assert "your-waba-id" not in stdout + stderr
    assert kaleyra.requests == []


# --- a store serves live numbers or the sandbox's ---


async def test_a_store_that_served_the_sandbox_is_refused_to_live_use_and_back(
    database_url: str, settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    # Given a store where the sandbox added a number
    async with running(
        settings_for(database_url=database_url, wa_bot_sandbox=True, **NO_PROVIDER), slack
    ) as person:
        await add(person)
        await reply_saying(slack, "Added")

    # Then a live start on it is refused, naming DATABASE_URL and where the live store is by default
    with pytest.raises(StoreServesOther) as refused:
        await build(settings_for(database_url=database_url))
    assert "DATABASE_URL: this store serves the sandbox" in str(refused.value)
    assert "wa-bot.db" in str(refused.value)

    # And the sandbox still starts on it
    async with running(settings_for(database_url=database_url, wa_bot_sandbox=True, **NO_PROVIDER), slack):
        pass


async def test_a_live_start_on_a_sandbox_store_exits_2_and_check_fails_it(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    env = stand_in_env(tmp_path, slack, kaleyra, free_port())
    variables = {name: env[name] for name in env if name not in clean_env()}
    # Given a store the sandbox served first
    async with serving(tmp_path, {**env, "WA_BOT_SANDBOX": "1"}, slack):
        pass

    # When the live bot starts on it, and when check looks at it
    status, _, stderr = await wa_bot(tmp_path, **variables)
    checked, stdout, _ = await wa_bot(tmp_path, "check", **variables)

    # Then the start stops with exit status 2 in one line, and check fails the store
    assert status == 2
    assert [line for line in stderr.splitlines() if "wa-bot cannot start" in line] == [
        "wa-bot cannot start: DATABASE_URL: this store serves the sandbox "
        f"(since {line_date(stderr)}) and live use never shares one with it: point DATABASE_URL at the live "
        "store (unset, it is wa-bot.db)"
    ]
    assert checked == 1
    assert re.search(r"^FAIL store: .* reachable; DATABASE_URL: this store serves the sandbox", stdout, re.M)
    assert SIGNING_SECRET not in stderr + stdout


def line_date(text: str) -> str:
    found = re.search(r"since (\d{4}-\d\d-\d\d)", text)
    assert found, text
    return found.group(1)
