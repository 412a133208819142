"""Who the bot is in Slack: `auth.test`, asked once at start (and by `wa-bot check`) before anything is served."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

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
    """Slack answered auth.test with an error about the token: only a new SLACK_BOT_TOKEN helps."""

    def __init__(self, error: str) -> None:
        hint = HINTS.get(error, "set the Bot User OAuth Token (xoxb-) of the installed app")
        super().__init__(f"SLACK_BOT_TOKEN: Slack refused it ({error}): {hint}")
        self.error = error


class SlackUnreachable(Exception):
    """auth.test got no answer from Slack (network, timeout, a proxy's page, Slack's own trouble)."""

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
    try:
        async with asyncio.timeout(timeout):
            response = await client.auth_test()
    except SlackApiError as error:
        data = getattr(error.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        status = getattr(error.response, "status_code", None)
        if isinstance(code, str) and ERROR_CODE.match(code) and code not in TRANSIENT:
            raise SlackRefusedToken(code) from None
        shown = code if isinstance(code, str) and ERROR_CODE.match(code) else "not a Slack answer"
        raise SlackUnreachable(client.base_url, f"HTTP {status}, {shown}") from None
    except (OSError, aiohttp.ClientError, TimeoutError) as error:
        raise SlackUnreachable(client.base_url, type(error).__name__) from None
    data = response.data if isinstance(response.data, dict) else {}
    return Identity(
        user_id=str(data.get("user_id", "")),
        user=str(data.get("user", "")),
        team=str(data.get("team", "")),
        team_id=str(data.get("team_id", "")),
    )


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
