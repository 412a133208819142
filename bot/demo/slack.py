"""The Slack stand-in: the Web API and response_url endpoints on a loopback port, for the demo and the tests.

It answers the calls wa-bot makes as Slack would (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
views.open/update/publish, conversations.open, usergroups.users.list, response_url posts), records every call,
and keeps what a person would see: the channel's messages as last edited, the open modals (each rendering with a
hash of its own, as Slack gives them), the App Homes and the ephemeral answers. The tests extend it
(tests/standins/slack.py) with what only they need: failures, outages, uploads and Socket Mode.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")

TEAM_ID = "T0DEMO"
APP_ID = "A0DEMO"
BOT_USER_ID = "U0WABOT"
BOT_ID = "B0WABOT"
BOT_NAME = "wa-bot"
# Form-encoded calls carry these as JSON text.
JSON_ARGS = ("blocks", "view", "attachments")


class DemoFailed(Exception):
    """Something the session expected did not happen; the message is the one line the demo prints."""


@dataclass(frozen=True)
class Workspace:
    """The workspace the stand-in plays and the bot user its token belongs to: what auth.test answers."""

    team_id: str = TEAM_ID
    team: str = "wa-bot demo"
    domain: str = "wa-bot-demo"
    app_id: str = APP_ID
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    bot_name: str = BOT_NAME


@dataclass
class Call:
    """One Web API call (or a response_url post, method "response_url:<name>") the stand-in received."""

    method: str
    args: dict[str, Any]
    token: str | None = None
    at: float = field(default_factory=time.monotonic)  # when it arrived (to check a pace)


@dataclass
class Message:
    """A message as it reads now in a channel (after its last chat.update)."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    posted: int  # the index in `calls` of the chat.postMessage that posted it
    thread_ts: str | None = None
    edits: int = 0  # how often its words changed
    updated: int = -1  # the index in `calls` of the last chat.update of it


@dataclass(frozen=True)
class Ephemeral:
    """An answer only the person sees ("Only visible to you")."""

    user: str | None
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


DEMO_WORKSPACE = Workspace()


def dm_channel_id(user_id: str) -> str:
    """The DM channel id the stand-in uses for a user: "U123" → "D123"."""
    return "D" + user_id.removeprefix("U")


