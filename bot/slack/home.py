"""The App Home: every number grouped by state, those that need a person first, within Slack's 100 blocks;
and its publisher, which republishes a person's Home in the background after each change they make."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
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
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Account
from bot.lifecycle.states import State
from bot.slack.blocks import clip, mrkdwn_section, plain_text
from bot.slack.ids import ActionId, BlockId
from bot.slack.messages import thread_link
from bot.slack.mrkdwn import literal
from bot.slack.words import account_label, state_words
from bot.store import Number

log = logging.getLogger(__name__)

BLOCK_LIMIT = 100  # Slack's limit for a Home view
NEEDS_A_PERSON = (State.AWAITING_OTP, State.UNKNOWN, State.FAILED)
GROUP_WORDS: dict[str, str] = {
    State.AWAITING_OTP: ":hourglass_flowing_sand: Awaiting OTP: enter the code",
    State.UNKNOWN: ":grey_question: Unknown: check before retrying",
    State.FAILED: ":x: Failed",
    State.ADDED: ":white_check_mark: Added",
    State.VERIFIED: ":white_check_mark: Verified",
    State.ADDING: ":arrows_counterclockwise: Adding",
    State.KNOWN: ":information_source: Known (added outside wa-bot)",
}
Registry = Callable[[int], Awaitable[tuple[list[Number], dict[str, int]]]]


def _epoch(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _ago(moment: datetime) -> str:
    """Slack renders `{ago}` in the reader's terms ("5 minutes ago"), always current however old the Home is."""
    return f"<!date^{_epoch(moment)}^{{ago}}|{moment:%Y-%m-%d %H:%M} UTC>"


def _number_block(number: Number, label: str) -> SectionBlock:
    name = f" · {literal(number.display_name)}" if number.display_name else ""
    who = number.last_user_id or number.created_by
    lines = [
        f"*{number.e164}*{name}",
        f"{label} · <@{who}> {_ago(number.updated_at)}{thread_link(number.channel_id, number.thread_ts)}",
    ]
    accessory = None
    if number.state == State.AWAITING_OTP:
        accessory = ButtonElement(
            text=plain_text("Enter OTP", 75),
            action_id=ActionId.ENTER_OTP,
            value=str(number.id),
            style="primary",
        )
    return SectionBlock(
        block_id=f"number_{number.id}",
        text=MarkdownTextObject(text=clip("\n".join(lines), 3000)),
        accessory=accessory,
    )


def _not_shown(hidden: dict[str, int]) -> ContextBlock:
    """How many numbers of each state the Home has no room for, and where to find them."""
    parts = ", ".join(
        f"{count} {state_words(state).split(' :')[0].lower()}" for state, count in hidden.items()
    )
    text = (
        f"{sum(hidden.values())} more not shown here ({parts}): "
        "`/wa-numbers` lists them, `/wa-numbers <number>` shows one."
    )
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def home_view(
    numbers: Sequence[Number],
    counts: dict[str, int],
    accounts: dict[str, Account],
    order: Sequence[str],
    sandbox: bool = False,
) -> dict[str, Any]:
    """The Home: `numbers` (already in `order`) grouped by state, as many as 100 blocks hold; the rest counted."""
    blocks: list[Block] = []
    if sandbox:
        blocks.append(mrkdwn_section(":test_tube: *SANDBOX*: no provider is called; nothing here is real."))
    total = sum(counts.values())
    blocks.append(HeaderBlock(text=plain_text(f"WhatsApp numbers ({total})")))
    blocks.append(
        ActionsBlock(
            block_id=BlockId.HOME_ACTIONS,
            elements=[
                ButtonElement(
                    text=plain_text("Add number", 75),
                    action_id=ActionId.ADD_NUMBER,
                    value="add",
                    style="primary",
                )
            ],
        )
    )
    if not total:
        blocks.append(mrkdwn_section("wa-bot knows no numbers yet. Add one with *Add number* or `/wa-add`."))
    room = BLOCK_LIMIT - len(blocks) - 1  # one block is kept for the count of what is not shown
    shown: dict[str, int] = {}
    groups = [s for s in order if counts.get(s)] + [s for s in counts if s not in order and counts[s]]
    for state in groups:
        members = [n for n in numbers if n.state == state]
        if not members or room < 2:
            continue
        blocks.append(mrkdwn_section(f"*{GROUP_WORDS.get(state, state_words(state))}* ({counts[state]})"))
        room -= 1
        for number in members[:room]:
            label = account_label(number.account, accounts.get(number.account))
            blocks.append(_number_block(number, label))
            shown[state] = shown.get(state, 0) + 1
        room -= shown.get(state, 0)
    hidden = {s: counts[s] - shown.get(s, 0) for s in groups if counts[s] > shown.get(s, 0)}
    if hidden:
        blocks.append(_not_shown(hidden))
    return dict(View(type="home", blocks=blocks).to_dict())


def refused_view(refusal: str) -> dict[str, Any]:
    """The Home of someone off the allow-list: why, and no number."""
    return dict(View(type="home", blocks=[mrkdwn_section(refusal)]).to_dict())


class HomePublisher:
    """Publishes a person's Home: at once when they open it, in the background after a change they made.

    A background publish never raises (its failure is logged); while one runs for a person, later requests for
    them fold into one more publish, `settle_seconds` after it: a burst of changes (a hundred adds finishing
    together) costs a few publishes, not one each. `close()` cancels what is still pending.
    """

    settle_seconds = 1.0

    def __init__(
        self,
        client: AsyncWebClient,
        registry: Registry,
        accounts: dict[str, Account],
        order: Sequence[str],
        sandbox: bool = False,
    ) -> None:
        self.client = client
        self.registry = registry
        self.accounts = accounts
        self.order = order
        self.sandbox = sandbox
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    async def publish(self, user_id: str) -> None:
        numbers, counts = await self.registry(BLOCK_LIMIT)
        view = home_view(numbers, counts, self.accounts, self.order, sandbox=self.sandbox)
        await self.client.views_publish(user_id=user_id, view=view)

    def schedule(self, user_id: str) -> None:
        """Republish `user_id`'s Home soon, without waiting for it."""
        running = self._tasks.get(user_id)
        if running is not None and not running.done():
            self._again.add(user_id)
            return
        self._tasks[user_id] = asyncio.get_running_loop().create_task(self._publish_until_current(user_id))

    async def _publish_until_current(self, user_id: str) -> None:
        try:
            while True:
                self._again.discard(user_id)
                try:
                    await self.publish(user_id)
                except Exception as error:
                    log.warning("could not publish the App Home of %s: %s", user_id, type(error).__name__)
                if user_id not in self._again:
                    return
                await asyncio.sleep(self.settle_seconds)  # what else changes meanwhile folds into the next
        finally:
            if self._tasks.get(user_id) is asyncio.current_task():
                del self._tasks[user_id]

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._again.clear()
