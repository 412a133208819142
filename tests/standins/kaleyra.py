"""A local stand-in for Kaleyra's WhatsApp number APIs (v2 add/verify/update/retry_otp and v1 add)."""

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._server import LocalServer, parse_body, respond, wait_until
from .documented import (
    V1_ADD_OK,
    V2_ADD_FAILURES,
    V2_ADD_OK,
    V2_RETRY_OTP_OK,
    V2_UPDATE_OK,
    V2_VERIFY_OK,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPERATIONS = ("v2_add", "v2_verify", "v2_update", "v2_retry_otp", "v1_add")

SUCCESS_BODIES: dict[str, dict[str, Any]] = {
    "v2_add": V2_ADD_OK,
    "v2_verify": V2_VERIFY_OK,
    "v2_update": V2_UPDATE_OK,
    "v2_retry_otp": V2_RETRY_OTP_OK,
    "v1_add": V1_ADD_OK,
}

# The documents give bodies but no HTTP statuses for these two; 401 is our assumption.
INCORRECT_SID_OR_KEY_STATUS = 401
WABA_NOT_FOUND_STATUS = 401


@dataclass
class KaleyraRequest:
    """One request the stand-in received; header names are lower-cased."""

    operation: str
    method: str
    path: str
    sid: str
    waba_id: str | None
    headers: dict[str, str]
    json: Any
    at: float = field(default_factory=time.monotonic)  # when it arrived (to check a rate limit)

    @property
    def e164(self) -> str | None:
        """The number a v2 add (country_code + phone_number) or a v1 add (wa_number) is about."""
        body = self.json if isinstance(self.json, dict) else {}
        if "wa_number" in body:
            return str(body["wa_number"])
        if "country_code" in body and "phone_number" in body:
            return f"{body['country_code']}{body['phone_number']}"
        return None


@dataclass
class _QueuedAnswer:
    body: Any
    status: int
    delay: float


class KaleyraStandIn(LocalServer):
    """Answers like Kaleyra: documented success bodies by default, RBC001/WA401 on bad key/account."""

    def __init__(
        self, api_key: str = "test-kaleyra-key", accounts: set[tuple[str, str]] | None = None
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.accounts = accounts
        self.requests: list[KaleyraRequest] = []
        self._queued: dict[str, deque[_QueuedAnswer]] = defaultdict(deque)
        self._for_number: dict[str, deque[_QueuedAnswer]] = defaultdict(deque)
        self.delay_seconds = 0.0  # every answer that is not queued comes this much later

    def _build_app(self) -> web.Application:
        app = web.Application()
        v2 = "/v2/{sid}/whatsapp/{waba_id}/number"
        app.router.add_post(f"{v2}/add", self._handler("v2_add"))
        app.router.add_post(f"{v2}/verify", self._handler("v2_verify"))
        app.router.add_put(f"{v2}/update", self._handler("v2_update"))
        app.router.add_post(f"{v2}/retry_otp", self._handler("v2_retry_otp"))
        app.router.add_post("/v1/{sid}/whatsapp/number", self._handler("v1_add"))
        return app

    def queue(self, operation: str, body: Any, status: int = 200, delay: float = 0.0) -> None:
        """Answer the next `operation` request with `body` (dict → JSON, str → raw text/html), once."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
        self._queued[operation].append(_QueuedAnswer(body, status, delay))

    def answer_number(
        self, e164: str, body: Any, status: int = 200, times: int = 1, delay: float = 0.0
    ) -> None:
        """Answer the next `times` adds of `e164` with `body`, whichever order concurrent adds arrive in."""
        for _ in range(times):
            self._for_number[e164].append(_QueuedAnswer(body, status, delay))

    async def wait_for_requests(
        self,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[KaleyraRequest]:
        return await wait_until(
            lambda: list(self.requests) if len(self.requests) >= n else None,
            timeout,
            lambda: (
                f"expected at least {n} Kaleyra request(s) within {timeout}s, got {len(self.requests)}: "
                f"{[(r.operation, r.path, r.json) for r in self.requests]}"
            ),
        )

    def _handler(self, operation: str) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append(
                KaleyraRequest(
                    operation=operation,
                    method=request.method,
                    path=request.path,
                    sid=request.match_info["sid"],
                    waba_id=request.match_info.get("waba_id"),
                    headers={name.lower(): value for name, value in request.headers.items()},
                    json=parse_body(await request.text()),
                )
            )
            e164 = self.requests[-1].e164
            queue = self._for_number[e164] if e164 in self._for_number else self._queued[operation]
            if queue:
                answer = queue.popleft()
                await asyncio.sleep(answer.delay)
                return respond(answer.body, answer.status)
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            return self._default_answer(operation, request)

        return handle

    def _default_answer(self, operation: str, request: web.Request) -> web.Response:
        if request.headers.get("api-key") != self.api_key:
            return respond(V2_ADD_FAILURES["incorrect_sid_or_key"], INCORRECT_SID_OR_KEY_STATUS)
        sid, waba_id = request.match_info["sid"], request.match_info.get("waba_id")
        if self.accounts is not None:
            if waba_id is None and sid not in {known_sid for known_sid, _ in self.accounts}:
                # v1 has no waba_id in its path; an unknown SID is all there is to reject.
                return respond(V2_ADD_FAILURES["incorrect_sid_or_key"], INCORRECT_SID_OR_KEY_STATUS)
            if waba_id is not None and (sid, waba_id) not in self.accounts:
                return respond(V2_ADD_FAILURES["waba_not_found"], WABA_NOT_FOUND_STATUS)
        return respond(SUCCESS_BODIES[operation])
