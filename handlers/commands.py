"""The four slash commands: parse the text, answer help and mistakes ephemerally, open the right modal."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import KaleyraAccount
from bot.lifecycle.states import State
from bot.lifecycle.usecases import Numbers
from bot.phone import PhoneError, parse_phone
from bot.slack import audit, views
from bot.store import Number, StoreUnavailable
from handlers.payloads import READ_BUDGET_SECONDS, ModalContext, split_number_and_name

log = logging.getLogger(__name__)
HELP_WORDS = {"help", "-h", "--help", "?"}
AUDIT_DAYS_DEFAULT = 30
AUDIT_DAYS_MAX = 3660


def audit_days(text: str) -> int | str | None:
    """`audit [days]` → the days (default 30); a malformed `days` → the problem; not `audit …` → None."""
    words = text.split()
    if not words or words[0].lower() != "audit":
        return None
    if len(words) == 1:
        return AUDIT_DAYS_DEFAULT
    if len(words) == 2 and words[1].isascii() and words[1].isdigit() and 1 <= int(words[1]) <= AUDIT_DAYS_MAX:
        return int(words[1])
    return f"`{' '.join(words[1:])[:40]}` is not a number of days from 1 to {AUDIT_DAYS_MAX}."


def register(app: AsyncApp, numbers: Numbers) -> None:
    accounts = list(numbers.accounts.values())
    kaleyra_accounts = {a.name: a for a in accounts if isinstance(a, KaleyraAccount)}
    first_kaleyra = next(iter(kaleyra_accounts.values()), None)

    def context_of(command: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return ModalContext(
            channel=command["channel_id"], response_url=command.get("response_url"), **extra
        ).dump()

    @app.command("/wa-add")
    async def wa_add(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        text = command.get("text", "").strip()
        if text.lower() in HELP_WORDS:
            await ack(response_type="ephemeral", text=views.usage("/wa-add"))
            return
        if text.lower() == "bulk":
            await ack()
            view = views.bulk_modal(accounts, accounts[0], context_of(command))
            await client.views_open(trigger_id=command["trigger_id"], view=view)
            return
        phone, typed, name = split_number_and_name(text)
        if text and phone is None:
            problem = f"`{text.split()[0]}` is not a phone number I can read (include the country code)."
            await ack(response_type="ephemeral", text=views.usage("/wa-add", problem))
            return
        await ack()
        carried = {
            "phone_number": typed or None,
            "wa_number": typed or None,
            "name": name,
            "display_name": name,
        }
        view = views.add_modal(accounts, accounts[0], context_of(command), carried)
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    async def number_from(ack: AsyncAck, command: dict[str, Any]) -> str | None:
        """The E.164 number of a `<number>` argument, or None after answering with the usage."""
        name, text = command["command"], command.get("text", "").strip()
        if not text or text.lower() in HELP_WORDS:
            await ack(response_type="ephemeral", text=views.usage(name, None if text else "Which number?"))
            return None
        try:
            return parse_phone(text).e164
        except PhoneError as error:
            await ack(response_type="ephemeral", text=views.usage(name, str(error)))
            return None

    async def known(e164: str) -> list[Number]:
        return await asyncio.wait_for(numbers.with_number(e164), READ_BUDGET_SECONDS)

    def gone(found: list[Number]) -> str | None:
        """Why a number is out of reach when only accounts no longer configured hold it."""
        names = sorted({n.account for n in found if n.account not in numbers.accounts})
        if not names or any(n.account in numbers.accounts for n in found):
            return None
        return (
            f"{found[0].e164} is on account `{names[0]}`, which is no longer configured in wa-bot: "
            "ask an admin to restore it before acting on this number."
        )

    def pick(found: list[Number]) -> Number | None:
        """Of the same number on several accounts, the one waiting for a code, else the latest."""
        waiting = [n for n in found if n.state == State.AWAITING_OTP]
        if waiting:
            return waiting[0]
        return found[-1] if found else None

    @app.command("/wa-verify")
    async def wa_verify(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        e164 = await number_from(ack, command)
        if e164 is None:
            return
        await ack()
        found = await known(e164)
        number = pick([n for n in found if n.account in kaleyra_accounts])
        problem = gone(found) if number is None else None
        if number is None and not kaleyra_accounts:
            problem = "No Kaleyra account is configured: nothing to verify."
        elif number is not None and number.state == State.ADDING:
            problem = f"{e164} is still being added: wait for its thread."
        elif number is not None and number.state in (State.VERIFIED, State.ADDED):
            problem = f"{e164} is {views.state_words(number.state)}: there is no code to enter."
        if problem:
            await respond(response_type="ephemeral", text=problem)
            return
        if number is not None:
            account = kaleyra_accounts[number.account]
            context = context_of(command, account=account.name, e164=e164, number_id=number.id)
            ask_id = not (number.phone_number_id and number.phone_number_id_confirmed)
            view = views.otp_modal(e164, account, context, ask_id=ask_id, typed_id=number.phone_number_id)
        else:  # unknown to the bot: ask for the phone number ID (and the account, when there are several)
            assert first_kaleyra is not None
            context = context_of(command, account=first_kaleyra.name, e164=e164)
            choices = list(kaleyra_accounts.values())
            view = views.otp_modal(e164, first_kaleyra, context, ask_id=True, choices=choices)
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.command("/wa-update")
    async def wa_update(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        e164 = await number_from(ack, command)
        if e164 is None:
            return
        await ack()
        found = await known(e164)
        number = pick([n for n in found if n.account in kaleyra_accounts])
        problem = gone(found) if number is None else None
        if number is None and not problem and (found or not kaleyra_accounts):
            where = "is on a Meta account, whose profile" if found else "cannot be updated: a profile"
            problem = f"{e164} {where} is managed through Kaleyra, and no Kaleyra account holds it here."
        if problem:
            await respond(response_type="ephemeral", text=problem)
            return
        if number is not None:
            account = kaleyra_accounts[number.account]
            context = context_of(command, account=account.name, e164=e164, number_id=number.id)
            view = views.update_modal(e164, account, number.profile, context)
        else:  # added outside the bot: the first Kaleyra account, or the one picked in the modal
            assert first_kaleyra is not None
            context = context_of(command, account=first_kaleyra.name, e164=e164)
            view = views.update_modal(
                e164, first_kaleyra, {}, context, choices=list(kaleyra_accounts.values())
            )
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    async def export_audit(client: AsyncWebClient, user_id: str, days: int) -> str:
        """Hand the export over; what the requester is told afterwards."""
        try:
            export = await audit.send(client, user_id, numbers.audit(days), days)
        except (SlackApiError, SlackRequestError) as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else "upload failed"
            return f"Could not send the audit CSV: Slack said `{reason}`."
        except StoreUnavailable:
            log.exception("audit export: the store could not be read")
            return "Could not read the store for the audit CSV: try again in a moment."
        return audit.summary(export, days)

    @app.command("/wa-numbers")
    async def wa_numbers(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = command.get("text", "").strip()
        if text.lower() in HELP_WORDS:
            await ack(response_type="ephemeral", text=views.usage("/wa-numbers"))
            return
        days = audit_days(text)
        if isinstance(days, str):
            await ack(response_type="ephemeral", text=views.usage("/wa-numbers", days))
            return
        if days is not None:
            await ack(response_type="ephemeral", text=f"Exporting the last {days} days of operations…")
            await respond(
                response_type="ephemeral", text=await export_audit(client, command["user_id"], days)
            )
            return
        labels = {name: account.label for name, account in numbers.accounts.items()}
        if not text:
            await ack()
            listed, total = await numbers.listing(limit=40)
            blocks = views.numbers_list(listed, total, labels)
            await respond(response_type="ephemeral", text=f"{total} numbers", blocks=blocks)
            return
        e164 = await number_from(ack, command)
        if e164 is None:
            return
        await ack()
        found = await numbers.with_number(e164)
        if not found:
            await respond(
                response_type="ephemeral",
                text=f"wa-bot has no record of {e164}. Add it with `/wa-add {e164}`.",
            )
            return
        blocks = []
        for number in found[:3]:
            label = views.account_label(number.account, numbers.accounts.get(number.account))
            blocks += views.history(number, label, await numbers.history(number.id, limit=30))
        await respond(response_type="ephemeral", text=f"History of {e164}", blocks=blocks[:50])