class SlackStandIn:
    """Answers like Slack for one workspace and one bot token; `start()` then `stop()`, or `async with`."""

    def __init__(
        self,
        bot_token: str,
        people: dict[str, str] | None = None,
        channels: dict[str, str] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        workspace: Workspace = DEMO_WORKSPACE,
    ) -> None:
        self.bot_token = bot_token
        self.workspace = workspace
        self.names = {workspace.bot_user_id: workspace.bot_name, **(people or {})}  # user id → name
        self.channels = dict(channels or {})  # channel id → name
        self.usergroups: dict[str, list[str]] = dict(usergroups or {})  # user group id → member ids
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        # Views that are open now, by id, as last rendered; close_view() removes one.
        self.views: dict[str, dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}  # each user's App Home as last published, by user id
        self.ephemerals: list[Ephemeral] = []
        self.opened: list[tuple[int, str]] = []  # (index in `calls` of the views.open, the view's id)
        self._view_ids_by_external_id: dict[str, str] = {}
        self._message_count = 0
        self._render_count = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- running ---

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        # A short shutdown timeout: a handler still waiting (a test's `delay`) must not hold up stop().
        runner = web.AppRunner(self._build_app(), access_log=None, shutdown_timeout=0.25)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _build_app(self) -> web.Application:
        app = web.Application()
        # slack_sdk uses GET for some methods (usergroups.users.list) and POST for most.
        app.router.add_route("*", "/api/{method}", self._web_api)
        app.router.add_post("/response/{name}", self._response_url)
        return app

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str | None = None) -> str:
        """A response_url, as Slack gives with every command and button: a fresh one unless `name` is given."""
        return f"{self.base_url}/response/{name or secrets.token_hex(6)}"

    # --- what a session or a test reads ---

    def mark(self) -> int:
        """A point in the recorded calls: `since(mark)` is what came after it."""
        return len(self.calls)

    def since(self, mark: int, method: str | None = None) -> list[Call]:
        return [call for call in self.calls[mark:] if method is None or call.method == method]

    def calls_of(self, method: str) -> list[Call]:
        return self.since(0, method)

    def thread(self, parent: Message) -> list[Message]:
        """The replies in `parent`'s thread, oldest first."""
        replies = [
            m for m in self.messages.values() if m.channel == parent.channel and m.thread_ts == parent.ts
        ]
        return sorted(replies, key=lambda m: float(m.ts))

    def parents(self) -> list[Message]:
        """The messages that start a thread or stand alone, oldest first."""
        return sorted((m for m in self.messages.values() if m.thread_ts is None), key=lambda m: float(m.ts))

    async def until(self, check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:  # noqa: ASYNC109
        """Poll `check` (what the stand-in recorded) until it gives something; DemoFailed after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := check()) is None:
            if loop.time() >= deadline:
                raise DemoFailed(f"no {what} within {timeout:g} s")
            await asyncio.sleep(0.01)
        return found

    def render(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """Show `view` in the modal `view_id`: a new rendering, with a new hash."""
        self._render_count += 1
        rendered = {
            **view,
            "id": view_id,
            "hash": f"{self._render_count}.{secrets.token_hex(4)}",
            "team_id": self.workspace.team_id,
            "app_id": self.workspace.app_id,
            "bot_id": self.workspace.bot_id,
            "state": {"values": {}},
        }
        self.views[view_id] = rendered
        if view.get("external_id"):
            self._view_ids_by_external_id[str(view["external_id"])] = view_id
        return rendered

    def close_view(self, view_id: str) -> None:
        """As the person closing the modal: later views.update calls for it get not_found."""
        self.views.pop(view_id, None)
        for external_id, known_id in list(self._view_ids_by_external_id.items()):
            if known_id == view_id:
                del self._view_ids_by_external_id[external_id]

    # --- the Web API ---

    async def _web_api(self, request: web.Request) -> web.Response:
        call = await call_of(request)
        self.calls.append(call)
        if not self._accepts_token(call):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return await self._interfere(call) or web.json_response(self._answer(call.method, call.args))

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        args: dict[str, Any] = body if isinstance(body, dict) else {"body": body}
        call = Call(f"response_url:{request.match_info['name']}", args)
        self.calls.append(call)
        if (interfered := await self._interfere(call)) is not None:
            return interfered
        self.ephemerals.append(Ephemeral(None, str(args.get("text", "")), list(args.get("blocks") or [])))
        return web.json_response({"ok": True})

    def _accepts_token(self, call: Call) -> bool:
        return call.token == self.bot_token

    async def _interfere(self, call: Call) -> web.Response | None:
        """What answers `call` instead of Slack's usual answer (the tests' failures); None: nothing does."""
        return None

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return self._auth_test()
            case "chat.postMessage":
                return self._post(args)
            case "chat.update":
                return self._update(args)
            case "chat.postEphemeral":
                if not args.get("channel") or not args.get("user"):
                    return {"ok": False, "error": "invalid_arguments"}
                blocks = list(args.get("blocks") or [])
                self.ephemerals.append(Ephemeral(str(args["user"]), str(args.get("text", "")), blocks))
                return {"ok": True, "message_ts": self._next_ts()}
            case "views.open" | "views.push":
                if not isinstance(args.get("view"), dict) or not args.get("trigger_id"):
                    return {"ok": False, "error": "invalid_arguments"}
                view_id = f"V{len(self.opened) + 1:07d}"
                self.opened.append((len(self.calls) - 1, view_id))
                return {"ok": True, "view": self.render(view_id, args["view"])}
            case "views.update":
                return self._update_view(args)
            case "views.publish":
                user_id, view = args.get("user_id"), args.get("view")
                if not user_id or not isinstance(view, dict) or view.get("type") != "home":
                    return {"ok": False, "error": "invalid_arguments"}
                self.homes[str(user_id)] = view
                return {
                    "ok": True,
                    "view": {**view, "id": f"VHOME{user_id}", "team_id": self.workspace.team_id},
                }
            case "conversations.open":
                users = args.get("users") or []
                if isinstance(users, str):
                    users = [user for user in users.split(",") if user]
                if not users:
                    return {"ok": False, "error": "users_list_not_supplied"}
                return {"ok": True, "channel": {"id": dm_channel_id(str(users[0]))}}
            case "usergroups.users.list":
                usergroup = args.get("usergroup")
                if usergroup not in self.usergroups:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(self.usergroups[usergroup])}
            case _:
                return {"ok": False, "error": "unknown_method"}

    def _auth_test(self) -> dict[str, Any]:
        workspace = self.workspace
        return {
            "ok": True,
            "url": f"https://{workspace.domain}.slack.com/",
            "team": workspace.team,
            "user": workspace.bot_name,
            "team_id": workspace.team_id,
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
        }

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("U"):  # a user id: the DM with that user
            channel = dm_channel_id(channel)
        thread_ts = str(args.get("thread_ts") or "") or None
        if thread_ts and self._message(channel, thread_ts) is None:
            return {"ok": False, "error": "thread_not_found"}
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            user=self.workspace.bot_user_id,
            text=str(args.get("text", "")),
            blocks=list(args.get("blocks") or []),
            posted=len(self.calls) - 1,
            thread_ts=thread_ts,
        )
        self.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": self._shown(message)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._message(str(args.get("channel")), str(args.get("ts")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.updated = len(self.calls) - 1
        text, blocks = str(args.get("text", message.text)), list(args.get("blocks") or message.blocks)
        if (text, blocks) != (message.text, message.blocks):
            message.text, message.blocks, message.edits = text, blocks, message.edits + 1
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": text,
            "message": self._shown(message),
        }

    def _message(self, channel: str, ts: str) -> Message | None:
        """The message at `ts` in `channel`, or None: Slack holds no such message."""
        return self.messages.get((channel, ts))

    def _update_view(self, args: dict[str, Any]) -> dict[str, Any]:
        # The hash is not checked: tests drive a modal from a rendering they kept (Slack would say hash_conflict).
        view_id = args.get("view_id") or self._view_ids_by_external_id.get(str(args.get("external_id")))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        if not isinstance(args.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": self.render(view_id, args["view"])}

    def _next_ts(self) -> str:
        self._message_count += 1
        return f"1700000000.{self._message_count * 100:06d}"

    def _shown(self, message: Message) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "bot_id": self.workspace.bot_id,
            "text": message.text,
            "blocks": message.blocks,
            "ts": message.ts,
        }
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        return shown


async def call_of(request: web.Request) -> Call:
    """The call in a Web API request: its method, its arguments and the token it came with."""
    args = await _args_of(request)
    authorization = request.headers.get("Authorization", "")
    token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
    return Call(request.match_info["method"], args, token or args.get("token"))


async def _args_of(request: web.Request) -> dict[str, Any]:
    """Query parameters plus a JSON or form body, with the JSON-text fields decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            body = {}
        if isinstance(body, dict):
            args.update(body)
    elif request.body_exists:
        for key, value in (await request.post()).items():
            args[key] = value.file.read() if isinstance(value, web.FileField) else value
    for key in JSON_ARGS:
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args
