"""Every modal and message the bot shows, built with slack_sdk's typed Block Kit models, within Slack's limits."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    EmailInputElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    RichTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
)
from slack_sdk.models.views import View

from bot.accounts import Account
from bot.lifecycle.bulk import MAX_LINES as MAX_BULK_LINES
from bot.lifecycle.bulk import Failure, Progress
from bot.lifecycle.states import State
from bot.providers.dialects import FormField, dialect_of
from bot.providers.requests import Category
from bot.slack.mrkdwn import escape
from bot.store import Batch, Number, Operation

SECTION_LIMIT = 3000
BAR_WIDTH = 20
MESSAGE_BLOCKS = 50  # Slack's limit for one message
STATE_WORDS: dict[str, str] = {
    State.NEW: "New",
    State.ADDING: "Adding…",
    State.AWAITING_OTP: "Awaiting OTP",
    State.VERIFIED: "Verified :white_check_mark:",
    State.ADDED: "Added :white_check_mark:",
    State.KNOWN: "Known (added outside wa-bot)",
    State.FAILED: "Failed :x:",
    State.UNKNOWN: "Unknown :grey_question: (check before retrying)",
}
USAGE = {
    "/wa-add": (
        "`/wa-add [number] [display name]` opens the add form, e.g. `/wa-add +91 98765 43210 Acme Support`; "
        "`/wa-add bulk` opens a form for up to 500 numbers at once."
    ),
    "/wa-verify": "`/wa-verify <number>` opens the OTP form for a number, e.g. `/wa-verify +91 98765 43210`.",
    "/wa-update": "`/wa-update <number>` opens the business profile form, e.g. `/wa-update +91 98765 43210`.",
    "/wa-numbers": (
        "`/wa-numbers` lists the numbers wa-bot knows; `/wa-numbers <number>` shows one number's history; "
        "`/wa-numbers audit [days]` sends you, by DM, a CSV of every operation in the last `days` days "
        "(1 to 3660, default 30)."
    ),
}


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, state)


def account_label(name: str, account: Account | None) -> str:
    """An account's label, or its name marked as gone when the configuration no longer has it."""
    return account.label if account else f"{name} (no longer configured)"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(text: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=_text(label, 75))


def _modal(
    callback_id: str, title: str, blocks: Sequence[Block], metadata: dict[str, Any], submit: str | None = None
) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=callback_id,
        title=_text(title, 24),
        close=_text("Cancel" if submit else "Close"),
        submit=_text(submit, 24) if submit else None,
        blocks=list(blocks),
        private_metadata=json.dumps(metadata, separators=(",", ":")),
    )
    return dict(view.to_dict())


def _input(
    block_id: str, label: str, element: Any, *, optional: bool = False, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=_text(label, 2000),
        element=element,
        optional=optional,
        hint=_text(hint, 2000) if hint else None,
    )


def _text_input(
    value: str | None = None,
    *,
    max_length: int | None = None,
    multiline: bool = False,
    placeholder: str | None = None,
) -> PlainTextInputElement:
    return PlainTextInputElement(
        action_id="value",
        initial_value=value or None,
        max_length=max_length,
        multiline=multiline,
        placeholder=_text(placeholder) if placeholder else None,
    )


def _category_select(current: str | None) -> StaticSelectElement:
    options = [_option(category.value, category.words) for category in Category]
    chosen = next((o for o in options if o.value == current), None)
    return StaticSelectElement(
        action_id="value", options=options, initial_option=chosen, placeholder=_text("Choose a category")
    )


def _field(field: FormField, value: str | None) -> InputBlock:
    """The input for one field of a form, pre-filled with `value`."""
    element: Any
    if field.kind in ("text", "long_text", "phone"):
        phone = field.kind == "phone"
        element = _text_input(
            value,
            max_length=field.limit,
            multiline=field.kind == "long_text",
            placeholder="+91 98765 43210" if phone else None,
        )
    elif field.kind == "url":
        element = UrlInputElement(action_id="value", initial_value=value)
    elif field.kind == "email":
        element = EmailInputElement(action_id="value", initial_value=value)
    elif field.kind == "category":
        element = _category_select(value)
    else:  # "via": how the code comes, SMS unless another way was chosen
        ways = [_option("SMS", "SMS"), _option("VOICE", "Voice call")]
        chosen = next((o for o in ways if o.value == value), ways[0])
        element = RadioButtonsElement(action_id="value", options=ways, initial_option=chosen)
    return _input(field.block_id, field.label, element, optional=field.optional, hint=field.hint)


