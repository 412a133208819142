"""`wa-bot` and `python -m bot`: the command line (run, migrate, check); whatever is wrong is one line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="wa-bot",
        description="A Slack app that adds, verifies and updates WhatsApp Business numbers.",
        epilog=SETTINGS_SOURCES,
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="serve against the built-in sandbox instead of the providers (same as WA_BOT_SANDBOX=1)",
    )
    commands = parser.add_subparsers(dest="command", title="commands")
    commands.add_parser("run", help="serve Slack (what wa-bot does with no command)", epilog=SETTINGS_SOURCES)
    commands.add_parser(
        "migrate",
        help="upgrade the store's schema to this wa-bot's revision (reads only DATABASE_URL)",
        epilog=SETTINGS_SOURCES,
    )
    commands.add_parser(
        "check",
        help="check the settings, the accounts, the store and the Slack tokens without serving, migrating "
        "or calling a provider; one line per check, exit 0 when all hold, 1 otherwise",
        epilog=SETTINGS_SOURCES,
    )
    commands.add_parser(
        "demo",
        help="try wa-bot with no settings: the real bot, the sandbox and a Slack stand-in play a short session",
    )
    arguments = parser.parse_args(argv)
    if arguments.sandbox:
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
    from bot.store import StoreNewerThanCode

    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
    except StoreUnreachable as error:
        print(f"wa-bot cannot start: DATABASE_URL: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except (StoreNewerThanCode, SlackRefusedToken) as error:  # only a change by the operator helps: 2
        print(f"wa-bot cannot start: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except SlackUnreachable as error:  # the network or Slack: a supervisor's restart may well help, 1
        print(f"wa-bot cannot start: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def migrate() -> None:
    try:
        database_url = StoreSettings().database_url
    except ValidationError:
        _stop([f"DATABASE_URL: {EXPECTED['database_url']}"], doing="migrate")
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
