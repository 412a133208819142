"""The modal submissions, one listener per file: `read_form` hands each its modal's context, form values and
requester; each checks them at the door (errors under the fields), acknowledges, then hands over."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from handlers.context import read_form
from handlers.views.wa_add import wa_add
from handlers.views.wa_bulk import wa_bulk
from handlers.views.wa_update import wa_update
from handlers.views.wa_verify import wa_verify


def register(app: AsyncApp) -> None:
    app.view("wa_add", middleware=[read_form])(wa_add)
    app.view("wa_bulk", middleware=[read_form])(wa_bulk)
    app.view("wa_verify", middleware=[read_form])(wa_verify)
    app.view("wa_update", middleware=[read_form])(wa_update)