def _account_block(accounts: Sequence[Account], chosen: Account) -> InputBlock:
    options = [_option(account.name, account.label) for account in accounts]
    select = StaticSelectElement(
        action_id="account",
        options=options,
        initial_option=next(o for o in options if o.value == chosen.name),
    )
    return InputBlock(
        block_id="account",
        label=_text("Account"),
        element=select,
        dispatch_action=True,
        hint=_text("The fields below follow the account's provider."),
    )


# Modals ---------------------------------------------------------------------------------------------------


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
    fields = [_field(field, None) for field in dialect_of(chosen).add_fields]
    intro_text = dialect_of(chosen).add_intro.format(account=chosen)
    intro = [_section(intro_text)] if intro_text else []
    blocks: list[Block] = [_account_block(accounts, chosen)] if len(accounts) > 1 else []
    blocks += intro
    for field in fields:
        blocks.append(field)
        if field.block_id in problems:
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=f":warning: {problems[field.block_id]}")])
            )
    return _modal("wa_add", "Add a WhatsApp number", blocks, {}, submit="Add")


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
        blocks.append(_account_block(accounts, chosen))
    blocks += [
        _input(
            "numbers",
            f"Numbers, one per line: {shape}",
            RichTextInputElement(action_id="value", placeholder=_text(example.replace("\n", " · "))),
            hint=(
                f"Up to {MAX_BULK_LINES} lines. Paste from a spreadsheet or its CSV export (a header row is "
                "skipped). Every line is checked before anything is sent."
                + (" The code comes by SMS unless the line says VOICE." if shape.endswith("VOICE") else "")
            ),
        ),
        _section(
            "One message in this channel shows the progress; its thread gets the summary, with *Retry failed*. "
            "Each number is then found with `/wa-numbers` and verified like any other."
        ),
    ]
    return _modal("wa_bulk", "Bulk add", blocks, metadata, submit="Add all")


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
    blocks: list[Block] = [_account_block(choices, account)] if len(choices) > 1 else []
    blocks.append(_section(f"Enter the six-digit code sent to *{e164}* ({account.label})."))
    if problem:
        blocks.append(_section(":warning: " + "\n".join(problem)))
    blocks.append(
        _input(
            "otp",
            "OTP",
            _text_input(max_length=11, placeholder="123456"),
            hint="123456, 123-456 and 123 456 all work.",
        )
    )
    if ask_id:
        blocks.append(
            _input(
                "id",
                "Phone number ID",
                _text_input(typed_id, max_length=255),
                hint="The ID Kaleyra returned when the number was added"
                + (" (Kaleyra did not accept this one: check it)." if typed_id else "."),
            )
        )
    return _modal("wa_verify", "Enter the OTP", blocks, metadata, submit="Verify")


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

    blocks: list[Block] = [_account_block(choices, account)] if len(choices) > 1 else []
    blocks.append(
        _section(f"Business profile of *{e164}* ({account.label}). Only filled-in fields are sent.")
    )
    blocks += [_field(field, profile.get(field.block_id)) for field in dialect_of(account).update_fields]
    return _modal(
        "wa_update", "Update business profile", blocks, {**metadata, "account": account.name}, submit="Update"
    )


def notice_modal(title: str, lines: Sequence[str]) -> dict[str, Any]:
    """A modal with only words: "Verifying…", "Verified", "Not allowed"."""
    return _modal("wa_notice", title, [_section("\n".join(lines))], {})


# Messages -------------------------------------------------------------------------------------------------


def thread_link(channel_id: str | None, thread_ts: str | None) -> str:
    if not channel_id or not thread_ts:
        return ""
    return f" · <https://slack.com/archives/{channel_id}/p{thread_ts.replace('.', '')}|thread>"


def _when(moment: datetime) -> str:
    epoch = int(moment.timestamp()) if moment.tzinfo else int((moment - datetime(1970, 1, 1)).total_seconds())
    return f"<!date^{epoch}^{{date_short}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def parent_message(
    number: Number, account: Account | None, sandbox: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """The thread's first message: the number, the account, who asked, the current state (and SANDBOX)."""
    name = f" · {escape(number.display_name)}" if number.display_name else ""
    lines = [
        f"*{number.e164}*{name}",
        f"Account: {account_label(number.account, account)}",
        f"State: *{state_words(number.state)}*",
        f"Asked by <@{number.created_by}>",
    ]
    if number.phone_number_id:
        lines.insert(2, f"Phone number ID: `{escape(number.phone_number_id)}`")
    if sandbox:
        lines.insert(0, ":test_tube: *SANDBOX*: no provider is called; nothing here is real.")
    text = f"{'SANDBOX · ' if sandbox else ''}{number.e164}: {state_words(number.state)}"
    blocks = [
        _section("\n".join(lines)),
        ContextBlock(
            elements=[MarkdownTextObject(text="Every step for this number is recorded in this thread.")]
        ),
    ]
    return text, [block.to_dict() for block in blocks]


