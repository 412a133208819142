"""The slash commands, one listener per file: each parses its text, answers help and mistakes ephemerally and opens
the right modal."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from handlers.commands.wa_add import wa_add
from handlers.commands.wa_numbers import wa_numbers
from handlers.commands.wa_update import wa_update
from handlers.commands.wa_verify import wa_verify


def register(app: AsyncApp) -> None:
    app.command("/wa-add")(wa_add)
    app.command("/wa-verify")(wa_verify)
    app.command("/wa-update")(wa_update)
    app.command("/wa-numbers")(wa_numbers)
