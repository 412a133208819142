"""The real bot over HTTP, fed odd Slack requests, each signed as Slack signs it: it always answers, and well.

For every slash command, modal submission and button click, whatever its text, values or shape:
- the bot answers HTTP 200 within Slack's 3 seconds;
- a person who sent it (the payload has a user id) sees an answer: in the acknowledgement, a modal opened or
  updated, or a message; every view and message is one Slack accepts;
- Kaleyra receives only requests its documents allow, and none for a form the bot refused;
- nothing reaches the log at ERROR (a listener's unhandled exception would).

One bot per test function; Hypothesis runs each example on the test's event loop (pytest-asyncio).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from block_kit import MESSAGE_METHODS, check_message, check_view
from conftest import CHANNEL, OPERATOR, Person, running
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from odd_input import (
    FORM_BLOCKS,
    MISSING,
    maybe,
    modal_states,
    odd_text,
    own_context,
    private_metadata,
    view_states,
    without_missing,
)
from pydantic import BaseModel
from standins import KaleyraStandIn, SlackCall, SlackStandIn

from bot.providers.requests import (
    AddPhoneNumberRequest,
    AddWhatsAppNumberRequest,
    RetryOtpRequest,
    UpdatePhoneNumberRequest,
    VerifyPhoneNumberRequest,
)

SLACK_DEADLINE = 3.0  # seconds Slack waits for an acknowledgement
# Examples per listener kind: about 150 requests in all, a few seconds per test function.
THROUGH_THE_BOT = settings(
    max_examples=35,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
VISIBLE = ("views.open", "views.update", "views.push", *MESSAGE_METHODS)
DOCUMENTED: dict[str, type[BaseModel]] = {
    "v2_add": AddPhoneNumberRequest,
    "v2_verify": VerifyPhoneNumberRequest,
    "v2_update": UpdatePhoneNumberRequest,
    "v2_retry_otp": RetryOtpRequest,
    "v1_add": AddWhatsAppNumberRequest,
}
COMMANDS = st.sampled_from(["/wa-add", "/wa-verify", "/wa-update", "/wa-numbers"])
USERS = st.sampled_from([OPERATOR, "U0FUZZ", "W0ENTERPRISE"])
# Who sent it, in every shape Bolt reads before our listeners do (other shapes stop in Bolt, not in wa-bot).
SENDERS = st.one_of(
    st.fixed_dictionaries({"id": USERS}),
    st.fixed_dictionaries({"id": USERS}),
    USERS,
    st.sampled_from([{"name": "ops"}, {"id": None}, None, MISSING]),
)
E164 = "+919876543210"
RESPONSE_URL = "@response_url@"  # the Slack stand-in's response_url, put in when a payload is sent


class Seen:
    """What one request caused: the HTTP answer and its time, Slack calls, Kaleyra requests, ERROR records."""

    def __init__(self, person: Person, kaleyra: KaleyraStandIn, caplog: pytest.LogCaptureFixture) -> None:
        self.person, self.kaleyra, self.caplog = person, kaleyra, caplog
        self.slack_before = len(person.slack.calls)
        self.kaleyra_before = len(kaleyra.requests)
        self.records_before = len(caplog.records)
        self.status: int | None = None
        self.body: Any = None
        self.tasks_before: set[asyncio.Task[Any]] = set()

    async def send(self, payload: dict[str, Any], response_url: str) -> None:
        """POST `payload` as Slack does: a slash command's form, or an interaction's JSON in a form."""
        if "command" in payload:
            body = urlencode({k: response_url if v == RESPONSE_URL else v for k, v in payload.items()})
        else:
            body = urlencode({"payload": json.dumps(payload).replace(RESPONSE_URL, response_url)})
        self.tasks_before = asyncio.all_tasks()
        started = time.monotonic()
        self.status, self.body = await asyncio.wait_for(
            self.person.post(body, "application/x-www-form-urlencoded"), SLACK_DEADLINE + 2
        )
        elapsed = time.monotonic() - started
        assert self.status == 200, (self.status, self.body)
        assert elapsed < SLACK_DEADLINE, f"answered after {elapsed:.2f} s"

    @property
    def slack_calls(self) -> list[SlackCall]:
        return self.person.slack.calls[self.slack_before :]

    def visible(self) -> list[SlackCall]:
        return [c for c in self.slack_calls if c.method in VISIBLE or c.method.startswith("response_url:")]

    @property
    def refused_at_the_door(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("response_action") == "errors"

    async def settle(self, answer_expected: bool) -> None:
        """Wait for the answer a person sees (if the acknowledgement was not it) and for the work behind it."""
        acknowledged_visibly = isinstance(self.body, dict) and bool(self.body)
        if answer_expected and not acknowledged_visibly:
            await _until(lambda: bool(self.visible()), "a visible answer", self)
        # The listener goes on after its acknowledgement: wait until its task (and any it started) is done.
        await _until(lambda: not self.work_in_progress(), "the listener to finish", self)

    def work_in_progress(self) -> list[asyncio.Task[Any]]:
        """Tasks started since the request was sent, but for server connections kept alive for the next one."""
        return [
            task
            for task in asyncio.all_tasks() - self.tasks_before
            if getattr(task.get_coro(), "__qualname__", "") != "RequestHandler.start"
        ]

    def check(self) -> None:
        """The properties every request must keep, whatever it carried."""
        errors = [r for r in self.caplog.records[self.records_before :] if r.levelno >= logging.ERROR]
        assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
        if isinstance(self.body, dict):
            if isinstance(self.body.get("view"), dict):
                check_view(self.body["view"])
            if "text" in self.body:
                check_message(self.body)
            for block_id, words in (self.body.get("errors") or {}).items():
                assert block_id and isinstance(words, str) and 0 < len(words) <= 2000, (block_id, words)
        for call in self.slack_calls:
            if call.method in ("views.open", "views.update", "views.push"):
                check_view(call.args["view"])
            elif call.method in MESSAGE_METHODS or call.method.startswith("response_url:"):
                check_message(call.args)
        for request in self.kaleyra.requests[self.kaleyra_before :]:
            DOCUMENTED[request.operation].model_validate(request.json)  # what Kaleyra's documents allow
        if self.refused_at_the_door:
            assert self.kaleyra.requests[self.kaleyra_before :] == [], "Kaleyra was called for a refused form"


async def _until(condition: Any, what: str, seen: Seen) -> None:
    deadline = time.monotonic() + SLACK_DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            calls = [(c.method, c.args) for c in seen.slack_calls]
            raise AssertionError(
                f"no {what} within {SLACK_DEADLINE} s; answer {seen.body!r}; Slack calls {calls}"
            )
        await asyncio.sleep(0.01)


def slash_command(command: str, text: str, user_id: str) -> dict[str, Any]:
    """A slash command's form, as Slack posts it."""
    return {
        "command": command,
        "text": text,
        "user_id": user_id,
        "user_name": "ops",
        "team_id": "T0TEST",
        "channel_id": CHANNEL,
        "channel_name": "wa-ops",
        "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
        "response_url": RESPONSE_URL,
        "api_app_id": "A0TEST",
    }


