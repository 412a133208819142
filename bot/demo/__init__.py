"""`wa-bot demo`: the real bot on embedded defaults, driven through a scripted Slack session, in one process.

No setting, no Slack and no provider: the bot is built as at any start (build(), web_app(), Bolt's request
handling and signature checks) on a loopback port, with a temporary SQLite store (migrated as at any start) in a
temporary folder removed at the end, the sandbox instead of the providers, and a generated signing secret and bot
token that a Slack stand-in (bot/demo/slack.py) accepts. The environment and any .env are ignored.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from bot import logs
from bot.app import Bot, build
from bot.demo.script import CHANNEL_ID, CHANNEL_NAME, PERSON_ID, PERSON_NAME, Person, Session
from bot.demo.slack import DemoFailed, SlackStandIn
from bot.demo.transcript import Transcript
from bot.settings import Settings
from bot.slack.audit import write_csv
from bot.web import web_app

GO_LIVE = (
    "Next, in your workspace with no public URL: create the Slack app from manifest.socket-mode.yml and run "
    "`wa-bot run --sandbox` (docs/first-try.md, step by step). Go live: set SLACK_BOT_TOKEN and an account "
    "(README: Create the Slack app, Settings), `wa-bot check`, then `wa-bot`."
)
# Slack's libraries read these from the environment on their own, whatever the settings say: Bolt takes
# SLACK_BOT_TOKEN (and warns that the client's token wins), SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (and turns
# on its OAuth flow), SLACK_VERIFICATION_TOKEN; slack_sdk sends every call through a proxy, loopback included.
# The demo hides them while it runs, and puts them back.
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
TIMEOUT_SECONDS = 60


def demo_settings(folder: Path, slack_api_url: str, bot_token: str, signing_secret: str) -> Settings:
    """Every setting given here, so neither the environment nor a .env can change the demo."""
    defaults = {
        name: field.default for name, field in Settings.model_fields.items() if not field.is_required()
    }
    values: dict[str, Any] = {
        **defaults,
        "slack_bot_token": bot_token,
        "slack_signing_secret": signing_secret,
        "slack_api_url": slack_api_url,
        "host": "127.0.0.1",
        "database_url": f"sqlite+aiosqlite:///{folder / 'wa-bot.db'}",
        "wa_bot_sandbox": True,
        "wa_bot_allowed_users": PERSON_ID,  # the demo's workspace has one person, and only they may act
        "wa_bot_resend_cooldown_seconds": 0,  # the session shows Resend code at once, not a minute later
        "log_level": "WARNING",
    }
    return Settings(_env_file=None, **values)


async def demo(out: TextIO) -> None:
    """Start the bot and the stand-in, play the session, print it to `out`, and leave nothing behind."""
    started = time.monotonic()
    bot_token = f"xoxb-demo-{secrets.token_hex(12)}"
    signing_secret = secrets.token_hex(16)
    slack = SlackStandIn(bot_token, people={PERSON_ID: PERSON_NAME}, channels={CHANNEL_ID: CHANNEL_NAME})
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wa-bot-demo-")))
        stack.enter_context(_hidden_from_slack_libraries())
        await slack.start()
        stack.push_async_callback(slack.stop)
        bot = await build(
            demo_settings(folder, slack.api_url, bot_token, signing_secret), backoff_seconds=0.01
        )
        stack.push_async_callback(bot.close, 5)
        runner = web.AppRunner(web_app(bot), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        events_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        session = await stack.enter_async_context(aiohttp.ClientSession())

        transcript = Transcript(out, slack.names, slack.channels)
        transcript.line(
            f"wa-bot demo: the real bot serves {events_url} with the sandbox (no provider is called), a "
            "throwaway SQLite store and a Slack stand-in in this process. Every step below is a request signed "
            f"as Slack signs it; @{PERSON_NAME} is the one person in the workspace."
        )
        async with asyncio.timeout(TIMEOUT_SECONDS):
            played = Session(Person(events_url, signing_secret, slack, session), slack, transcript)
            await played.run(lambda: _audit_lines(bot))
    transcript.line()
    transcript.line(f"Done in {time.monotonic() - started:.1f} s; nothing was kept.")
    transcript.line(GO_LIVE)


async def _audit_lines(bot: Bot) -> list[str]:
    """The audit CSV of the last 30 days as `/wa-numbers audit` writes it (the demo's Slack takes no files)."""
    out = io.StringIO()
    await write_csv(bot.numbers.audit(30), out)
    return out.getvalue().splitlines()


@contextmanager
def _hidden_from_slack_libraries() -> Iterator[None]:
    hidden = [name for name in os.environ if name.startswith("SLACK_") or name in PROXY_VARIABLES]
    saved = {name: os.environ.pop(name) for name in hidden}
    try:
        yield
    finally:
        os.environ.update(saved)


def main() -> None:
    """`wa-bot demo`: exit 0 after the session, or one line and exit 1."""
    logs.configure("WARNING", [])
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a terminal that cannot show ✓ or · still reads the rest
    try:
        asyncio.run(demo(sys.stdout))
    except DemoFailed as error:
        _fail(str(error))
    except TimeoutError:
        _fail(f"the session did not finish within {TIMEOUT_SECONDS} s")
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as error:
        _fail(f"{type(error).__name__}: {error}")


def _fail(reason: str) -> None:
    print(f"wa-bot demo failed: {reason.splitlines()[0] if reason else 'no reason given'}", file=sys.stderr)
    raise SystemExit(1)
