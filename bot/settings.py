"""The bot's settings, read from the environment and `.env`, and the one place that reports them wrong."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Region = Literal["in", "sg", "eu", "na"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]


# What hosting services hand out (RDS, Heroku: postgres://… or postgresql://…) means asyncpg here.
LIBPQ_SCHEMES = ("postgres", "postgresql")


def _async_driver(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL") from None
    if parsed.drivername in LIBPQ_SCHEMES:
        # asyncpg takes libpq's sslmode values under the name ssl; passed on as sslmode, connect() refuses it.
        query = {("ssl" if key == "sslmode" else key): value for key, value in parsed.query.items()}
        parsed = parsed.set(drivername="postgresql+asyncpg", query=query)
        return parsed.render_as_string(hide_password=False)
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError("needs an async driver")
    return url


DatabaseUrl = Annotated[str, AfterValidator(_async_driver)]

# What .env.example holds where a real value goes (xoxb-your-bot-token, your-kaleyra-api-key, your-waba-id…):
# left in .env, it would make a fake account whose first add sends Kaleyra "api-key: your-kaleyra-api-key".
PLACEHOLDER = re.compile(r"^(?:xox[a-z]-|xapp-)?your-")
PLACEHOLDER_ERROR = "placeholder"
_Value = TypeVar("_Value", str, SecretStr, None)


def _not_placeholder(value: _Value) -> _Value:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if text is not None and PLACEHOLDER.match(text):
        raise PydanticCustomError(PLACEHOLDER_ERROR, "still the placeholder from .env.example")
    return value


Real = AfterValidator(_not_placeholder)

# Tokens that are not a bot token, by prefix: the prefix names the kind, never more of the value.
OTHER_TOKENS = {
    "xoxp-": "a user token (xoxp-) is not a bot token",
    "xapp-": "an app-level token (xapp-) is not a bot token (it goes in SLACK_APP_TOKEN)",
    "xoxe": "a rotating token (xoxe) is not one wa-bot can use (it does not refresh tokens)",
}
BOT_TOKEN_EXPECTED = "expected the Bot User OAuth Token, starting with xoxb-"


def _bot_token(token: SecretStr) -> SecretStr:
    value = token.get_secret_value()
    if value.startswith("xoxb-"):
        return token
    kind = next(
        (kind for prefix, kind in OTHER_TOKENS.items() if value.startswith(prefix)), "not a bot token"
    )
    raise ValueError(f"{kind}; {BOT_TOKEN_EXPECTED}")


BotToken = Annotated[SecretStr, AfterValidator(_bot_token), Real]
HttpUrl = Annotated[str, Field(pattern=r"^https?://")]
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///wa-bot.db"
# The sandbox's numbers are not real: by default they live in a file of their own, never in the live store.
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///wa-bot-sandbox.db"


def _sandbox_store(settings: Settings | StoreSettings) -> None:
    """With the sandbox and no DATABASE_URL set, the sandbox's own store rather than the live default."""
    if settings.wa_bot_sandbox and "database_url" not in settings.model_fields_set:
        settings.database_url = SANDBOX_DATABASE_URL


class Settings(BaseSettings):
    """Every variable of the contract's Settings table, plus how often the allowed user groups are re-read."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: BotToken
    slack_signing_secret: Annotated[SecretStr | None, Real] = None
    slack_app_token: Annotated[SecretStr | None, Real] = None
    slack_api_url: HttpUrl = DEFAULT_SLACK_API_URL
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)

    kaleyra_sid: Annotated[str | None, Real] = None
    kaleyra_api_key: Annotated[SecretStr | None, Real] = None
    kaleyra_region: Region = "in"
    kaleyra_waba_id: Annotated[str | None, Real] = None
    kaleyra_api_version: Literal["v1", "v2"] = "v2"
    kaleyra_base_url: str | None = Field(default=None, pattern=r"^https?://")

    meta_access_token: Annotated[SecretStr | None, Real] = None
    meta_business_id: Annotated[str | None, Real] = None
    meta_api_version: str = Field(default="v23.0", pattern=r"^v\d+\.\d+$")
    meta_graph_url: str = Field(default="https://graph.facebook.com", pattern=r"^https?://")

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    wa_bot_allowed_users: str | None = None
    wa_bot_allowed_usergroups: str | None = None
    wa_bot_usergroups_refresh_seconds: float = Field(default=60.0, gt=0)
    wa_bot_accounts_file: Path | None = None
    wa_bot_resend_cooldown_seconds: int = Field(default=60, ge=0)
    # How long an operation's lease lasts without renewal, and how often the sweeper looks for expired ones:
    # an operation whose process died is reported within lease + sweep (75 s by default).
    wa_bot_lease_seconds: float = Field(default=45, gt=0)
    wa_bot_sweep_seconds: float = Field(default=30, gt=0)
    # The built-in sandbox instead of the providers: no provider credentials, no provider called.
    wa_bot_sandbox: bool = False
    # The most provider calls one bulk add makes in any one-second window (its first second included).
    wa_bot_bulk_rate_per_second: float = Field(default=5, gt=0, le=1000)
    log_level: LogLevel = "INFO"
    # json: one object a line, for Loki, Datadog or CloudWatch to parse without a pattern.
    log_format: LogFormat = "text"

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value().startswith("xapp-"):
            raise ValueError("not an app-level token")
        return token

    @model_validator(mode="after")
    def _sandbox_has_its_own_store(self) -> Settings:
        _sandbox_store(self)
        return self

    @model_validator(mode="after")
    def _http_mode_needs_a_signing_secret(self) -> Settings:
        if self.slack_app_token is None and not self.slack_signing_secret:
            raise ValueError(
                "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        return self

    @property
    def allowed_users(self) -> frozenset[str]:
        return _ids(self.wa_bot_allowed_users)

    @property
    def allowed_usergroups(self) -> frozenset[str]:
        return _ids(self.wa_bot_allowed_usergroups)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def secrets(self) -> list[str]:
        """Every secret value the settings hold, for the log redactor."""
        tokens = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.kaleyra_api_key,
            self.meta_access_token,
        )
        values = [token.get_secret_value() for token in tokens if token]
        password = make_url(self.database_url).password
        return [*values, str(password)] if password else values


class StoreSettings(BaseSettings):
    """DATABASE_URL alone, from the same sources: `wa-bot migrate` needs no token and no account."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    wa_bot_sandbox: bool = False

    @model_validator(mode="after")
    def _sandbox_has_its_own_store(self) -> StoreSettings:
        _sandbox_store(self)
        return self