def names_a_user(payload: dict[str, Any]) -> bool:
    """Whether a person could be answered: the payload says who sent it, as `"U…"` or `{"id": "U…"}`."""
    user = payload.get("user")
    return isinstance(user, str) or (isinstance(user, dict) and isinstance(user.get("id"), str))


def names_a_channel(payload: dict[str, Any]) -> bool:
    channel = payload.get("channel")
    return isinstance(channel, str) or (isinstance(channel, dict) and isinstance(channel.get("id"), str))


# --- slash commands --------------------------------------------------------------------------------------


@THROUGH_THE_BOT
@given(
    command=COMMANDS,
    text=odd_text(120),
)
@example(command="/wa-add", text="+91 98765 43210 " + "Acme " * 2000)
@example(command="/wa-add", text="९८७६५ " * 9000)
@example(command="/wa-verify", text="+91 98765 43210")
@example(command="/wa-update", text="\u202e+91 98765 43210\u202c")
@example(command="/wa-numbers", text="+1 (631) 555-1000")
@example(command="/wa-numbers", text="audit 👩‍👩‍👧‍👦")
async def test_every_slash_command_is_answered(
    person: Person, kaleyra: KaleyraStandIn, caplog: pytest.LogCaptureFixture, command: str, text: str
) -> None:
    seen = Seen(person, kaleyra, caplog)
    await seen.send(slash_command(command, text, OPERATOR), person.slack.response_url("cmd"))
    await seen.settle(answer_expected=True)
    seen.check()
    assert kaleyra.requests == [], "a slash command never calls Kaleyra"


# --- modal submissions -----------------------------------------------------------------------------------

INPUT_BLOCKS = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.just("input"),
            "block_id": st.sampled_from(FORM_BLOCKS),
            "label": st.just({"type": "plain_text", "text": "Field"}),
            "element": st.fixed_dictionaries(
                {"type": st.just("plain_text_input"), "action_id": st.just("value")},
                optional={"initial_value": odd_text(40, surrogates=True)},
            ),
        }
    ),
    max_size=6,
    unique_by=lambda block: block["block_id"],
)


