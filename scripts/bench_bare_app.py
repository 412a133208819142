"""The benchmark's baseline: a bare Bolt `AsyncApp` on wa-bot's aiohttp stack that only acknowledges.

Its slash commands acknowledge and open a trivial modal through `views.open`; its view submissions only
acknowledge. It is served exactly as wa-bot serves HTTP mode (`AsyncApp.web_app()` under an aiohttp
`AppRunner`/`TCPSite`, `process_before_response=False`), so the difference between the two is wa-bot's own work.
`scripts/bench.py` starts it as its own process:

    SLACK_SIGNING_SECRET=… python scripts/bench_bare_app.py PORT SLACK_API_URL
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

TRIVIAL_MODAL = {
    "type": "modal",
    "callback_id": "bare_modal",
    "title": {"type": "plain_text", "text": "Bare"},
    "close": {"type": "plain_text", "text": "Close"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Nothing to see."}}],
}


def bare_app(slack_api_url: str, signing_secret: str, session: aiohttp.ClientSession) -> AsyncApp:
    """The fastest this stack answers: keep-alive connections to Slack (`session`), nothing before ack()."""
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-test-token", base_url=slack_api_url, session=session),
        signing_secret=signing_secret,
        process_before_response=False,
    )

    @app.command(re.compile(".*"))
    async def command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=TRIVIAL_MODAL)

    @app.view(re.compile(".*"))
    async def submission(ack: AsyncAck) -> None:
        await ack()

    return app


async def serve(port: int, slack_api_url: str, signing_secret: str) -> None:
    session = aiohttp.ClientSession()
    runner = web.AppRunner(bare_app(slack_api_url, signing_secret, session).web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await session.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], os.environ["SLACK_SIGNING_SECRET"]))