def thread_reply(
    summary: str,
    lines: Sequence[str],
    number_id: int | None = None,
    offer_otp: bool = False,
    offer_resend: bool = False,
    retry_operation_id: int | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """One result in a number's thread, with the Enter OTP (and Resend code) buttons while a code is awaited,
    and Retry under a failed, unknown or interrupted operation."""
    blocks: list[Block] = [_section("\n".join([f"*{summary}*", *lines]))]
    buttons: list[ButtonElement] = []
    if offer_otp and number_id is not None:
        buttons.append(
            ButtonElement(
                text=_text("Enter OTP", 75), action_id="enter_otp", value=str(number_id), style="primary"
            )
        )
    if offer_resend and number_id is not None:
        buttons.append(
            ButtonElement(text=_text("Resend code", 75), action_id="resend_otp", value=str(number_id))
        )
    if retry_operation_id is not None:
        buttons.append(
            ButtonElement(text=_text("Retry", 75), action_id="retry", value=str(retry_operation_id))
        )
    if buttons:
        blocks.append(ActionsBlock(block_id="number_actions", elements=buttons))
    return clip(summary, 3000), [block.to_dict() for block in blocks]


def numbers_list(numbers: Sequence[Number], total: int, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The ephemeral list of numbers and their states."""
    blocks: list[Block] = [HeaderBlock(text=_text(f"WhatsApp numbers ({total})"))]
    if not numbers:
        blocks.append(_section("wa-bot knows no numbers yet. Add one with `/wa-add`."))
    lines = [
        f"• *{n.e164}*{' · ' + escape(n.display_name) if n.display_name else ''} · {labels.get(n.account) or n.account + ' (no longer configured)'}"
        f" · {state_words(n.state)}{thread_link(n.channel_id, n.thread_ts)}"
        for n in numbers
    ]
    blocks += _chunked(lines)
    if total > len(numbers):
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Showing the {len(numbers)} most recently changed of {total}. `/wa-numbers <number>` shows one."
                    )
                ]
            )
        )
    return [block.to_dict() for block in blocks]


def history(number: Number, label: str, operations: Sequence[Operation]) -> list[dict[str, Any]]:
    """One number's state and its operations, newest first."""
    blocks: list[Block] = [
        HeaderBlock(text=_text(f"{number.e164}: {state_words(number.state)}")),
        _section(
            f"Account: {label}"
            + (f"\nPhone number ID: `{escape(number.phone_number_id)}`" if number.phone_number_id else "")
            + thread_link(number.channel_id, number.thread_ts)
        ),
    ]
    lines = []
    for operation in operations:
        code = f" · `{operation.provider_code}`" if operation.provider_code else ""
        message = f" {escape(clip(operation.provider_message, 200))}" if operation.provider_message else ""
        batch = (
            f" (bulk add #{operation.batch_id}, line {operation.batch_line})" if operation.batch_id else ""
        )
        lines.append(
            f"• {_when(operation.requested_at)} · {operation.action}{batch} by <@{operation.user_id}>"
            f" · {operation.outcome}{code}{message}"
        )
    blocks += _chunked(lines or ["No operations recorded."])
    return [block.to_dict() for block in blocks]


def _chunked(lines: Sequence[str], limit: int = 45, more: str | None = None) -> list[Block]:
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
    sections: list[Block] = [_section("\n".join(section)) for section in packed]
    if more is not None and len(packed) > limit:
        hidden = sum(len(section) for section in packed[limit - 1 :])
        return [*sections[: limit - 1], _section(more.format(hidden))]
    return sections[:limit]


def refusal(number: Number, reason: str) -> str:
    """Why nothing was done for a number: its state, the reason, and where its thread is."""
    link = thread_link(number.channel_id, number.thread_ts)
    return f":no_entry: {number.e164} is *{state_words(number.state)}* on `{number.account}`: {reason}.{link}"


def usage(command: str, problem: str | None = None) -> str:
    lines = [f":warning: {problem}"] if problem else []
    return "\n".join([*lines, USAGE[command]])


def live_number(number: Number) -> str:
    """Under the number field of the add modal (plain text): why this add is not sent."""
    where = ""
    if number.channel_id and number.thread_ts:
        where = f" Its thread: https://slack.com/archives/{number.channel_id}/p{number.thread_ts.replace('.', '')}"
    state = STATE_WORDS.get(number.state, number.state).split(" :")[0]
    return f"{number.e164} is already {state.lower()} on this account, so nothing was sent.{where}"[:2000]


# Bulk adds ------------------------------------------------------------------------------------------------


def clock(seconds: float) -> str:
    """1:05, 12:00, 1:02:03."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _bar(progress: Progress) -> str:
    ended = progress.done + progress.failed
    filled = round(BAR_WIDTH * ended / progress.total) if progress.total else BAR_WIDTH
    percent = round(100 * ended / progress.total) if progress.total else 100
    return f"`{'█' * filled}{'░' * (BAR_WIDTH - filled)}` {percent}%"


def _batch_title(batch: Batch, label: str, sandbox: bool) -> str:
    again = f" (Retry failed of #{batch.retry_of})" if batch.retry_of else ""
    lines = "line" if len(batch.lines) == 1 else "lines"
    prefix = ":test_tube: *SANDBOX* · " if sandbox else ""
    return f"{prefix}*Bulk add #{batch.id}*{again} · {len(batch.lines)} {lines} · {label} · by <@{batch.user_id}>"


def _batch_status(progress: Progress) -> str:
    counts = f"{progress.done} added · {progress.failed} failed · {progress.left} left"
    timing = f"{clock(progress.elapsed)} elapsed"
    if progress.finished:
        return f"{_bar(progress)}\n{counts} · finished in {clock(progress.elapsed)}"
    if progress.time_left is not None:
        timing += f" · about {clock(progress.time_left)} left"
    return f"{_bar(progress)}\n{counts} · {timing}"


def _failure_line(failure: Failure) -> str:
    line = failure.line
    message = escape(clip(failure.message, 200)) if failure.message else ""
    again = "may succeed on a retry" if failure.retryable else "will not succeed as it is"
    return f"• line {line.line} · {line.e164} · `{escape(failure.code)}` {message} ({again})"


def batch_message(
    batch: Batch, progress: Progress, label: str, sandbox: bool
) -> tuple[str, list[dict[str, Any]]]:
    """The batch's message: who, which account, and the progress bar (done, failed, left, elapsed, time left)."""
    text = f"Bulk add #{batch.id}: {progress.done} added, {progress.failed} failed, {progress.left} left"
    if progress.finished:
        text = f"Bulk add #{batch.id} finished: {progress.done} added, {progress.failed} failed"
    blocks: list[Block] = [_section(f"{_batch_title(batch, label, sandbox)}\n{_batch_status(progress)}")]
    if not progress.finished:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text="Edited as the adds go; the summary follows in the thread.")
                ]
            )
        )
    return text, [block.to_dict() for block in blocks]


