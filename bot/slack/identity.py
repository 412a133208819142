"""Who the bot is in Slack: `auth.test`, asked once at start (and by `wa-bot check`) before anything is served;
and, in Socket Mode, whether the app-level token opens connections (`apps.connections.open`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

# Slack's errors that say nothing about the token: ask again later rather than change the setting.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
ERROR_CODE = re.compile(r"^[a-z0-9_.]{1,64}$")
HINTS = {
    "invalid_auth": "not a token this Slack knows; copy the Bot User OAuth Token again",
    "not_authed": "no token reached Slack; set the Bot User OAuth Token",
    "token_revoked": "the token was revoked (the app was uninstalled?); reinstall the app and copy its new token",
    "token_expired": "the token expired; turn token rotation off or copy a new Bot User OAuth Token",
    "account_inactive": "the bot user or its workspace is deactivated; reinstall the app",
    "not_allowed_token_type": "Slack wants a bot token (xoxb-) here",
}
APP_TOKEN_HINTS = {
    "invalid_auth": "not a token this Slack knows; copy the app-level token (xapp-) again",
    "not_authed": "no token reached Slack; set the app-level token (xapp-)",
    "token_revoked": "the token was revoked; create a new app-level token with connections:write",
    "missing_scope": "the token lacks connections:write; create an app-level token with it",
    "not_allowed_token_type": "Slack wants an app-level token (xapp-) here",
}
ASK_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Identity:
    """What `auth.test` says about the token: the bot user and the workspace it serves."""

    user_id: str
    user: str
    team: str
    team_id: str

    def __str__(self) -> str:
        return f"bot user {self.user} ({self.user_id}) in team {self.team} ({self.team_id})"


class SlackRefusedToken(Exception):
    """Slack answered with an error about the token: only a new SLACK_BOT_TOKEN (or SLACK_APP_TOKEN) helps."""

    def __init__(self, error: str, variable: str = "SLACK_BOT_TOKEN") -> None:
        if variable == "SLACK_APP_TOKEN":
            hint = APP_TOKEN_HINTS.get(error, "set an app-level token (xapp-) with connections:write")
        else:
            hint = HINTS.get(error, "set the Bot User OAuth Token (xoxb-) of the installed app")
        super().__init__(f"{variable}: Slack refused it ({error}): {hint}")
        self.error = error
        self.variable = variable


class SlackUnreachable(Exception):
    """Slack gave no answer (network, timeout, a proxy's page, Slack's own trouble)."""

    def __init__(self, api_url: str, cause: str) -> None:
        super().__init__(f"SLACK_API_URL: Slack at {_shown(api_url)} cannot be asked ({cause})")


def slack_client(
    token: SecretStr, api_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The Web API client the bot uses for everything, auth.test included.

    A serving bot gives it `session`, so that its calls (and those of the clients Bolt derives from it for each
    request) reuse keep-alive connections; without one, slack_sdk opens and closes a connection for every call.
    """
    return AsyncWebClient(
        token=token.get_secret_value(),
        base_url=api_url,
        session=session,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )


async def identify(client: AsyncWebClient, timeout: float = ASK_TIMEOUT_SECONDS) -> Identity:  # noqa: ASYNC109
    """Ask Slack who the token is; SlackRefusedToken or SlackUnreachable when that cannot be known."""
    data = await _ask(client, client.auth_test, "SLACK_BOT_TOKEN", timeout)
    return Identity(
        user_id=str(data.get("user_id", "")),
        user=str(data.get("user", "")),
        team=str(data.get("team", "")),
        team_id=str(data.get("team_id", "")),
    )


async def socket_url(client: AsyncWebClient, app_token: str, timeout: float = ASK_TIMEOUT_SECONDS) -> str:  # noqa: ASYNC109
    """apps.connections.open: the WebSocket URL of one new Socket Mode connection (good for one connect only).

    SlackRefusedToken (naming SLACK_APP_TOKEN) or SlackUnreachable when Slack gives none.
    """
    data = await _ask(
        client, lambda: client.apps_connections_open(app_token=app_token), "SLACK_APP_TOKEN", timeout
    )
    url = data.get("url")
    if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
        raise SlackUnreachable(client.base_url, "apps.connections.open gave no WebSocket URL")
    return url


async def _ask(
    client: AsyncWebClient,
    call: Callable[[], Awaitable[AsyncSlackResponse]],
    variable: str,
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Slack's answer to `call`; a refusal of the token in `variable`, or no answer, raised as such."""
    try:
        async with asyncio.timeout(timeout):
            response = await call()
    except SlackApiError as error:
        data = getattr(error.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        status = getattr(error.response, "status_code", None)
        if isinstance(code, str) and ERROR_CODE.match(code) and code not in TRANSIENT:
            raise SlackRefusedToken(code, variable) from None
        shown = code if isinstance(code, str) and ERROR_CODE.match(code) else "not a Slack answer"
        raise SlackUnreachable(client.base_url, f"HTTP {status}, {shown}") from None
    except (OSError, aiohttp.ClientError, TimeoutError) as error:
        raise SlackUnreachable(client.base_url, f"the network: {type(error).__name__}") from None
    return response.data if isinstance(response.data, dict) else {}


def _shown(url: str) -> str:
    """The URL without a password, should a proxy's URL carry one."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(the URL set)"
    if not password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1)).geturl()
