"""The modal submissions, one listener per file: `read_form` hands each its modal's context, form values and
requester; each checks them at the door (errors under the fields), acknowledges, then hands over."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from bot.slack.ids import CallbackId
from handlers.context import read_form
from handlers.views.wa_add import wa_add
from handlers.views.wa_bulk import wa_bulk
from handlers.views.wa_update import wa_update
from handlers.views.wa_verify import wa_verify


def register(app: AsyncApp) -> None:
    app.view(CallbackId.ADD, middleware=[read_form])(wa_add)
    app.view(CallbackId.BULK, middleware=[read_form])(wa_bulk)
    app.view(CallbackId.VERIFY, middleware=[read_form])(wa_verify)
    app.view(CallbackId.UPDATE, middleware=[read_form])(wa_update)
