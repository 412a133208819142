"""Block Kit as Slack accepts it: slack_sdk's own validators plus the limits Slack documents and enforces."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from standins import SlackStandIn

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")


def check_view(view: dict[str, Any]) -> None:
    """Valid for Slack: slack_sdk's own validators, recursively, plus block counts and unique block_ids."""
    model = View(**view)
    model.validate_json()
    model.to_dict()  # validates every block and element below it
    assert len(view["blocks"]) <= 100
    assert len(view.get("private_metadata", "")) <= 3000
    check_blocks(view["blocks"])


def check_message(message: dict[str, Any]) -> None:
    blocks = message.get("blocks") or []
    assert message.get("text"), "a message with blocks needs its text for notifications"
    assert len(message["text"]) <= 40000
    assert len(blocks) <= 50
    check_blocks(blocks)


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), block_ids
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None and block.type == raw["type"], raw
        block.validate_json()
        block.to_dict()
        if raw["type"] == "section":
            assert len(raw["text"]["text"]) <= 3000
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150
        if raw["type"] == "actions":
            for element in raw["elements"]:
                assert len(element["text"]["text"]) <= 75 and len(element.get("value", "")) <= 2000


def shown_by_the_bot(slack: SlackStandIn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every view and every message the bot sent to the Slack stand-in."""
    shown_views = [
        c.args["view"] for c in slack.calls if c.method in ("views.open", "views.update", "views.push")
    ]
    messages = [
        c.args for c in slack.calls if c.method in MESSAGE_METHODS or c.method.startswith("response_url:")
    ]
    return shown_views, messages
