"""The demo's Slack: a small stand-in for the Web API and response_url endpoints, on a loopback port.

It answers the calls wa-bot makes as Slack would (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
views.open/update/publish, conversations.open, usergroups.users.list, response_url posts), records every call,
and keeps what a person would see: the channel's messages as last edited, the open modals (each rendering with a
hash of its own, as Slack gives them), and the ephemeral answers.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
class Call:
    """One Web API call (or a response_url post, method "response_url") the stand-in received."""

    method: str
    args: dict[str, Any]


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


class SlackStandIn:
    """Answers like Slack for one workspace, one bot token and a few people; `start()` then `close()`."""

    def __init__(self, bot_token: str, people: dict[str, str], channels: dict[str, str]) -> None:
        self.bot_token = bot_token
        self.names = {BOT_USER_ID: BOT_NAME, **people}  # user id → name, as mentions read
        self.channels = dict(channels)  # channel id → name
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.views: dict[str, dict[str, Any]] = {}  # open modals by id, as last rendered
        self.home: dict[str, dict[str, Any]] = {}  # App Home views published, by user
        self.ephemerals: list[Ephemeral] = []
        self.opened: list[tuple[int, str]] = []  # (index in `calls` of the views.open, the view's id)
        self._count = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- running ---

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._web_api)
        app.router.add_post("/response/{name}", self._response_url)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        """A fresh response_url, as Slack gives with every command and button."""
        return f"{self.base_url}/response/{secrets.token_hex(6)}"

    # --- what the session reads ---

    def mark(self) -> int:
        """A point in the recorded calls: `since(mark)` is what came after it."""
        return len(self.calls)

    def since(self, mark: int, method: str | None = None) -> list[Call]:
        return [call for call in self.calls[mark:] if method is None or call.method == method]

    def thread(self, parent: Message) -> list[Message]:
        """The replies in `parent`'s thread, oldest first."""
        replies = [
            m for m in self.messages.values() if m.channel == parent.channel and m.thread_ts == parent.ts
        ]
        return sorted(replies, key=lambda m: float(m.ts))

    def parents(self) -> list[Message]:
        """The messages that start a thread or stand alone, oldest first."""
        return sorted((m for m in self.messages.values() if m.thread_ts is None), key=lambda m: float(m.ts))

    async def wait_for(self, check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:  # noqa: ASYNC109
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
        self._count += 1
        rendered = {
            **view,
            "id": view_id,
            "hash": f"{self._count}.{secrets.token_hex(4)}",
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
        }
        self.views[view_id] = rendered
        return rendered

    # --- the Web API ---

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _args_of(request)
        authorization = request.headers.get("Authorization", "")
        token = (
            authorization.removeprefix("Bearer ")
            if authorization.startswith("Bearer ")
            else args.get("token")
        )
        self.calls.append(Call(method, args))
        if token != self.bot_token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, args))

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        args: dict[str, Any] = body if isinstance(body, dict) else {"text": str(body)}
        self.calls.append(Call("response_url", args))
        self.ephemerals.append(Ephemeral(None, str(args.get("text", "")), list(args.get("blocks") or [])))
        return web.Response(text="ok")

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://wa-bot-demo.slack.com/",
                    "team": "wa-bot demo",
                    "user": BOT_NAME,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                }
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
                view_id = f"V0DEMO{len(self.opened) + 1:04d}"
                self.opened.append((len(self.calls) - 1, view_id))
                return {"ok": True, "view": self.render(view_id, args["view"])}
            case "views.update":
                view_id = str(args.get("view_id") or "")
                if view_id not in self.views:
                    return {"ok": False, "error": "not_found"}
                if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
                    return {"ok": False, "error": "hash_conflict"}
                if not isinstance(args.get("view"), dict):
                    return {"ok": False, "error": "invalid_arguments"}
                return {"ok": True, "view": self.render(view_id, args["view"])}
            case "views.publish":
                if not isinstance(args.get("view"), dict) or not args.get("user_id"):
                    return {"ok": False, "error": "invalid_arguments"}
                self.home[str(args["user_id"])] = args["view"]
                return {"ok": True, "view": args["view"]}
            case "conversations.open":
                users = args.get("users") or ""
                first = (users.split(",") if isinstance(users, str) else list(users) or [""])[0]
                if not first:
                    return {"ok": False, "error": "users_list_not_supplied"}
                return {"ok": True, "channel": {"id": _dm_of(first)}}
            case "usergroups.users.list":
                return {"ok": True, "users": []}
            case _:
                return {"ok": False, "error": "unknown_method"}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("U"):  # a user id: the DM with that user
            channel = _dm_of(channel)
        thread_ts = args.get("thread_ts")
        if thread_ts and (channel, str(thread_ts)) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            user=BOT_USER_ID,
            text=str(args.get("text", "")),
            blocks=list(args.get("blocks") or []),
            posted=len(self.calls) - 1,
            thread_ts=str(thread_ts) if thread_ts else None,
        )
        self.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": _shown(message)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((str(args.get("channel")), str(args.get("ts"))))
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
            "message": _shown(message),
        }

    def _next_ts(self) -> str:
        self._count += 1
        return f"1700000000.{self._count * 100:06d}"


def _dm_of(user_id: str) -> str:
    return "D" + user_id.removeprefix("U")


def _shown(message: Message) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "bot_id": BOT_ID,
        "text": message.text,
        "blocks": message.blocks,
        "ts": message.ts,
    }
    if message.thread_ts:
        shown["thread_ts"] = message.thread_ts
    return shown


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
    elif request.can_read_body:
        args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in JSON_ARGS:
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args
