"""What the modal submissions share: the account a form names, and showing the modal's next step."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Account
from bot.lifecycle.usecases import Numbers
from bot.slack.forms import FormErrors
from handlers.payloads import ModalContext

log = logging.getLogger(__name__)
ACCOUNT_GONE = "Pick one of the Kaleyra accounts."


def account_of(numbers: Numbers, values: dict[str, str | None], modal: ModalContext) -> Account:
    """The account picked in the modal (or the one it was opened for, or the first); refused under `account`
    when it names one not configured."""
    accounts = numbers.accounts
    account = accounts.get(values.get("account") or modal.account or next(iter(accounts)))
    if account is None:
        raise FormErrors({"account": "Pick one of the accounts in the list."})
    return account


def kaleyra_account_of(
    numbers: Numbers, values: dict[str, str | None], modal: ModalContext
) -> Account | None:
    """The Kaleyra account picked in (or opened with) a verify or update modal; None when it is not one."""
    return numbers.verifying_accounts.get(values.get("account") or modal.account or "")


async def show(client: AsyncWebClient, view: dict[str, Any], next_view: dict[str, Any]) -> None:
    """The modal's next step, after the acknowledgement; a modal already closed keeps its result in the thread."""
    try:
        await client.views_update(view_id=view["id"], view=next_view)
    except SlackApiError as error:  # the person closed the modal: the thread has the result
        log.info("could not update the modal: %s", error.response.get("error"))