class SlackSettings(BaseSettings):
    """The token and where Slack is, from the same sources: `wa-bot check` asks Slack even when PORT is wrong."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: BotToken
    slack_api_url: HttpUrl = DEFAULT_SLACK_API_URL


def _ids(text: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


EXPECTED = {
    "slack_bot_token": "required: the bot token, starting with xoxb-",
    "slack_app_token": "an app-level token starting with xapp- (or unset for HTTP mode)",
    "slack_api_url": "a URL starting with http:// or https://",
    "port": "a port number from 1 to 65535",
    "kaleyra_region": "one of in, sg, eu, na",
    "kaleyra_api_version": "v1 or v2",
    "kaleyra_base_url": "a URL starting with http:// or https://",
    "meta_api_version": "a Graph API version like v23.0",
    "meta_graph_url": "a URL starting with http:// or https://",
    "wa_bot_resend_cooldown_seconds": "a whole number of seconds, 0 or more",
    "wa_bot_lease_seconds": "a number of seconds above 0",
    "wa_bot_sweep_seconds": "a number of seconds above 0",
    "wa_bot_usergroups_refresh_seconds": "a number of seconds greater than 0",
    "wa_bot_sandbox": "1 (the built-in sandbox instead of the providers) or 0",
    "wa_bot_bulk_rate_per_second": "a number of provider calls per second above 0 (at most 1000)",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "log_format": "text or json",
    "database_url": "sqlite+aiosqlite:///path/to/wa-bot.db or postgresql+asyncpg://user:password@host/db "
    "(postgres:// and postgresql:// mean the same)",
}

PLACEHOLDER_EXPECTED = "still the placeholder from .env.example: set the real value"

# Fields whose validator's message says what is wrong and what is expected, without the value.
EXPLAINED_BY_VALIDATOR = frozenset({"slack_bot_token"})

NO_ACCOUNT = (
    "No account configured: set KALEYRA_SID, KALEYRA_API_KEY and KALEYRA_WABA_ID, "
    "or META_ACCESS_TOKEN and META_BUSINESS_ID, or WA_BOT_ACCOUNTS_FILE"
)


class _Present(BaseSettings):
    """The same sources, read without judging, to name what is missing beside what is malformed."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    kaleyra_sid: str | None = None
    kaleyra_api_key: str | None = None
    kaleyra_waba_id: str | None = None
    meta_access_token: str | None = None
    meta_business_id: str | None = None
    wa_bot_accounts_file: str | None = None
    wa_bot_sandbox: str | None = None


def problems_of(error: ValidationError) -> list[str]:
    """One line per problem, naming the variable and what is expected, never the value that was given."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        if not field:
            lines.append(str(item["msg"]).removeprefix("Value error, "))
            continue
        if item["type"] == PLACEHOLDER_ERROR:
            lines.append(f"{field.upper()}: {PLACEHOLDER_EXPECTED}")
            continue
        if item["type"] == "value_error" and field in EXPLAINED_BY_VALIDATOR:
            lines.append(f"{field.upper()}: {str(item['msg']).removeprefix('Value error, ')}")
            continue
        lines.append(f"{field.upper()}: {EXPECTED.get(field, 'malformed (' + item['msg'] + ')')}")
    present = _Present()
    if not (present.slack_signing_secret or present.slack_app_token) and not any(
        line.startswith("SLACK_SIGNING_SECRET") for line in lines
    ):
        lines.append("SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)")
    accounts = (
        present.kaleyra_sid,
        present.kaleyra_api_key,
        present.kaleyra_waba_id,
        present.meta_access_token,
        present.meta_business_id,
        present.wa_bot_accounts_file,
    )
    if not any(accounts) and present.wa_bot_sandbox not in ("1", "true", "yes", "on"):
        lines.append(NO_ACCOUNT)
    return lines
