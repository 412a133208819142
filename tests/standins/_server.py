"""Start/stop plumbing and small helpers shared by the local HTTP stand-ins."""

import asyncio
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

T = TypeVar("T")


class LocalServer:
    """An aiohttp app on 127.0.0.1 and a port chosen by the OS; `start()`/`stop()` or `async with`."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        # "METHOD /path" of every request that reached the server, whether a route answers it or not.
        self.received: list[str] = []

    def _build_app(self) -> web.Application:
        raise NotImplementedError

    async def _before_stop(self) -> None:
        """Close long-lived connections (WebSockets) so shutdown does not wait for them."""

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        # A short shutdown timeout: a handler still sleeping in a queued `delay` must not hold up stop().
        app = self._build_app()
        app.middlewares.append(self._record)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.received.append(f"{request.method} {request.path}")
        return await handler(request)

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self._before_stop()
        await self._runner.cleanup()
        self._runner = None
        self._port = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


# Every wait in the stand-ins takes `timeout` in seconds rather than asyncio.timeout() (ruff ASYNC109):
# `await slack.wait_for("chat.postMessage", timeout=1)` reads best in a test.
async def wait_until(
    check: Callable[[], T | None],
    timeout: float,  # noqa: ASYNC109
    describe_failure: Callable[[], str],
) -> T:
    """Poll `check` until it returns something other than None; AssertionError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if loop.time() >= deadline:
            raise AssertionError(describe_failure())
        await asyncio.sleep(0.01)


def parse_body(text: str) -> Any:
    """The JSON value of a request body, or the raw text when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A str body goes out raw as text/html (e.g. a proxy's 502 page); anything else as JSON."""
    if isinstance(body, str):
        return web.Response(text=body, status=status, content_type="text/html", headers=headers)
    return web.json_response(body, status=status, headers=headers)
