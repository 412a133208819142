"""A local stand-in for the Slack Web API, response_url endpoints and a Socket Mode WebSocket."""

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from ._server import LocalServer, parse_body, wait_until

TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0TEST"

AUTH_TEST = {
    "ok": True,
    "url": "https://test.slack.com/",
    "team": "Test",
    "user": "wa-bot",
    "team_id": TEAM_ID,
    "user_id": BOT_USER_ID,
    "bot_id": BOT_ID,
}
HELLO = {
    "type": "hello",
    "num_connections": 1,
    "debug_info": {"host": "standin"},
    "connection_info": {"app_id": APP_ID},
}

# Form-encoded calls carry these as JSON strings; decoded so tests see the same thing for every encoding.
JSON_STRING_ARGS = ("blocks", "view", "attachments")


@dataclass
class SlackCall:
    """One Web API call (or response_url post, method "response_url:<name>") the stand-in received."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when it arrived (to check a pace)


@dataclass
class _Failure:
    error: str
    channel: str | None
    remaining: int | None


def dm_channel_id(user_id: str) -> str:
    """The DM channel id the stand-in uses for a user: "U123" → "D123"."""
    return "D" + (user_id[1:] if user_id.startswith("U") else user_id)


class SlackStandIn(LocalServer):
    """Records every call and answers like Slack; see `fail`, `rate_limit`, `delay`, `wait_for`, `send_envelope`."""

    def __init__(
        self, bot_token: str = "xoxb-test-token", usergroups: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.usergroups: dict[str, list[str]] = dict(usergroups or {})
        self.calls: list[SlackCall] = []
        # Web API calls that an outage (see `outage`) kept from Slack: attempted, never taken.
        self.refused: list[SlackCall] = []
        self._outage: tuple[str, int] | None = None
        # Views that are open now, by id, as last opened/updated; close_view() removes one.
        self.views: dict[str, dict[str, Any]] = {}
        # Each user's App Home as last published (views.publish), by user id.
        self.homes: dict[str, dict[str, Any]] = {}
        self.socket_connects = 0
        # Where apps.connections.open sends Socket Mode clients; None: this stand-in's own /socket.
        self.socket_url: str | None = None
        self._view_ids_by_external_id: dict[str, str] = {}
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._rate_limits: dict[str, int] = defaultdict(int)
        self._delays: dict[str, float] = {}
        self._message_count = 0
        self._view_count = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._pending_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # files.getUploadURLExternal → the upload URL (on this stand-in) → files.completeUploadExternal:
        # the bytes POSTed per file id, and the files shared, each with its title and channel_id.
        self.uploads: dict[str, bytes] = {}
        self.shared_files: list[dict[str, Any]] = []
        self._file_count = 0

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.base_url}/response/{name}"

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

    def close_view(self, view_id: str) -> None:
        """As if the person closed the modal: later views.update calls for it get not_found."""
        self.views.pop(view_id, None)
        for external_id, known_id in list(self._view_ids_by_external_id.items()):
            if known_id == view_id:
                del self._view_ids_by_external_id[external_id]

    def calls_of(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

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

    # --- server ---

    def _build_app(self) -> web.Application:
        app = web.Application()
        # slack_sdk uses GET for some methods (usergroups.users.list) and POST for most.
        app.router.add_get("/api/{method}", self._web_api)
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        return app

    async def _before_stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"stand-in stopping")
        for ack in self._pending_acks.values():
            ack.cancel()

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        token = token or args.get("token")
        if self._outage is not None:
            self.refused.append(SlackCall(method, args, token))
            how, retry_after = self._outage
            if how == "503":
                return web.Response(
                    status=503, text="<html>503 Service Unavailable</html>", content_type="text/html"
                )
            if how == "429":
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(retry_after)},
                )
            assert request.transport is not None
            request.transport.abort()  # as a network that drops the connection: no answer at all
            return web.Response()
        self.calls.append(SlackCall(method, args, token))
        if self._delays.get(method):
            await asyncio.sleep(self._delays[method])

        if not self._accepts_token(method, token):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self._rate_limits[method] > 0:
            self._rate_limits[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        error = self._take_failure(method, args)
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        return web.json_response(self._answer(method, args))

    async def _response_url(self, request: web.Request) -> web.Response:
        method = "response_url:" + request.match_info["name"]
        body = parse_body(await request.text())
        args = body if isinstance(body, dict) else {"body": body}
        self.calls.append(SlackCall(method, args, None))
        error = self._take_failure(method, args)
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        return web.json_response({"ok": True})

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal gave out: the raw bytes, answered as Slack does."""
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="Not Found")
        data = await request.read()
        self.uploads[file_id] = data
        self.calls.append(SlackCall("upload", {"file_id": file_id, "length": len(data)}, None))
        return web.Response(text=f"OK - {len(data)}")

    def file_content(self, file_id: str) -> bytes:
        return self.uploads[file_id]

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

    def _accepts_token(self, method: str, token: str | None) -> bool:
        if method == "apps.connections.open":
            return token is not None and token.startswith("xapp-")
        return token == self.bot_token

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

    # --- answers ---

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return dict(AUTH_TEST)
            case "chat.postMessage":
                return self._post_message(args)
            case "chat.update":
                message = _message(args, ts=args.get("ts"))
                return {
                    "ok": True,
                    "channel": args.get("channel"),
                    "ts": args.get("ts"),
                    "text": message["text"],
                    "message": message,
                }
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            case "views.open" | "views.push":
                return self._store_view(self._next_view_id(), args.get("view"))
            case "views.update":
                view_id = args.get("view_id") or self._view_ids_by_external_id.get(
                    str(args.get("external_id"))
                )
                if view_id not in self.views:
                    return {"ok": False, "error": "not_found"}
                return self._store_view(view_id, args.get("view"))
            case "views.publish":
                user_id, view = args.get("user_id"), args.get("view")
                if not user_id or not isinstance(view, dict) or view.get("type") != "home":
                    return {"ok": False, "error": "invalid_arguments"}
                self.homes[str(user_id)] = view
                return {"ok": True, "view": {**view, "id": f"VHOME{user_id}", "team_id": TEAM_ID}}
            case "usergroups.users.list":
                usergroup = args.get("usergroup")
                if usergroup not in self.usergroups:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(self.usergroups[usergroup])}
            case "conversations.open":
                users = args.get("users") or []
                if isinstance(users, str):
                    users = [user for user in users.split(",") if user]
                if not users:
                    return {"ok": False, "error": "users_list_not_supplied"}
                return {"ok": True, "channel": {"id": dm_channel_id(users[0])}}
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
                return {"ok": True}

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

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        channel = str(channel)
        if channel.startswith("U"):
            channel = dm_channel_id(channel)
        ts = self._next_ts()
        return {"ok": True, "channel": channel, "ts": ts, "message": _message(args, ts=ts)}

    def _next_ts(self) -> str:
        self._message_count += 1
        return f"1700000000.{self._message_count * 100:06d}"

    def _next_view_id(self) -> str:
        self._view_count += 1
        return f"V{self._view_count:07d}"

    def _store_view(self, view_id: str, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        # Slack gives every rendering of a view a new hash; a submission carries the hash it was shown with.
        view_hash = f"{self._view_count}.{uuid.uuid4().hex[:8]}"
        stored = {
            **view,
            "id": view_id,
            "hash": view_hash,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        stored.setdefault("state", {"values": {}})
        self.views[view_id] = stored
        if view.get("external_id"):
            self._view_ids_by_external_id[str(view["external_id"])] = view_id
        return {"ok": True, "view": stored}


def _message(args: dict[str, Any], ts: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "text": args.get("text", ""),
        "ts": ts,
    }
    for key in ("blocks", "thread_ts"):
        if key in args:
            message[key] = args[key]
    return message


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Query parameters plus a JSON or form body, with JSON-string fields decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = parse_body(await request.text())
        if isinstance(body, dict):
            args.update(body)
    elif request.body_exists:
        for key, value in (await request.post()).items():
            args[key] = value.file.read() if isinstance(value, web.FileField) else value
    for key in JSON_STRING_ARGS:
        if isinstance(args.get(key), str):
            args[key] = parse_body(args[key])
    return args
