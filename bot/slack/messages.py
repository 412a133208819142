"""Every message the bot posts: parent messages, thread replies, lists, histories, a bulk add's progress and
summary, and the refusals said to a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.accounts import Account
from bot.lifecycle.bulk import Failure, Progress
from bot.providers.dialects import dialect_of
from bot.slack.blocks import (
    MESSAGE_BLOCKS,
    SECTION_LIMIT,
    chunked_sections,
    clip,
    mrkdwn_section,
    plain_text,
)
from bot.slack.ids import ActionId, BlockId
from bot.slack.mrkdwn import escape, literal
from bot.slack.words import account_label, state_words
from bot.store import Batch, Number, Operation

BAR_WIDTH = 20


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
    lines = [
        f"Account: {account_label(number.account, account)}",
        f"State: *{state_words(number.state)}*",
        f"Asked by <@{number.created_by}>",
    ]
    if number.phone_number_id:
        lines.insert(1, f"Phone number ID: `{escape(number.phone_number_id)}`")
    if sandbox:
        lines.insert(0, ":test_tube: *SANDBOX*: no provider is called; nothing here is real.")
    text = f"{'SANDBOX · ' if sandbox else ''}{number.e164}: {state_words(number.state)}"
    # The display name is what a person typed: plain text, so that it can neither format nor mention.
    name = f"{number.e164} · {number.display_name}" if number.display_name else number.e164
    blocks = [
        SectionBlock(text=plain_text(name, SECTION_LIMIT)),
        mrkdwn_section("\n".join(lines)),
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
    blocks: list[Block] = [mrkdwn_section("\n".join([f"*{summary}*", *lines]))]
    buttons: list[ButtonElement] = []
    if offer_otp and number_id is not None:
        buttons.append(
            ButtonElement(
                text=plain_text("Enter OTP", 75),
                action_id=ActionId.ENTER_OTP,
                value=str(number_id),
                style="primary",
            )
        )
    if offer_resend and number_id is not None:
        buttons.append(
            ButtonElement(
                text=plain_text("Resend code", 75), action_id=ActionId.RESEND_OTP, value=str(number_id)
            )
        )
    if retry_operation_id is not None:
        buttons.append(
            ButtonElement(
                text=plain_text("Retry", 75), action_id=ActionId.RETRY, value=str(retry_operation_id)
            )
        )
    if buttons:
        blocks.append(ActionsBlock(block_id=BlockId.NUMBER_ACTIONS, elements=buttons))
    return clip(summary, 3000), [block.to_dict() for block in blocks]


def numbers_list(numbers: Sequence[Number], total: int, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The ephemeral list of numbers and their states."""
    blocks: list[Block] = [HeaderBlock(text=plain_text(f"WhatsApp numbers ({total})"))]
    if not numbers:
        blocks.append(mrkdwn_section("wa-bot knows no numbers yet. Add one with `/wa-add`."))
    lines = [
        f"• *{n.e164}*{' · ' + literal(n.display_name) if n.display_name else ''} · {labels.get(n.account) or n.account + ' (no longer configured)'}"
        f" · {state_words(n.state)}{thread_link(n.channel_id, n.thread_ts)}"
        for n in numbers
    ]
    blocks += chunked_sections(lines)
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
        HeaderBlock(text=plain_text(f"{number.e164}: {state_words(number.state)}")),
        mrkdwn_section(
            f"Account: {label}"
            + (f"\nPhone number ID: `{escape(number.phone_number_id)}`" if number.phone_number_id else "")
            + thread_link(number.channel_id, number.thread_ts)
        ),
    ]
    lines = []
    for operation in operations:
        code = f" · {literal(operation.provider_code)}" if operation.provider_code else ""
        message = f" {literal(clip(operation.provider_message, 200))}" if operation.provider_message else ""
        batch = (
            f" (bulk add #{operation.batch_id}, line {operation.batch_line})" if operation.batch_id else ""
        )
        lines.append(
            f"• {_when(operation.requested_at)} · {operation.action}{batch} by <@{operation.user_id}>"
            f" · {operation.outcome}{code}{message}"
        )
    blocks += chunked_sections(lines or ["No operations recorded."])
    return [block.to_dict() for block in blocks]


def refusal(number: Number, reason: str) -> str:
    """Why nothing was done for a number: its state, the reason, and where its thread is."""
    link = thread_link(number.channel_id, number.thread_ts)
    return f":no_entry: {number.e164} is *{state_words(number.state)}* on `{number.account}`: {reason}.{link}"


def live_number(number: Number) -> str:
    """Under the number field of the add modal (plain text): why this add is not sent."""
    where = ""
    if number.channel_id and number.thread_ts:
        where = f" Its thread: https://slack.com/archives/{number.channel_id}/p{number.thread_ts.replace('.', '')}"
    state = state_words(number.state).split(" :")[0]
    return f"{number.e164} is already {state.lower()} on this account, so nothing was sent.{where}"[:2000]


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
    blocks: list[Block] = [
        mrkdwn_section(f"{_batch_title(batch, label, sandbox)}\n{_batch_status(progress)}")
    ]
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
    blocks = chunked_sections(lines, limit=MESSAGE_BLOCKS - 1, more=more)  # and one for the button
    retryable = sum(1 for failure in progress.failures if failure.retryable)
    if retryable:
        button = ButtonElement(
            text=plain_text(f"Retry failed ({retryable})", 75),
            action_id=ActionId.RETRY_FAILED,
            value=str(batch.id),
            style="primary",
        )
        blocks.append(ActionsBlock(block_id=BlockId.BATCH_ACTIONS, elements=[button]))
    text = f"Bulk add #{batch.id} finished: {progress.done} added, {progress.failed} failed"
    return text, [block.to_dict() for block in blocks]
