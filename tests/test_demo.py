"""`wa-bot demo`: the real bot, the sandbox and the demo's Slack stand-in play a session with no setting at all."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import free_port

import bot.demo
from bot.demo import GO_LIVE, demo, main
from bot.demo import script as demo_script

# Settings that would break a start if the demo read them: every one must be ignored.
JUNK = {
    "SLACK_BOT_TOKEN": "not-a-token",
    "SLACK_SIGNING_SECRET": "",
    "SLACK_APP_TOKEN": "xapp-junk",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",
    "SLACK_CLIENT_ID": "1.2",  # with a client secret, Bolt would start its OAuth flow
    "SLACK_CLIENT_SECRET": "junk",
    "DATABASE_URL": "postgresql+asyncpg://nobody:secret@127.0.0.1:9/nothing",
    "KALEYRA_SID": "HXJUNK",
    "KALEYRA_REGION": "mars",
    "WA_BOT_ACCOUNTS_FILE": "/nonexistent/accounts.yml",
    "WA_BOT_ALLOWED_USERS": "U0SOMEONEELSE",
    "WA_BOT_SANDBOX": "0",
    "PORT": "not-a-port",
    "LOG_LEVEL": "LOUD",
}

# What a person must be able to follow in the transcript, in this order.
STEPS = [
    "@ops in #wa-ops: /wa-add +91 98765 43210 Acme Support",
    "Phone number:    +91 98765 43210",
    "Display name:    Acme Support",
    "Send the OTP by: SMS",
    "[ Add ] ← pressed",
    "✓ Added (add, by @ops)",
    "SANDBOX: no SMS is sent; the code that works is",
    "[ Enter OTP ]  [ Resend code ]",
    "@ops clicks [ Resend code ]",
    "✉ New code requested (resend, by @ops)",
    "Sandbox is sending a new code to +919876543210 by SMS.",
    "OTP: 123456",
    "⚠ Sandbox WA400 · Incorrect OTP format",
    "Next: The code was not accepted:",  # a well-formed wrong code is worded as a wrong code
    "State: Verified ✓",  # the parent, as last edited, then the replies
    "✓ Verified (verify, by @ops)",
    "@ops in #wa-ops: /wa-update +91 98765 43210",
    "About:",
    "Profile updated (update, by @ops)",
    "• address: Bandra Kurla Complex, Mumbai 400051",
    "@ops in #wa-ops: /wa-numbers +91 98765 43210",  # one number's history, newest first
    "+919876543210: Verified ✓",
    "update by @ops · ok · WA200",
    "verify by @ops · ok · WA200",
    "verify by @ops · failed · WA400 Incorrect OTP format",
    "resend by @ops · ok · WA200",
    "add by @ops · ok · WA200",
    "@ops in #wa-ops: /wa-add +44 20 7946 0958",
    "Display name:    sandbox:try_later",
    "✗ The add failed (asked by @ops)",
    "Sandbox WA500 · Please try again later",
    "Next: Kaleyra had a temporary problem: try again in a few minutes.",
    "[ Retry ]",
    "@ops clicks [ Retry ]",
    "#wa-ops · thread · 2 replies",
    "✗ The add failed (asked by @ops)",  # the second attempt, in the same thread
    "@ops in #wa-ops: /wa-add bulk",
    "+91 98765 43299, sandbox:already_exists",
    "[ Add all ] ← pressed",
    "SANDBOX · Bulk add #1 · 10 lines",
    "9 added · 1 failed · 0 left · finished in",
    "Bulk add #1 finished in",
    "• line 10 · +919876543299 · WA400 phone number already exists",
    "@ops in #wa-ops: /wa-numbers",
    "wa-bot · Only visible to you",
    "WhatsApp numbers (12)",
    "+919876543210 · Acme Support",
    "╭─ wa-bot · Home",  # the App Home, those that need a person first
    "SANDBOX: no provider is called",
    "[ Add number ]",
    "Awaiting OTP: enter the code (9)",
    "✗ Failed (2)",
    "✓ Verified (1)",
    "+919876543210 · Acme Support",
    "/wa-numbers audit 30 sends @ops, by DM, a CSV",
    "requested_at,finished_at,user_id,action,phone_number,account,outcome,provider_code,provider_message",
    ",U0OPS,add,+919876543210,sandbox,ok,WA200,",
    ",U0OPS,resend,+919876543210,sandbox,ok,WA200,",
]


def assert_the_session_is_told(transcript: str) -> None:
    position = 0
    for words in STEPS:
        found = transcript.find(words, position)
        assert found >= 0, f"{words!r} is missing (after position {position}):\n{transcript}"
        position = found
    assert transcript.rstrip().endswith(GO_LIVE.split()[-1])
    assert " ".join(GO_LIVE.split()) in " ".join(transcript.split())
    assert max(len(line) for line in transcript.splitlines()) <= 100
    for mrkdwn in ("<@", "*", "`Acme", "&amp;", "&lt;", ":white_check_mark:", ":hourglass", "<https://"):
        assert mrkdwn not in transcript


def test_wa_bot_demo_runs_with_an_empty_environment_and_leaves_nothing_behind(tmp_path: Path) -> None:
    # Given an empty environment (PATH, HOME and a temporary folder of its own) and a .env full of junk
    workdir, home, temporary = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for folder in (workdir, home, temporary):
        folder.mkdir()
    dotenv = "".join(f"{name}={value}\n" for name, value in JUNK.items())
    (workdir / ".env").write_text(dotenv)
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TMPDIR": str(temporary)}

    # When wa-bot demo runs
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started

    # Then it tells the whole session and exits 0, quickly, without a warning
    assert (finished.returncode, finished.stderr) == (0, ""), finished.stdout + finished.stderr
    assert elapsed < 20
    assert_the_session_is_told(finished.stdout)
    # And nothing is left: not the temporary store, not a file in the working folder or home
    assert names_in(temporary) == []
    assert names_in(workdir) == [".env"]
    assert names_in(home) == []


def test_wa_bot_help_lists_demo(tmp_path: Path) -> None:
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert finished.returncode == 0 and "demo" in finished.stdout


class RecordedTemporaryDirectory(tempfile.TemporaryDirectory[str]):
    """A TemporaryDirectory that remembers its path and what it held when it was removed."""

    made: ClassVar[list[Path]] = []
    held: ClassVar[list[str]] = []

    def __init__(self, prefix: str | None = None) -> None:
        super().__init__(prefix=prefix)
        RecordedTemporaryDirectory.made.append(Path(self.name))

    def cleanup(self) -> None:
        RecordedTemporaryDirectory.held = sorted(p.name for p in Path(self.name).iterdir())
        super().cleanup()


@pytest.fixture
def recorded_folder(monkeypatch: pytest.MonkeyPatch) -> type[RecordedTemporaryDirectory]:
    RecordedTemporaryDirectory.made, RecordedTemporaryDirectory.held = [], []
    monkeypatch.setattr(bot.demo.tempfile, "TemporaryDirectory", RecordedTemporaryDirectory)
    return RecordedTemporaryDirectory


async def test_the_demo_ignores_the_environment_and_a_proxy_in_process(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    recorded_folder: type[RecordedTemporaryDirectory],
) -> None:
    # Given every setting set to junk, a .env of junk, and a proxy that answers nothing
    for name, value in JUNK.items():
        monkeypatch.setenv(name, value)
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HTTPS_PROXY", dead_proxy)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    (tmp_path / ".env").write_text("".join(f"{name}={value}\n" for name, value in JUNK.items()))
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.INFO)
    out = io.StringIO()

    # When the demo's coroutine runs
    await demo(out)

    # Then the session is told, with no warning logged
    assert_the_session_is_told(out.getvalue())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    # And its store lived in its own temporary folder, which is gone; the proxy settings are back
    [folder] = recorded_folder.made
    assert "wa-bot.db" in recorded_folder.held and not folder.exists()
    assert os.environ["HTTPS_PROXY"] == dead_proxy and os.environ["SLACK_BOT_TOKEN"] == "not-a-token"
    assert names_in(tmp_path) == [".env"]


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_failing_demo_says_why_in_one_line_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    recorded_folder: type[RecordedTemporaryDirectory],
) -> None:
    # Given a person who cannot find the code in the thread
    monkeypatch.setattr(demo_script, "SANDBOX_CODE", demo_script.re.compile(r"no such words"))
    monkeypatch.setattr(bot.demo.logs, "configure", lambda *_: None)  # the test's logging stays as it is

    # When wa-bot demo runs
    with pytest.raises(SystemExit) as stopped:
        main()

    # Then it stops with exit 1 and one line naming what did not happen, and still leaves nothing behind
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["wa-bot demo failed: the Added reply shows no SANDBOX code"]
    [folder] = recorded_folder.made
    assert not folder.exists()
