"""The allow-list's user groups never hold up Slack's 3-second acknowledgement.

Scenarios through signed requests: the members of WA_BOT_ALLOWED_USERGROUPS come from a cache that the bot
re-reads in the background, so the request path never calls `usergroups.users.list`, even when Slack answers
it slowly, fails, or has not answered yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Person, running
from standins import SlackStandIn

from bot.settings import Settings
from handlers.authorize import REFUSAL

PASTED = "+91 98765 43210"
GROUP, MEMBER, STRANGER, BOSS = (
    "S0OPS",
    "U0GROUP",
    "U0OPS",
    "U0BOSS",
)  # the conftest's stand-in: S0OPS = [U0GROUP]
READ = "usergroups.users.list"
NOT_CHECKED = "try again in a moment"
SLOW_SLACK = (
    5.0  # seconds usergroups.users.list takes to answer, longer than Slack waits for an acknowledgement
)


async def timed_command(person: Person, text: str = PASTED) -> tuple[float, int, Any]:
    """/wa-add as `person`: the seconds until the HTTP response arrived, its status and its body."""
    started = time.monotonic()
    status, body = await person.command("/wa-add", text)
    return time.monotonic() - started, status, body


async def let_in(person: Person) -> None:
    """`person`'s /wa-add is acknowledged with nothing to say, and its modal opens."""
    opened = len(person.slack.calls_of("views.open"))
    assert await person.command("/wa-add", PASTED) == (200, None)
    await person.slack.wait_for("views.open", lambda _: len(person.slack.calls_of("views.open")) > opened)


async def refused_with(person: Person) -> str:
    """`person`'s /wa-add is refused ephemerally; the words of the refusal."""
    status, body = await person.command("/wa-add", PASTED)
    assert status == 200 and body["response_type"] == "ephemeral", body
    assert body["text"].startswith(REFUSAL), body
    return str(body["text"])


async def readings_done(slack: SlackStandIn, count: int) -> None:
    """Wait until the bot has finished `count` readings of the user groups (it begins one only after the last)."""
    await slack.wait_for(READ, lambda _: len(slack.calls_of(READ)) > count, timeout=5.0)


def group_settings(settings_for: Callable[..., Settings], **overrides: Any) -> Settings:
    return settings_for(wa_bot_allowed_usergroups=GROUP, **overrides)


# --- before the first reading has finished -----------------------------------------------------------


async def test_a_slow_first_reading_does_not_hold_up_the_acknowledgement(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    slack.delay(READ, SLOW_SLACK)
    async with running(group_settings(settings_for), slack) as someone:
        elapsed, status, body = await timed_command(someone.as_user(MEMBER))

        assert elapsed < 2.0
        assert status == 200 and body["response_type"] == "ephemeral"
        assert body["text"].startswith(REFUSAL) and NOT_CHECKED in body["text"]
        assert slack.calls_of("views.open") == []
        assert len(slack.calls_of(READ)) == 1  # the bot's own reading, still on its way; none for the request


async def test_a_first_reading_that_comes_soon_is_waited_for(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    slack.delay(READ, 0.3)
    async with running(group_settings(settings_for), slack) as someone:
        elapsed, status, body = await timed_command(someone.as_user(MEMBER))

        assert elapsed < 2.0
        assert (status, body) == (200, None)
        await slack.wait_for("views.open")
        assert len(slack.calls_of(READ)) == 1


async def test_allowed_users_are_never_kept_waiting_for_the_user_groups(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    slack.delay(READ, SLOW_SLACK)
    async with running(group_settings(settings_for, wa_bot_allowed_users=BOSS), slack) as someone:
        elapsed, status, body = await timed_command(someone.as_user(BOSS))

        assert elapsed < 0.8  # the wait for a first reading is 1 s
        assert (status, body) == (200, None)
        await slack.wait_for("views.open")


async def test_a_failed_first_reading_refuses_until_a_later_one_succeeds(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    slack.fail(READ, "internal_error", times=3)
    settings = group_settings(settings_for, wa_bot_usergroups_refresh_seconds=0.2)
    async with running(settings, slack) as someone:
        member = someone.as_user(MEMBER)

        assert NOT_CHECKED in await refused_with(member)  # the bot cannot know yet, and says so

        await readings_done(slack, 4)  # three failed, the fourth succeeded
        await let_in(member)
        assert await refused_with(someone.as_user(STRANGER)) == REFUSAL


# --- once the members are known ----------------------------------------------------------------------


async def test_a_warm_cache_never_calls_slack_on_the_way_in(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    async with running(group_settings(settings_for), slack) as someone:
        member, stranger = someone.as_user(MEMBER), someone.as_user(STRANGER)
        await let_in(member)  # after the first reading
        slack.delay(READ, SLOW_SLACK)  # any reading on a request's way in would now show in its timing
        readings = len(slack.calls_of(READ))

        for _ in range(3):
            elapsed, status, body = await timed_command(member)
            assert elapsed < 1.0 and (status, body) == (200, None)
            elapsed, status, body = await timed_command(stranger)
            assert elapsed < 1.0 and body["text"] == REFUSAL

        assert len(slack.calls_of(READ)) == readings == 1


async def test_the_next_reading_picks_up_who_joined_and_who_left(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    settings = group_settings(settings_for, wa_bot_usergroups_refresh_seconds=0.2)
    async with running(settings, slack) as someone:
        member, newcomer = someone.as_user(MEMBER), someone.as_user("U0NEW")
        await let_in(member)
        assert await refused_with(newcomer) == REFUSAL

        slack.usergroups[GROUP] = ["U0NEW"]
        await readings_done(slack, len(slack.calls_of(READ)) + 1)

        await let_in(newcomer)
        assert await refused_with(member) == REFUSAL


async def test_a_failing_reading_keeps_the_last_good_members(
    settings_for: Callable[..., Settings], slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    settings = group_settings(settings_for, wa_bot_usergroups_refresh_seconds=0.2)
    async with running(settings, slack) as someone:
        member = someone.as_user(MEMBER)
        await let_in(member)

        slack.fail(READ, "internal_error")
        await readings_done(slack, len(slack.calls_of(READ)) + 2)

        await let_in(member)
        assert await refused_with(someone.as_user(STRANGER)) == REFUSAL
    warnings = [r.getMessage() for r in caplog.records if r.name == "handlers.authorize"]
    assert any(GROUP in w and "internal_error" in w for w in warnings), warnings
    assert "xoxb-test-token" not in caplog.text


async def test_closing_the_bot_stops_the_readings(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    settings = group_settings(settings_for, wa_bot_usergroups_refresh_seconds=0.1)
    async with running(settings, slack):
        await readings_done(slack, 2)
    readings = len(slack.calls_of(READ))

    await asyncio.sleep(0.4)  # four refresh intervals

    assert len(slack.calls_of(READ)) == readings


async def test_without_user_groups_nothing_is_read(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    async with running(settings_for(wa_bot_allowed_users=BOSS), slack) as someone:
        await let_in(someone.as_user(BOSS))
        elapsed, _, body = await timed_command(someone.as_user(MEMBER))

        assert elapsed < 0.8 and body["text"] == REFUSAL  # no user group to wait for
    assert slack.calls_of(READ) == []
