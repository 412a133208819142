"""Every modal the bot opens: the add, bulk, OTP and update forms, and notices."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    RichTextInputElement,
)

from bot.accounts import Account
from bot.lifecycle.bulk import MAX_LINES as MAX_BULK_LINES
from bot.providers.dialects import dialect_of
from bot.slack.blocks import (
    account_select,
    field_input,
    input_block,
    modal_view,
    mrkdwn_section,
    plain_text,
    text_input,
)
from bot.slack.ids import ActionId, CallbackId


def add_modal(
    accounts: Sequence[Account],
    chosen: Account,
    metadata: dict[str, Any],
    values: dict[str, str | None] | None = None,
    problems: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The add form for `chosen` (Kaleyra v2, Kaleyra v1 or Meta fields), pre-filled with `values`.

    An `account` select leads when there are several accounts; `problems` (block_id → words) are shown under
    their fields when a provider sent the form back.

    Every `/wa-add` opens one, inside Slack's 3 s: the form is built and checked with the typed builders once per
    accounts, account and problems, then each time only filled in with `values` and the metadata.
    """
    values = values or {}
    form = _add_form(tuple(accounts), chosen, tuple(sorted((problems or {}).items())))
    return {
        **form,
        "blocks": [_filled(block, values) for block in form["blocks"]],
        "private_metadata": json.dumps({**metadata, "account": chosen.name}, separators=(",", ":")),
    }


def _filled(block: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    """An input block of the empty add form with its value from `values`, as the typed builders would set it."""
    if block["type"] != "input" or block["block_id"] == "account":
        return block
    element, value = block["element"], values.get(block["block_id"])
    if block["block_id"] == "verification_type":  # the radio buttons: SMS unless another way was chosen
        chosen_way = value or "SMS"
        element = {
            **element,
            "initial_option": next(o for o in element["options"] if o["value"] == chosen_way),
        }
    elif element["type"] == "static_select":  # the category: only one of its options
        chosen = next((o for o in element["options"] if o["value"] == value), None)
        if chosen is None:
            return block
        element = {**element, "initial_option": chosen}
    elif value:  # a text, URL or email input; Block Kit's builders leave out an empty value too
        element = {**element, "initial_value": value}
    else:
        return block
    return {**block, "element": element}


@functools.lru_cache(maxsize=64)
def _add_form(
    accounts: tuple[Account, ...], chosen: Account, problem_items: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """The add form without values or metadata (see add_modal); callers copy what they change."""
    problems = dict(problem_items)
    fields = [field_input(field, None) for field in dialect_of(chosen).add_fields]
    intro_text = dialect_of(chosen).add_intro.format(account=chosen)
    intro = [mrkdwn_section(intro_text)] if intro_text else []
    blocks: list[Block] = [account_select(accounts, chosen)] if len(accounts) > 1 else []
    blocks += intro
    for field in fields:
        blocks.append(field)
        if field.block_id in problems:
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=f":warning: {problems[field.block_id]}")])
            )
    return modal_view(CallbackId.ADD, "Add a WhatsApp number", blocks, {}, submit="Add")


def bulk_modal(accounts: Sequence[Account], chosen: Account, metadata: dict[str, Any]) -> dict[str, Any]:
    """The bulk add form: one number per line, pasted (a rich text input: a plain one holds 3,000 characters,
    about a hundred lines)."""
    shape = dialect_of(chosen).bulk_line
    if dialect_of(chosen).name_field is None:
        example = "+91 98765 43210\n+1 631 555 1000"
    else:
        example = "+91 98765 43210, Acme Support\n+1 631 555 1000, Acme US, VOICE"
    blocks: list[Block] = []
    if len(accounts) > 1:
        blocks.append(account_select(accounts, chosen))
    blocks += [
        input_block(
            "numbers",
            f"Numbers, one per line: {shape}",
            RichTextInputElement(
                action_id=ActionId.VALUE, placeholder=plain_text(example.replace("\n", " · "))
            ),
            hint=(
                f"Up to {MAX_BULK_LINES} lines. Paste from a spreadsheet or its CSV export (a header row is "
                "skipped). Every line is checked before anything is sent."
                + (" The code comes by SMS unless the line says VOICE." if shape.endswith("VOICE") else "")
            ),
        ),
        mrkdwn_section(
            "One message in this channel shows the progress; its thread gets the summary, with *Retry failed*. "
            "Each number is then found with `/wa-numbers` and verified like any other."
        ),
    ]
    return modal_view(CallbackId.BULK, "Bulk add", blocks, metadata, submit="Add all")


def otp_modal(
    e164: str,
    account: Account,
    metadata: dict[str, Any],
    *,
    ask_id: bool = False,
    problem: Sequence[str] = (),
    choices: Sequence[Account] = (),
    typed_id: str | None = None,
) -> dict[str, Any]:
    """The OTP form; `problem` shows why the last try failed, so the person can try again at once.

    `choices`: the accounts the number may be on, when the bot has no record of it.
    """
    blocks: list[Block] = [account_select(choices, account)] if len(choices) > 1 else []
    blocks.append(mrkdwn_section(f"Enter the six-digit code sent to *{e164}* ({account.label})."))
    if problem:
        blocks.append(mrkdwn_section(":warning: " + "\n".join(problem)))
    blocks.append(
        input_block(
            "otp",
            "OTP",
            text_input(max_length=11, placeholder="123456"),
            hint="123456, 123-456 and 123 456 all work.",
        )
    )
    if ask_id:
        blocks.append(
            input_block(
                "id",
                "Phone number ID",
                text_input(typed_id, max_length=255),
                hint="The ID Kaleyra returned when the number was added"
                + (" (Kaleyra did not accept this one: check it)." if typed_id else "."),
            )
        )
    return modal_view(CallbackId.VERIFY, "Enter the OTP", blocks, metadata, submit="Verify")


def update_modal(
    e164: str,
    account: Account,
    profile: dict[str, Any],
    metadata: dict[str, Any],
    choices: Sequence[Account] = (),
) -> dict[str, Any]:
    """The profile form, pre-filled with what the bot last set; only fields that apply to the account's version.

    `choices`: the accounts the number may be on, when the bot has no record of it.
    """

    blocks: list[Block] = [account_select(choices, account)] if len(choices) > 1 else []
    blocks.append(
        mrkdwn_section(f"Business profile of *{e164}* ({account.label}). Only filled-in fields are sent.")
    )
    blocks += [field_input(field, profile.get(field.block_id)) for field in dialect_of(account).update_fields]
    return modal_view(
        CallbackId.UPDATE,
        "Update business profile",
        blocks,
        {**metadata, "account": account.name},
        submit="Update",
    )


def notice_modal(title: str, lines: Sequence[str]) -> dict[str, Any]:
    """A modal with only words: "Verifying…", "Verified", "Not allowed"."""
    return modal_view(CallbackId.NOTICE, title, [mrkdwn_section("\n".join(lines))], {})
