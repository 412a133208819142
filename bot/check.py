"""`wa-bot check`: what a start needs, checked without serving, migrating the store or calling a provider.

One line per check (`ok   settings: …`, `FAIL store: …`); each check stands on its own where it can, so a
wrong PORT still lets the store and the Slack token be checked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.accounts import AccountsError, accounts_from
from bot.settings import Settings, SlackSettings, StoreSettings, problems_of
from bot.slack.identity import SlackRefusedToken, SlackUnreachable, identify, slack_client, socket_url
from bot.store import Schema, Store, StoreServesOther

STORE_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Line:
    status: str  # "ok", "FAIL" or "skip"
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<5}{self.check}: {self.detail}"


def check() -> int:
    """Print a line per check; 0 when all hold, 1 otherwise."""
    lines = asyncio.run(_check())
    for line in lines:
        print(line, flush=True)
    return 0 if all(line.status == "ok" for line in lines) else 1


async def _check() -> list[Line]:
    lines: list[Line] = []
    settings: Settings | None = None
    try:
        settings = Settings()
    except ValidationError as error:
        lines += [Line("FAIL", "settings", problem) for problem in problems_of(error)]
    else:
        lines.append(Line("ok", "settings", _mode(settings)))
    secrets = settings.secrets if settings else []

    if settings is None:
        lines.append(Line("skip", "accounts", "the settings above must hold first"))
    else:
        try:
            accounts = accounts_from(settings)
        except AccountsError as error:
            lines += [Line("FAIL", "accounts", problem) for problem in error.problems]
        else:
            lines.append(Line("ok", "accounts", "; ".join(account.label for account in accounts.values())))
            secrets += [account.secret.get_secret_value() for account in accounts.values()]
    logs.configure("WARNING", secrets)  # should a library warn while the store or Slack is asked: redacted

    try:
        store = settings or StoreSettings()
    except ValidationError:
        lines.append(Line("skip", "store", "DATABASE_URL and WA_BOT_SANDBOX must hold first"))
    else:
        lines.append(await _store(store.database_url, store.wa_bot_sandbox))

    try:
        slack = SlackSettings()
    except ValidationError:
        lines.append(Line("skip", "slack", "SLACK_BOT_TOKEN and SLACK_API_URL must hold first"))
    else:
        lines.append(await _slack(slack))
        if settings is not None and settings.slack_app_token is not None:
            lines.append(await _socket_mode(slack, settings.slack_app_token))
    return lines


def _mode(settings: Settings) -> str:
    mode = "Socket Mode" if settings.socket_mode else f"HTTP mode on {settings.host}:{settings.port}"
    if settings.allowed_users or settings.allowed_usergroups:
        return f"{mode}; only the allowed users and user groups may act"
    return f"{mode}; no allow-list: every member of the workspace may act"


def _no_sqlite_file(url: str) -> Line | None:
    """A SQLite file that does not exist yet: connecting would create it, so say what the start will do."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    if path.exists():
        return None
    shown = parsed.render_as_string(hide_password=True)
    if not path.parent.is_dir():
        return Line("FAIL", "store", f"DATABASE_URL: {shown}: the directory {path.parent} does not exist")
    return Line("ok", "store", f"{shown} does not exist yet: it will be created and migrated at start")


async def _store(url: str, sandbox: bool) -> Line:
    missing = _no_sqlite_file(url)
    if missing is not None:
        return missing
    shown = make_url(url).render_as_string(hide_password=True)
    store = Store(url)
    try:
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            schema = await store.schema()
            use = await store.use()
    except (OSError, SQLAlchemyError, TimeoutError) as error:
        cause: BaseException = getattr(error, "orig", None) or error
        while cause.__cause__ is not None:  # the driver's own error, e.g. InvalidCatalogNameError
            cause = cause.__cause__
        verb = "reached" if isinstance(cause, OSError | TimeoutError) else "opened"
        return Line("FAIL", "store", f"DATABASE_URL: {shown} cannot be {verb} ({type(cause).__name__})")
    finally:
        await store.close()
    verdict = _schema_verdict(schema)
    if use is not None and use[0] != sandbox:  # the start would refuse it
        return Line("FAIL", "store", f"{shown} reachable; {StoreServesOther(*use)}")
    return Line("FAIL" if schema.newer else "ok", "store", f"{shown} reachable; {verdict}")


def _schema_verdict(schema: Schema) -> str:
    if schema.newer:
        return (
            f"schema {', '.join(schema.newer)} is newer than this wa-bot (its newest is {schema.head}): "
            "upgrade wa-bot"
        )
    if schema.at_head:
        return f"schema {schema.head}: at head"
    if schema.revisions:
        now = ", ".join(schema.revisions)
    elif schema.has_tables:
        now = "made before revisions"
    else:
        now = "empty"
    return f"schema {now}: behind: will be migrated to {schema.head} at start"


async def _slack(settings: SlackSettings) -> Line:
    try:
        identity = await identify(slack_client(settings.slack_bot_token, settings.slack_api_url))
    except (SlackRefusedToken, SlackUnreachable) as error:
        return Line("FAIL", "slack", str(error))
    return Line("ok", "slack", f"SLACK_BOT_TOKEN is {identity}")


async def _socket_mode(settings: SlackSettings, app_token: SecretStr) -> Line:
    """apps.connections.open with the app token: Slack answers with a WebSocket URL, which is not opened."""
    client = slack_client(settings.slack_bot_token, settings.slack_api_url)
    try:
        await socket_url(client, app_token.get_secret_value())
    except (SlackRefusedToken, SlackUnreachable) as error:
        return Line("FAIL", "socket mode", str(error))
    return Line("ok", "socket mode", "SLACK_APP_TOKEN opens Socket Mode connections (apps.connections.open)")
