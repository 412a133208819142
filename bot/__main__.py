"""`wa-bot` and `python -m bot`: check the settings (exit 2 with one line per problem), then serve."""

from __future__ import annotations

import asyncio
import sys
from typing import NoReturn

from pydantic import ValidationError

from bot import logs
from bot.accounts import AccountsError, KaleyraAccount, accounts_from
from bot.settings import Settings, problems_of


def main() -> None:
    try:
        settings = Settings()
        accounts = accounts_from(settings)
    except ValidationError as error:
        _stop(problems_of(error))
    except AccountsError as error:
        _stop(error.problems)
    secrets = settings.secrets + [
        account.api_key.get_secret_value()
        if isinstance(account, KaleyraAccount)
        else account.access_token.get_secret_value()
        for account in accounts.values()
    ]
    logs.configure(settings.log_level, secrets)
    from bot.server import StoreUnreachable, serve

    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
    except StoreUnreachable as error:
        print(f"wa-bot cannot start: DATABASE_URL: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def _stop(problems: list[str]) -> NoReturn:
    print("wa-bot cannot start; fix these settings (environment or .env):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    main()
