"""The benchmark's load generator, a process of its own: it signs each request as Slack does and times the answer.

`scripts/bench.py` starts it once and drives it through its standard input, one JSON object a line:

    {"url": "http://127.0.0.1:PORT/slack/events", "bodies": ["…", …], "content_type": "…", "concurrency": 50}

and reads one JSON line back per load: when the first request left and the last answer came (time.monotonic(),
which is one clock for every process on the machine), each request's seconds to its answer, and any answer that
was not an empty HTTP 200 (an acknowledgement with nothing to say).

    SLACK_SIGNING_SECRET=… python scripts/bench_load.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp

from bot.slack.signing import signed_headers


async def load(
    secret: str, url: str, bodies: list[str], content_type: str, concurrency: int
) -> dict[str, Any]:
    """Every body posted to `url`, at most `concurrency` at once, over keep-alive connections."""
    seconds = [0.0] * len(bodies)
    unexpected: list[str] = []
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(i: int) -> None:
            async with limit:
                headers = signed_headers(bodies[i], content_type, secret)
                sent = time.monotonic()
                async with session.post(url, data=bodies[i], headers=headers) as response:
                    text = await response.text()
                seconds[i] = time.monotonic() - sent
                if response.status != 200 or text:
                    unexpected.append(f"HTTP {response.status} {text[:200]}")

        started = time.monotonic()
        await asyncio.gather(*(send(i) for i in range(len(bodies))))
        finished = time.monotonic()
    return {"started": started, "finished": finished, "seconds": seconds, "unexpected": unexpected}


async def main(secret: str) -> None:
    reader = asyncio.StreamReader(limit=2**30)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        order = json.loads(line)
        result = await load(
            secret, order["url"], order["bodies"], order["content_type"], order["concurrency"]
        )
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(os.environ["SLACK_SIGNING_SECRET"]))
