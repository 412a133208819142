"""Acknowledgements first: work after an acknowledgement waits for the requests still waiting for theirs."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from handlers.acks import Acknowledgements


async def test_work_waits_until_no_request_waits_for_its_answer_and_never_longer_than_its_patience() -> None:
    acks = Acknowledgements(patience=0.5)
    started = time.monotonic()
    await acks.settled()  # nothing pending: at once
    assert time.monotonic() - started < 0.05

    answer = asyncio.Event()

    async def slow(_: web.Request) -> web.StreamResponse:
        await answer.wait()
        return web.Response()

    request = asyncio.create_task(acks.middleware(make_mocked_request("POST", "/slack/events"), slow))
    await asyncio.sleep(0)
    assert acks.pending == 1
    waiting = asyncio.create_task(acks.settled())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    answer.set()
    await request
    await asyncio.wait_for(waiting, 0.1)  # the answer left: the work goes on

    never = asyncio.Event()

    async def stuck(_: web.Request) -> web.StreamResponse:
        await never.wait()
        return web.Response()

    hanging = asyncio.create_task(acks.middleware(make_mocked_request("POST", "/slack/events"), stuck))
    await asyncio.sleep(0)
    started = time.monotonic()
    await acks.settled()  # a request that never ends delays the work by `patience`, no more
    assert 0.45 < time.monotonic() - started < 1.0
    hanging.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await hanging
    assert acks.pending == 0
