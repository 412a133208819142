"""The four slash commands: parse the text, answer help and mistakes ephemerally, open the right modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import KaleyraAccount
from bot.lifecycle.onboarding import Onboarding
from bot.phone import PhoneError, parse_phone
from bot.slack import views
from bot.store import Number, NumberState
from handlers.payloads import ModalContext, split_number_and_name

HELP_WORDS = {"help", "-h", "--help", "?"}


def register(app: AsyncApp, onboarding: Onboarding) -> None:
    accounts = list(onboarding.accounts.values())
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

    def pick(numbers: list[Number]) -> Number | None:
        """Of the same number on several accounts, the one waiting for a code, else the latest."""
        waiting = [n for n in numbers if n.state == NumberState.AWAITING_OTP]
        if waiting:
            return waiting[0]
        return numbers[-1] if numbers else None

    @app.command("/wa-verify")
    async def wa_verify(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        e164 = await number_from(ack, command)
        if e164 is None:
            return
        await ack()
        number = pick([n for n in await onboarding.store.numbers_with(e164) if n.account in kaleyra_accounts])
        if number is None and not kaleyra_accounts:
            await respond(
                response_type="ephemeral", text="No Kaleyra account is configured: nothing to verify."
            )
            return
        if number is not None and number.state == NumberState.ADDING:
            await respond(
                response_type="ephemeral", text=f"{e164} is still being added: wait for its thread."
            )
            return
        if number is not None and number.state in (NumberState.VERIFIED, NumberState.ADDED):
            state = views.state_words(number.state)
            await respond(response_type="ephemeral", text=f"{e164} is {state}: there is no code to enter.")
            return
        if number is not None and number.phone_number_id:
            view = views.otp_modal(
                e164, kaleyra_accounts[number.account], context_of(command, number_id=number.id)
            )
        else:  # unknown to the bot: ask for the phone number ID (and the account, when there are several)
            assert first_kaleyra is not None
            account = kaleyra_accounts[number.account] if number else first_kaleyra
            choices = [] if number else list(kaleyra_accounts.values())
            context = context_of(command, account=account.name, e164=e164)
            view = views.otp_modal(e164, account, context, ask_id=True, choices=choices)
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.command("/wa-update")
    async def wa_update(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        e164 = await number_from(ack, command)
        if e164 is None:
            return
        await ack()
        known = await onboarding.store.numbers_with(e164)
        number = pick([n for n in known if n.account in kaleyra_accounts])
        if number is None and (known or not kaleyra_accounts):
            where = "is on a Meta account, whose profile" if known else "cannot be updated: a profile"
            await respond(
                response_type="ephemeral",
                text=f"{e164} {where} is managed through Kaleyra, and no Kaleyra account holds it here.",
            )
            return
        if number is not None:
            account = kaleyra_accounts[number.account]
            view = views.update_modal(e164, account, number.profile, context_of(command, number_id=number.id))
        else:  # added outside the bot: the first Kaleyra account, or the one picked in the modal
            assert first_kaleyra is not None
            context = context_of(command, account=first_kaleyra.name, e164=e164)
            view = views.update_modal(
                e164, first_kaleyra, {}, context, choices=list(kaleyra_accounts.values())
            )
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.command("/wa-numbers")
    async def wa_numbers(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = command.get("text", "").strip()
        if text.lower() in HELP_WORDS:
            await ack(response_type="ephemeral", text=views.usage("/wa-numbers"))
            return
        labels = {name: account.label for name, account in onboarding.accounts.items()}
        if not text:
            await ack()
            numbers, total = await onboarding.store.numbers(limit=40)
            blocks = views.numbers_list(numbers, total, labels)
            await respond(response_type="ephemeral", text=f"{total} numbers", blocks=blocks)
            return
        e164 = await number_from(ack, command)
        if e164 is None:
            return
        await ack()
        found = await onboarding.store.numbers_with(e164)
        if not found:
            await respond(
                response_type="ephemeral",
                text=f"wa-bot has no record of {e164}. Add it with `/wa-add {e164}`.",
            )
            return
        blocks = []
        for number in found[:3]:
            blocks += views.history(
                number,
                labels.get(number.account, number.account),
                await onboarding.store.history(number.id, limit=30),
            )
        await respond(response_type="ephemeral", text=f"History of {e164}", blocks=blocks[:50])