# Each modal's states as Slack sends them: every input block the bot builds, typical values, odd ones, or none.
FORMS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "wa_add": st.one_of(
        modal_states(["phone_number", "name", "verification_type"]),
        modal_states(["account", "phone_number", "name", "verification_type"]),
    ),
    "wa_verify": st.one_of(
        modal_states(["otp"]), modal_states(["otp", "id"]), modal_states(["account", "otp", "id"])
    ),
    "wa_update": st.one_of(
        modal_states(["address", "description", "incoming_url", "category", "email", "about"]),
        modal_states(["account", "about", "callback_profile_id", "outgoing_callback_profile_id"]),
    ),
    "wa_bulk": st.one_of(modal_states(["numbers"]), modal_states(["account", "numbers"])),
}
OWN_CONTEXT = {
    "wa_add": own_context(CHANNEL, RESPONSE_URL, for_a_number=False),
    "wa_bulk": own_context(CHANNEL, RESPONSE_URL, for_a_number=False),
    "wa_verify": own_context(CHANNEL, RESPONSE_URL),
    "wa_update": own_context(CHANNEL, RESPONSE_URL),
}


@st.composite
def typed_submissions(draw: st.DrawFn) -> dict[str, Any]:
    """A submission of one of the bot's own modals, as Slack sends it, with anything typed into its fields."""
    callback_id = draw(st.sampled_from(sorted(FORMS)))
    view = {
        "id": "V0TYPED",
        "hash": draw(st.text("0123456789abcdef", min_size=6, max_size=6)),
        "type": "modal",
        "callback_id": callback_id,
        "state": draw(FORMS[callback_id]),
        "private_metadata": draw(OWN_CONTEXT[callback_id]),
        "blocks": [],
    }
    return {
        "type": "view_submission",
        "trigger_id": "trigger-submit",
        "user": {"id": draw(USERS)},
        "view": view,
    }


# A view_submission of one of the bot's modals, with its parts missing, of the wrong type, or odd.
SUBMISSIONS = st.fixed_dictionaries(
    {
        "type": st.just("view_submission"),
        "trigger_id": st.just("trigger-submit"),
        "user": SENDERS,
        "view": st.fixed_dictionaries(
            {
                "id": maybe(st.just("V0FUZZ") | odd_text(12, surrogates=True)),
                "hash": maybe(st.text("0123456789.abcdef", max_size=20)),
                "type": st.just("modal"),
                "callback_id": st.sampled_from(["wa_add", "wa_verify", "wa_update", "wa_bulk"]),
                "state": maybe(view_states()),
                "private_metadata": private_metadata(channel=CHANNEL, response_url=RESPONSE_URL),
                "blocks": maybe(INPUT_BLOCKS),
            }
        ).map(without_missing),
    }
).map(without_missing)


def submission(callback_id: str, state: Any, **context: Any) -> dict[str, Any]:
    """A submission as Slack sends it, of a modal whose context is `context` (its private_metadata)."""
    view = {
        "id": "V0REGRESSION",
        "hash": "1.regression",
        "type": "modal",
        "callback_id": callback_id,
        "state": state,
        "private_metadata": json.dumps({"channel": CHANNEL, "response_url": RESPONSE_URL, **context}),
        "blocks": [],
    }
    return {"type": "view_submission", "trigger_id": "trigger-submit", "user": {"id": OPERATOR}, "view": view}


def typed(**values: str) -> dict[str, Any]:
    """view.state with these values typed into text inputs."""
    return {
        "values": {block: {"value": {"type": "plain_text_input", "value": v}} for block, v in values.items()}
    }


