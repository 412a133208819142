"""`wa-bot` and `python -m bot`: the command line (run, migrate, check); whatever is wrong is one line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.accounts import AccountsError, accounts_from
from bot.settings import EXPECTED, Settings, StoreSettings, problems_of

if TYPE_CHECKING:
    from bot.store import Store

SETTINGS_SOURCES = (
    "Settings come from the environment and from .env in the working directory; the environment wins."
)

# Each command: its line in `wa-bot --help`, and what its own --help says.
COMMANDS = (
    (
        "run",
        "serve Slack (what wa-bot does with no command)",
        "Serve Slack: HTTP mode on HOST:PORT (POST /slack/events, GET /healthz, GET /metrics), or Socket Mode "
        "when SLACK_APP_TOKEN is set. The store is migrated first. Stops within 20 s on SIGTERM or Ctrl-C. "
        "Exit status 2 for a setting that is missing or malformed, 1 when the store or Slack cannot be reached.",
    ),
    (
        "migrate",
        "upgrade the store's schema to this wa-bot's revision (reads only DATABASE_URL)",
        "Upgrade the store at DATABASE_URL to this wa-bot's newest schema revision and print it; nothing else "
        "is read or started. Exit status 2 when a newer wa-bot migrated the store.",
    ),
    (
        "check",
        "check the settings, the accounts, the store and the Slack tokens without serving, migrating "
        "or calling a provider; one line per check, exit 0 when all hold, 1 otherwise",
        "Check what a start needs, one line each (ok, FAIL or skip): the settings, the accounts, the store and "
        "its schema, the Slack bot token (auth.test) and, in Socket Mode, the app token "
        "(apps.connections.open). Nothing is served or migrated and no provider is called. Exit status 0 when "
        "every check holds, 1 otherwise.",
    ),
    (
        "demo",
        "try wa-bot with no settings: the real bot, the sandbox and a Slack stand-in play a short session",
        "Play a short session against the real bot on its embedded defaults (the sandbox, a throwaway SQLite "
        "store, a Slack stand-in in this process) and print each thread as a person reads it in Slack. Needs "
        "no setting: the environment and .env are ignored, and nothing is left behind.",
    ),
)


def main(argv: list[str] | None = None) -> None:
    # --sandbox is one parser of its own, a parent of the top level and of every command, so that both
    # `wa-bot --sandbox run` and `wa-bot run --sandbox` work; SUPPRESS keeps a command's absent flag from
    # resetting the one given before it.
    sandbox = argparse.ArgumentParser(add_help=False)
    sandbox.add_argument(
        "--sandbox",
        action="store_true",
        default=argparse.SUPPRESS,
        help="serve against the built-in sandbox instead of the providers (same as WA_BOT_SANDBOX=1); "
        "its store is wa-bot-sandbox.db unless DATABASE_URL is set",
    )
    parser = argparse.ArgumentParser(
        prog="wa-bot",
        description="A Slack app that adds, verifies and updates WhatsApp Business numbers.",
        epilog=SETTINGS_SOURCES,
        parents=[sandbox],
    )
    parser.add_argument("--version", action="version", version=f"wa-bot {_version()}")
    commands = parser.add_subparsers(dest="command", title="commands")
    for name, summary, description in COMMANDS:
        commands.add_parser(
            name, help=summary, description=description, epilog=SETTINGS_SOURCES, parents=[sandbox]
        )
    arguments = parser.parse_args(argv)
    if getattr(arguments, "sandbox", False):
        os.environ["WA_BOT_SANDBOX"] = "1"
    if arguments.command == "migrate":
        migrate()
    elif arguments.command == "check":
        from bot.check import check

        raise SystemExit(check())
    elif arguments.command == "demo":
        from bot.demo import main as demo

        demo()
    else:
        run()


def _version() -> str:
    try:
        return version("wa-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def run() -> None:
    try:
        settings = Settings()
        accounts = accounts_from(settings)
    except ValidationError as error:
        _stop(problems_of(error))
    except AccountsError as error:
        _stop(error.problems)
    secrets = settings.secrets + [account.secret.get_secret_value() for account in accounts.values()]
    logs.configure(settings.log_level, secrets, settings.log_format)
    from bot.server import StoreUnreachable, serve  # the heavy imports only once the settings hold
    from bot.slack.identity import SlackRefusedToken, SlackUnreachable
    from bot.store import StoreNewerThanCode, StoreServesOther

    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
    except StoreUnreachable as error:
        print(f"wa-bot cannot start: DATABASE_URL: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except (
        StoreNewerThanCode,
        StoreServesOther,
        SlackRefusedToken,
    ) as error:  # only a change by the operator helps: 2
        print(f"wa-bot cannot start: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except SlackUnreachable as error:  # the network or Slack: a supervisor's restart may well help, 1
        print(f"wa-bot cannot start: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def migrate() -> None:
    try:
        database_url = StoreSettings().database_url
    except ValidationError as error:
        wrong = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        _stop([f"{field.upper()}: {EXPECTED[field]}" for field in wrong], doing="migrate")
    from bot.store import Store, StoreNewerThanCode

    try:
        revision = asyncio.run(_migrate(Store(database_url)))
    except StoreNewerThanCode as error:
        print(f"wa-bot cannot migrate: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except (OSError, SQLAlchemyError) as error:
        shown = make_url(database_url).render_as_string(hide_password=True)
        print(
            f"wa-bot cannot migrate: DATABASE_URL: the store at {shown} cannot be reached ({type(error).__name__})",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    print(f"store at revision {revision} (head)")


async def _migrate(store: Store) -> str:
    try:
        return await store.migrate()
    finally:
        await store.close()


def _stop(problems: list[str], doing: str = "start") -> NoReturn:
    print(f"wa-bot cannot {doing}; fix these settings (environment or .env):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    main()