def skipped_lines(skipped: Sequence[Failure]) -> list[str]:
    if not skipped:
        return []
    return [f"Skipped {len(skipped)} lines that cannot succeed when sent again as they are:"] + [
        _failure_line(failure) for failure in skipped
    ]


def batch_summary(
    batch: Batch, progress: Progress, account: Account | None
) -> tuple[str, list[dict[str, Any]]]:
    """The thread's summary: the counts, what comes next, every failure with its code, and Retry failed."""
    head = (
        f"*Bulk add #{batch.id} finished* in {clock(progress.elapsed)}: "
        f"{progress.done} added, {progress.failed} failed."
    )
    lines = [head]
    if progress.done and account is not None and dialect_of(account).awaits_code:
        lines.append(
            "Each added number now awaits its code, by SMS or voice call: enter it with `/wa-verify` and the "
            "number, or *Enter OTP* on wa-bot's Home. A number's first action opens its own thread."
        )
    if progress.sandbox_codes:
        codes = " · ".join(f"{e164} `{code}`" for e164, code in sorted(progress.sandbox_codes.items()))
        lines.append(f":test_tube: SANDBOX: no SMS is sent; the codes that work are {codes}.")
    if progress.failures:
        lines.append("*Failures*")
        lines += [_failure_line(failure) for failure in progress.failures]
    more = "…and {} more lines: `/wa-numbers audit` has every operation."
    blocks = _chunked(lines, limit=MESSAGE_BLOCKS - 1, more=more)  # and one for the button
    retryable = sum(1 for failure in progress.failures if failure.retryable)
    if retryable:
        button = ButtonElement(
            text=_text(f"Retry failed ({retryable})", 75),
            action_id="retry_failed",
            value=str(batch.id),
            style="primary",
        )
        blocks.append(ActionsBlock(block_id="batch_actions", elements=[button]))
    text = f"Bulk add #{batch.id} finished: {progress.done} added, {progress.failed} failed"
    return text, [block.to_dict() for block in blocks]