@THROUGH_THE_BOT
@given(payload=typed_submissions())
@example(
    submission("wa_add", typed(phone_number="+91 98765 43210", name="Acme 👩‍👩‍👧‍👦", verification_type="SMS"))
)
@example(submission("wa_update", typed(about="hi", email="ops@example.com"), e164=E164))
async def test_every_form_is_answered_whatever_was_typed(
    person: Person, kaleyra: KaleyraStandIn, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    seen = Seen(person, kaleyra, caplog)
    await seen.send(payload, person.slack.response_url("submit"))
    await seen.settle(answer_expected=True)
    seen.check()
    assert "Form expired" not in json.dumps(seen.body), "the bot's own modal was not read"


@settings(THROUGH_THE_BOT, max_examples=30)
@given(payload=SUBMISSIONS)
@example(submission("wa_update", typed(about="hi")))  # no number in the context
@example(submission("wa_update", {}, e164=E164))  # no field at all
# A number the bot never saw:
@example(submission("wa_verify", typed(otp="123456"), e164=E164, account="kaleyra"))
@example({**submission("wa_verify", typed(otp="123456")), "user": {"name": "ops"}})
@example(
    {
        **submission("wa_add", None),
        "view": {"type": "modal", "callback_id": "wa_add", "private_metadata": "not json"},
    }
)
async def test_every_odd_submission_is_answered(
    person: Person, kaleyra: KaleyraStandIn, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    seen = Seen(person, kaleyra, caplog)
    await seen.send(payload, person.slack.response_url("submit"))
    await seen.settle(answer_expected=names_a_user(payload))
    seen.check()


# --- buttons -------------------------------------------------------------------------------------------------


# A click on Enter OTP, Resend code or Retry whose value is anything, in a message or elsewhere.
CLICKS = st.fixed_dictionaries(
    {
        "type": st.just("block_actions"),
        "trigger_id": st.just("trigger-click"),
        "user": SENDERS,
        "channel": st.sampled_from([{"id": CHANNEL}, {}, CHANNEL, [CHANNEL], None, MISSING]),
        "container": maybe(st.just({"type": "message", "message_ts": "1700000000.000100"})),
        "response_url": maybe(st.just(RESPONSE_URL)),
        "actions": st.tuples(
            st.fixed_dictionaries(
                {
                    "type": st.just("button"),
                    "action_id": st.sampled_from(["enter_otp", "resend_otp", "retry"]),
                    "block_id": st.just("number_actions"),
                    "value": maybe(
                        st.sampled_from(["1", "0", "-1", "9" * 30, "1e3", " 7 "]) | odd_text(30, True)
                    ),
                    "action_ts": st.just("1700000000.000200"),
                }
            ).map(without_missing)
        ).map(list),
    }
).map(without_missing)


def click(action_id: str, value: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "trigger_id": "trigger-click",
        "user": {"id": OPERATOR},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": "1700000000.000100"},
        "response_url": RESPONSE_URL,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "number_actions", "value": value}],
    }


@THROUGH_THE_BOT
@given(payload=CLICKS)
@example(click("enter_otp", "abc"))
@example(click("resend_otp", "9" * 30))  # past a database integer
@example(click("retry", None))
@example(click("retry", "7"))  # an operation that does not exist
async def test_every_button_click_is_answered_and_calls_no_one(
    person: Person, kaleyra: KaleyraStandIn, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    seen = Seen(person, kaleyra, caplog)
    await seen.send(payload, person.slack.response_url("button"))
    await seen.settle(answer_expected=names_a_user(payload))
    seen.check()
    assert kaleyra.requests == [], "no number is known, so no button may reach Kaleyra"


# --- the allow-list ----------------------------------------------------------------------------------------

STRANGER = "U0STRANGER"


@pytest.fixture
async def guarded(settings_for: Any, slack: SlackStandIn) -> AsyncIterator[Person]:
    """The bot with an allow-list that only U0BOSS is on."""
    async with running(settings_for(wa_bot_allowed_users="U0BOSS"), slack) as person:
        yield person


def from_a_stranger(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "user": STRANGER} if "user" in payload and payload["user"] is not None else payload


@settings(THROUGH_THE_BOT, max_examples=20)
@given(
    payload=st.one_of(
        st.builds(slash_command, COMMANDS, odd_text(60), st.just(STRANGER)),
        SUBMISSIONS.map(from_a_stranger),
        CLICKS.map(from_a_stranger),
    )
)
@example({**click("enter_otp", "1"), "user": {"id": STRANGER}, "channel": CHANNEL})
async def test_everyone_off_the_allow_list_is_refused_whatever_they_send(
    guarded: Person, kaleyra: KaleyraStandIn, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    seen = Seen(guarded, kaleyra, caplog)
    await seen.send(payload, guarded.slack.response_url("refused"))
    # A click is refused where it happened: in its channel; elsewhere (App Home) it only does nothing.
    told = "command" in payload or payload["type"] == "view_submission" or names_a_channel(payload)
    await seen.settle(answer_expected=told)
    seen.check()
    if told:
        shown = [json.dumps(seen.body), *(json.dumps(c.args) for c in seen.visible())]
        assert any("allow-list" in words for words in shown), shown
    assert [c.method for c in seen.slack_calls if c.method.startswith("views.")] == [], "a listener ran"
    assert kaleyra.requests == []
