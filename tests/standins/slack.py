"""The demo's Slack stand-in (bot/demo/slack.py), extended with what only tests need: failures, rate limits,
delays and outages on demand, file uploads, threads posted before it started, and a Socket Mode WebSocket."""

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.demo import slack as demo
from bot.demo.slack import Call, Message, Workspace, dm_channel_id

from ._server import parse_body, wait_until

TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0TEST"
WORKSPACE = Workspace(
    team_id=TEAM_ID, team="Test", domain="test", app_id=APP_ID, bot_user_id=BOT_USER_ID, bot_id=BOT_ID
)
HELLO = {
    "type": "hello",
    "num_connections": 1,
    "debug_info": {"host": "standin"},
    "connection_info": {"app_id": APP_ID},
}

# The tests' name for one recorded call (a Web API call, or a response_url post "response_url:<name>").
SlackCall = Call

__all__ = ["SlackCall", "SlackStandIn", "dm_channel_id"]


@dataclass
class _Failure:
    error: str
    channel: str | None
    remaining: int | None


class SlackStandIn(demo.SlackStandIn):
    """Records every call and answers like Slack; see `fail`, `rate_limit`, `delay`, `wait_for`, `send_envelope`."""

    def __init__(
        self, bot_token: str = "xoxb-test-token", usergroups: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(bot_token, usergroups=usergroups, workspace=WORKSPACE)
        # Web API calls that an outage (see `outage`) kept from Slack: attempted, never taken.
        self.refused: list[SlackCall] = []
        self._outage: tuple[str, int] | None = None
        self.socket_connects = 0
        # Where apps.connections.open sends Socket Mode clients; None: this stand-in's own /socket.
        self.socket_url: str | None = None
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._rate_limits: dict[str, int] = defaultdict(int)
        self._delays: dict[str, float] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._pending_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # files.getUploadURLExternal → the upload URL (on this stand-in) → files.completeUploadExternal:
        # the bytes POSTed per file id, and the files shared, each with its title and channel_id.
        self.uploads: dict[str, bytes] = {}
        self.shared_files: list[dict[str, Any]] = []
        self._file_count = 0

    def response_url(self, name: str | None = "cmd") -> str:
        return super().response_url(name)

    # --- test controls ---

    def fail(self, method: str, error: str, *, channel: str | None = None, times: int | None = None) -> None:
        """Fail `method` with `error`: only calls to `channel` if given; `times` calls, or always if None."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for always")
        self._failures[method].append(_Failure(error, channel, times))

    def rate_limit(self, method: str, times: int = 1) -> None:
        """Answer the next `times` calls with HTTP 429, Retry-After: 0 and error "ratelimited"."""
        self._rate_limits[method] += times

    def delay(self, method: str, seconds: float) -> None:
        """Answer every later call of `method` `seconds` after it arrives (0 answers at once again).

        The call is recorded on arrival, so `calls_of` counts it while its answer is still on its way.
        """
        if seconds < 0:
            raise ValueError("seconds must be 0 or more")
        self._delays[method] = seconds

    def outage(self, how: str = "drop", retry_after: int = 0) -> None:
        """Until `restore()`, Slack is unreachable for every Web API call: "drop" closes the connection without an
        answer, "503" answers a proxy's HTTP 503 page, "429" answers HTTP 429 with Retry-After `retry_after`.
        Such calls go to `refused`, not `calls`."""
        if how not in ("drop", "503", "429"):
            raise ValueError("how is drop, 503 or 429")
        self._outage = (how, retry_after)

    def restore(self) -> None:
        self._outage = None

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SlackCall:
        """The first recorded call of `method` matching `predicate`, waiting up to `timeout` for it."""

        def first_match() -> SlackCall | None:
            return next((c for c in self.calls_of(method) if predicate is None or predicate(c)), None)

        def failure() -> str:
            recorded = "\n".join(f"  {c.method} {c.args}" for c in self.calls) or "  (none)"
            condition = " matching the predicate" if predicate else ""
            return f"no {method} call{condition} within {timeout}s; recorded calls:\n{recorded}"

        return await wait_until(first_match, timeout, failure)

    async def wait_for_socket(self, timeout: float = 5.0, *, connects: int = 1) -> None:  # noqa: ASYNC109
        """Wait until a client is connected and was sent its hello, after `connects` connections in all."""
        await self._open_socket(timeout, connects)

    async def send_envelope(
        self,
        type_: str,
        payload: dict[str, Any],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Send an envelope ("slash_commands", "interactive", "events_api"); return the client's ack."""
        socket = await self._open_socket(timeout)
        envelope_id = str(uuid.uuid4())
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending_acks[envelope_id] = ack
        try:
            await socket.send_json(
                {
                    "envelope_id": envelope_id,
                    "type": type_,
                    "payload": payload,
                    "accepts_response_payload": True,
                }
            )
            return await asyncio.wait_for(ack, timeout)
        except TimeoutError:
            raise AssertionError(f"no ack for {type_} envelope {envelope_id} within {timeout}s") from None
        finally:
            self._pending_acks.pop(envelope_id, None)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask connected clients to reconnect, as Slack does; slack_sdk then calls apps.connections.open."""
        disconnect = {"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}}
        for socket in self._live_sockets():
            await socket.send_json(disconnect)

    def file_content(self, file_id: str) -> bytes:
        return self.uploads[file_id]

    # --- server ---

    def _build_app(self) -> web.Application:
        app = super()._build_app()
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        return app

    async def stop(self) -> None:
        # Close the WebSockets first, so that shutdown does not wait for them.
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"stand-in stopping")
        for ack in self._pending_acks.values():
            ack.cancel()
        await super().stop()

    async def _web_api(self, request: web.Request) -> web.Response:
        if self._outage is None:
            return await super()._web_api(request)
        self.refused.append(await demo.call_of(request))
        how, retry_after = self._outage
        if how == "503":
            return web.Response(
                status=503, text="<html>503 Service Unavailable</html>", content_type="text/html"
            )
        if how == "429":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        assert request.transport is not None
        request.transport.abort()  # as a network that drops the connection: no answer at all
        return web.Response()

    async def _interfere(self, call: SlackCall) -> web.Response | None:
        if self._delays.get(call.method):
            await asyncio.sleep(self._delays[call.method])
        if self._rate_limits[call.method] > 0:
            self._rate_limits[call.method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        error = self._take_failure(call.method, call.args)
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        return None

    def _message(self, channel: str, ts: str) -> Message | None:
        # A test's store may hold threads posted before this stand-in started (seed_number): Slack has them.
        known = super()._message(channel, ts)
        if known is None:
            known = Message(channel, ts, BOT_USER_ID, "", [], posted=-1)
            self.messages[(channel, ts)] = known
        return known

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal gave out: the raw bytes, answered as Slack does."""
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="Not Found")
        data = await request.read()
        self.uploads[file_id] = data
        self.calls.append(SlackCall("upload", {"file_id": file_id, "length": len(data)}))
        return web.Response(text=f"OK - {len(data)}")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()  # answers the client's pings itself (autoping)
        await socket.prepare(request)
        await socket.send_json(HELLO)
        self._sockets.append(socket)
        self.socket_connects += 1
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = parse_body(message.data)
                if isinstance(ack, dict):
                    pending = self._pending_acks.get(str(ack.get("envelope_id")))
                    if pending is not None and not pending.done():
                        pending.set_result(ack)
        finally:
            self._sockets.remove(socket)
        return socket

    def _live_sockets(self) -> list[web.WebSocketResponse]:
        return [socket for socket in self._sockets if not socket.closed]

    async def _open_socket(self, timeout: float, connects: int = 1) -> web.WebSocketResponse:  # noqa: ASYNC109
        def newest() -> web.WebSocketResponse | None:
            live = self._live_sockets()
            return live[-1] if live and self.socket_connects >= connects else None

        return await wait_until(
            newest,
            timeout,
            lambda: (
                f"no Socket Mode client connected within {timeout}s "
                f"(wanted {connects} connection(s), saw {self.socket_connects})"
            ),
        )

    def _accepts_token(self, call: SlackCall) -> bool:
        if call.method == "apps.connections.open":
            return call.token is not None and call.token.startswith("xapp-")
        return super()._accepts_token(call)

    def _take_failure(self, method: str, args: dict[str, Any]) -> str | None:
        for failure in self._failures[method]:
            if failure.channel is not None and args.get("channel") != failure.channel:
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures[method].remove(failure)
            return failure.error
        return None

    # --- what only tests call ---

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "files.getUploadURLExternal":
                if not args.get("filename") or not str(args.get("length", "")).isdigit():
                    return {"ok": False, "error": "invalid_arguments"}
                self._file_count += 1
                file_id = f"F{self._file_count:07d}"
                self.uploads[file_id] = b""
                return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
            case "files.completeUploadExternal":
                return self._complete_upload(args)
            case "apps.connections.open":
                own = self.base_url.replace("http://", "ws://", 1) + "/socket"
                return {"ok": True, "url": self.socket_url or own}
            case _:
                return super()._answer(method, args)

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            files = parse_body(files)
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        if any(not isinstance(f, dict) or f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        answered = []
        for f in files:
            shared = {
                "id": f["id"],
                "title": f.get("title"),
                "channel_id": args.get("channel_id"),
                "initial_comment": args.get("initial_comment"),
                "size": len(self.uploads[f["id"]]),
            }
            self.shared_files.append(shared)
            answered.append({"id": f["id"], "title": f.get("title") or ""})
        return {"ok": True, "files": answered}
