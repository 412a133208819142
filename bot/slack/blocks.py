"""Block Kit builders: slack_sdk's typed models with Slack's limits applied (texts clipped, sections chunked). The
modals and messages are built from these."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    EmailInputElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
)
from slack_sdk.models.views import View

from bot.accounts import Account
from bot.providers.dialects import FormField
from bot.providers.requests import Category
from bot.slack.ids import ActionId, BlockId

SECTION_LIMIT = 3000


MESSAGE_BLOCKS = 50  # Slack's limit for one message


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_text(text: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def mrkdwn_section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))


def option_of(value: str, label: str) -> Option:
    return Option(value=value, text=plain_text(label, 75))


def modal_view(
    callback_id: str, title: str, blocks: Sequence[Block], metadata: dict[str, Any], submit: str | None = None
) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=callback_id,
        title=plain_text(title, 24),
        close=plain_text("Cancel" if submit else "Close"),
        submit=plain_text(submit, 24) if submit else None,
        blocks=list(blocks),
        private_metadata=json.dumps(metadata, separators=(",", ":")),
    )
    return dict(view.to_dict())


def input_block(
    block_id: str, label: str, element: Any, *, optional: bool = False, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain_text(label, 2000),
        element=element,
        optional=optional,
        hint=plain_text(hint, 2000) if hint else None,
    )


def text_input(
    value: str | None = None,
    *,
    max_length: int | None = None,
    multiline: bool = False,
    placeholder: str | None = None,
) -> PlainTextInputElement:
    return PlainTextInputElement(
        action_id=ActionId.VALUE,
        initial_value=value or None,
        max_length=max_length,
        multiline=multiline,
        placeholder=plain_text(placeholder) if placeholder else None,
    )


def category_select(current: str | None) -> StaticSelectElement:
    options = [option_of(category.value, category.words) for category in Category]
    chosen = next((o for o in options if o.value == current), None)
    return StaticSelectElement(
        action_id=ActionId.VALUE,
        options=options,
        initial_option=chosen,
        placeholder=plain_text("Choose a category"),
    )


def field_input(field: FormField, value: str | None) -> InputBlock:
    """The input for one field of a form, pre-filled with `value`."""
    element: Any
    if field.kind in ("text", "long_text", "phone"):
        phone = field.kind == "phone"
        element = text_input(
            value,
            max_length=field.limit,
            multiline=field.kind == "long_text",
            placeholder="+91 98765 43210" if phone else None,
        )
    elif field.kind == "url":
        element = UrlInputElement(action_id=ActionId.VALUE, initial_value=value)
    elif field.kind == "email":
        element = EmailInputElement(action_id=ActionId.VALUE, initial_value=value)
    elif field.kind == "category":
        element = category_select(value)
    else:  # "via": how the code comes, SMS unless another way was chosen
        ways = [option_of("SMS", "SMS"), option_of("VOICE", "Voice call")]
        chosen = next((o for o in ways if o.value == value), ways[0])
        element = RadioButtonsElement(action_id=ActionId.VALUE, options=ways, initial_option=chosen)
    return input_block(field.block_id, field.label, element, optional=field.optional, hint=field.hint)


def account_select(accounts: Sequence[Account], chosen: Account) -> InputBlock:
    options = [option_of(account.name, account.label) for account in accounts]
    select = StaticSelectElement(
        action_id=ActionId.ACCOUNT,
        options=options,
        initial_option=next(o for o in options if o.value == chosen.name),
    )
    return InputBlock(
        block_id=BlockId.ACCOUNT,
        label=plain_text("Account"),
        element=select,
        dispatch_action=True,
        hint=plain_text("The fields below follow the account's provider."),
    )


def chunked_sections(lines: Sequence[str], limit: int = 45, more: str | None = None) -> list[Block]:
    """Lines packed into as few sections as Slack's 3000-character limit allows, at most `limit` blocks; past
    that, the last block says how many lines are left out (`more`, formatted with that count), if given."""
    packed: list[list[str]] = []
    size = 0
    for line in lines:
        line = clip(line, SECTION_LIMIT)
        if packed and size + 1 + len(line) <= SECTION_LIMIT:
            packed[-1].append(line)
            size += 1 + len(line)
        else:
            packed.append([line])
            size = len(line)
    sections: list[Block] = [mrkdwn_section("\n".join(section)) for section in packed]
    if more is not None and len(packed) > limit:
        hidden = sum(len(section) for section in packed[limit - 1 :])
        return [*sections[: limit - 1], mrkdwn_section(more.format(hidden))]
    return sections[:limit]
