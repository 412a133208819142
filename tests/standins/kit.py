"""What the tests and scripts/bench.py both use to play Slack's side: the test workspace's names and secrets, the
bot's environment, free ports, modal state as Slack sends it, and pace checks. No test lives here."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

SIGNING_SECRET = "test-signing-secret-0123456789"
SID = "HXAP16XXXXXX97IN"
WABA_ID = "766XXXXXXXXXX"
OPERATOR = "U0OPS"
CHANNEL = "C0OPS"
ROOT = Path(__file__).resolve().parents[2]
OUR_PREFIXES = ("SLACK_", "KALEYRA_", "META_", "WA_BOT_")
OUR_NAMES = {"DATABASE_URL", "LOG_LEVEL", "HOST", "PORT"}


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any of the bot's variables, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_PREFIXES) and k not in OUR_NAMES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **variables}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def state_of(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    """view.state.values as Slack sends them: every input block, filled or empty."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        if element["type"] in ("static_select", "radio_buttons"):
            if value is None and block["block_id"] not in values:
                chosen = element.get("initial_option")
            else:
                chosen = next((o for o in element["options"] if o["value"] == value), None)
                if value is not None and chosen is None:  # a forged value, not among the options
                    chosen = {"value": value, "text": {"type": "plain_text", "text": value}}
            entry = {"type": element["type"], "selected_option": chosen}
        elif element["type"] == "rich_text_input":  # pasted text arrives as rich text
            entry = {"type": "rich_text_input", "rich_text_value": rich_text(value or "")}
        else:
            if block["block_id"] not in values:
                value = element.get("initial_value")
            entry = {"type": element["type"], "value": value}
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


def rich_text(text: str) -> dict[str, Any]:
    """A rich text input's value as Slack sends it for pasted text: one section, its lines joined by newlines."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}] if text else []}
    return {"type": "rich_text", "elements": [section]}


def most_in_one_second(times: list[float]) -> int:
    """The most of `times` inside any one-second window [t, t + 1)."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most
