"""A forward HTTP proxy on loopback, as HTTP_PROXY names one: it passes each plain-http request on and notes it."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from ._server import LocalServer

# Hop-by-hop headers (RFC 9110 §7.6.1) stay with the hop; aiohttp sets its own length and host.
NOT_PASSED_ON = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class HttpProxyStandIn(LocalServer):
    """Plain http only (no CONNECT): the stand-ins it reaches are http on loopback."""

    def __init__(self) -> None:
        super().__init__()
        self.passed_on: list[str] = []  # "METHOD absolute-url" of every request it forwarded
        self._session: aiohttp.ClientSession | None = None

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._pass_on)
        return app

    async def _pass_on(self, request: web.Request) -> web.StreamResponse:
        # A client speaking to a proxy puts the whole URL in the request line: scheme, host and path.
        target = str(request.url)
        if self._session is None:
            self._session = aiohttp.ClientSession()  # never trust_env: it must not proxy through itself
        headers = {
            name: value for name, value in request.headers.items() if name.lower() not in NOT_PASSED_ON
        }
        self.passed_on.append(f"{request.method} {target}")
        async with self._session.request(
            request.method, target, headers=headers, data=await request.read(), allow_redirects=False
        ) as answer:
            body = await answer.read()
            kept = {
                n: v
                for n, v in answer.headers.items()
                if n.lower() not in NOT_PASSED_ON | {"content-encoding"}
            }
            return web.Response(status=answer.status, body=body, headers=kept)

    async def _before_stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
