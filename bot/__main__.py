"""`wa-bot` and `python -m bot`: check the settings (exit 2 with one line per problem), then serve."""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from bot import logs
from bot.accounts import AccountsError, accounts_from
from bot.settings import Settings, problems_of


def main() -> None:
    try:
        settings = Settings()
        accounts = accounts_from(settings)
    except ValidationError as error:
        _stop(problems_of(error))
    except AccountsError as error:
        _stop(error.problems)
    secrets = [
        s.get_secret_value()
        for s in (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
        if s
    ]
    for account in accounts.values():
        secrets.append(
            account.api_key.get_secret_value()
            if hasattr(account, "api_key")
            else account.access_token.get_secret_value()
        )
    logs.configure(settings.log_level, secrets)
    from bot.server import serve

    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


def _stop(problems: list[str]) -> None:
    print("wa-bot cannot start; fix these settings (environment or .env):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    main()
