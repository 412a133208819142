"""A local stand-in for Meta's Graph API endpoint POST /{version}/{business_id}/add_phone_numbers."""

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._server import LocalServer, parse_body, respond, wait_until
from .documented import META_ADD_OK, META_ERRORS


@dataclass
class MetaRequest:
    """One request the stand-in received; header names are lower-cased, `query` holds URL parameters."""

    version: str
    business_id: str
    headers: dict[str, str]
    json: Any
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class _QueuedAnswer:
    body: Any
    status: int
    headers: dict[str, str] | None
    delay: float


class MetaStandIn(LocalServer):
    """Answers 200 {"id": ...} to the right bearer token and 401 otherwise, unless answers are queued."""

    def __init__(self, access_token: str = "test-meta-token") -> None:
        super().__init__()
        self.access_token = access_token
        self.requests: list[MetaRequest] = []
        self._queued: deque[_QueuedAnswer] = deque()

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{business_id}/add_phone_numbers", self._add_phone_numbers)
        return app

    def queue(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None, *, delay: float = 0.0
    ) -> None:
        """Answer the next request with `body` (dict → JSON, str → raw text/html), once, in FIFO order."""
        self._queued.append(_QueuedAnswer(body, status, headers, delay))

    async def wait_for_requests(
        self,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[MetaRequest]:
        return await wait_until(
            lambda: list(self.requests) if len(self.requests) >= n else None,
            timeout,
            lambda: (
                f"expected at least {n} Meta request(s) within {timeout}s, got {len(self.requests)}: "
                f"{[(r.business_id, r.json) for r in self.requests]}"
            ),
        )

    async def _add_phone_numbers(self, request: web.Request) -> web.Response:
        self.requests.append(
            MetaRequest(
                version=request.match_info["version"],
                business_id=request.match_info["business_id"],
                headers={name.lower(): value for name, value in request.headers.items()},
                json=parse_body(await request.text()),
                query=dict(request.query),
            )
        )
        if self._queued:
            answer = self._queued.popleft()
            await asyncio.sleep(answer.delay)
            return respond(answer.body, answer.status, answer.headers)
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return respond(META_ERRORS[401], 401)
        return respond(META_ADD_OK)
