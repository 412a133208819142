"""The scripted session: a person in Slack types commands, fills modals and clicks buttons, and every step is a
request signed as Slack signs it, posted to the real bot's /slack/events.

Each step waits for what Slack would show next by polling what the stand-in recorded, with a timeout.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.demo.slack import TEAM_ID, DemoFailed, Ephemeral, Message, SlackStandIn
from bot.demo.transcript import Transcript
from bot.slack.forms import initial_values_of
from bot.slack.signing import signed_headers

PERSON_ID = "U0OPS"
PERSON_NAME = "ops"
CHANNEL_ID = "C0WAOPS"
CHANNEL_NAME = "wa-ops"
APP_ID = "A0DEMO"
FIRST_NUMBER = "+91 98765 43210"
SECOND_NUMBER = "+44 20 7946 0958"
SANDBOX_CODE = re.compile(r"the code that works is (\d{6})")
WRONG_CODE = "The code was not accepted"
BULK_NUMBERS = [*(f"+91 98765 432{i:02d}" for i in range(1, 10)), "+91 98765 43299"]
BULK_NAMES = [*(f"Acme Store {i}" for i in range(1, 10)), "sandbox:already_exists"]
AUDIT_LINES_SHOWN = 6


@dataclass
class Answer:
    """The bot's HTTP answer to one request, as Slack received it."""

    body: Any

    @property
    def action(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


class Person:
    """Someone in #wa-ops; each command, submission and click is posted to the bot the way Slack posts it."""

    def __init__(
        self, events_url: str, signing_secret: str, slack: SlackStandIn, session: aiohttp.ClientSession
    ):
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.slack = slack
        self.session = session
        self._triggers = 0

    def _trigger(self) -> str:
        self._triggers += 1
        return f"{self._triggers}.{int(time.time())}.demo"

    async def _post(self, form: dict[str, str]) -> Answer:
        body = urlencode(form)
        headers = signed_headers(body, "application/x-www-form-urlencoded", self.signing_secret)
        async with self.session.post(self.events_url, data=body, headers=headers) as response:
            text = await response.text()
            if response.status != 200:
                raise DemoFailed(f"the bot answered HTTP {response.status} to a signed request")
            try:
                return Answer(json.loads(text) if text else None)
            except ValueError:
                return Answer(text)

    async def command(self, command: str, text: str) -> Answer:
        """A slash command, form-encoded as Slack sends it."""
        return await self._post(
            {
                "token": "deprecated-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "wa-bot-demo",
                "channel_id": CHANNEL_ID,
                "channel_name": CHANNEL_NAME,
                "user_id": PERSON_ID,
                "user_name": PERSON_NAME,
                "command": command,
                "text": text,
                "api_app_id": APP_ID,
                "response_url": self.slack.response_url(),
                "trigger_id": self._trigger(),
            }
        )

    async def _interact(self, payload: dict[str, Any]) -> Answer:
        payload = {
            "team": {"id": TEAM_ID, "domain": "wa-bot-demo"},
            "user": {"id": PERSON_ID, "username": PERSON_NAME, "name": PERSON_NAME, "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "deprecated-verification-token",
            "trigger_id": self._trigger(),
            **payload,
        }
        return await self._post({"payload": json.dumps(payload)})

    async def submit(self, view: dict[str, Any], values: dict[str, str | None]) -> Answer:
        """Submit `view` as Slack holds it now, its inputs holding `values`; the answer's
        `response_action: update` is shown as Slack shows it, unless the bot has already shown something newer."""
        answer = await self._interact(
            {"type": "view_submission", "view": {**view, "state": {"values": state_of(view, values)}}}
        )
        shown = self.slack.views.get(view["id"])
        if answer.action.get("response_action") == "update" and shown and shown["hash"] == view["hash"]:
            self.slack.render(view["id"], answer.action["view"])
        elif not answer.action:  # an empty acknowledgement closes the modal
            self.slack.close_view(view["id"])
        return answer

    async def click(self, message: Message, label: str) -> Answer:
        """Click the button labelled `label` under `message`."""
        button = next(
            (
                element
                for block in message.blocks
                if block.get("type") == "actions"
                for element in block.get("elements", [])
                if element.get("type") == "button" and element["text"]["text"] == label
            ),
            None,
        )
        if button is None:
            raise DemoFailed(f"no [ {label} ] button under the message")
        block_id = next(b.get("block_id") for b in message.blocks if button in b.get("elements", []))
        return await self._interact(
            {
                "type": "block_actions",
                "container": {
                    "type": "message",
                    "message_ts": message.ts,
                    "channel_id": message.channel,
                    "is_ephemeral": False,
                    "thread_ts": message.thread_ts,
                },
                "channel": {"id": message.channel, "name": CHANNEL_NAME},
                "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                "response_url": self.slack.response_url(),
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "block_id": block_id,
                        "text": button["text"],
                        "value": button.get("value", ""),
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )


def state_of(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    """`view.state.values` as Slack sends them: every input block, filled or empty."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        entry: dict[str, Any] = {"type": element["type"]}
        if element["type"] in ("static_select", "radio_buttons"):
            entry["selected_option"] = next((o for o in element["options"] if o["value"] == value), None)
        elif element["type"] == "rich_text_input":  # pasted text arrives as rich text
            section = {"type": "rich_text_section", "elements": [{"type": "text", "text": value or ""}]}
            entry["rich_text_value"] = {"type": "rich_text", "elements": [section]}
        else:
            entry["value"] = value
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


class Session:
    """The steps, each told in the transcript as it happens."""

    def __init__(self, person: Person, slack: SlackStandIn, transcript: Transcript) -> None:
        self.person = person
        self.slack = slack
        self.say = transcript

    # --- waiting for Slack ---

    async def opened(self, mark: int, callback_id: str) -> dict[str, Any]:
        """The modal `callback_id` the bot opened after `mark`, as Slack holds it."""

        def found() -> dict[str, Any] | None:
            for index, view_id in self.slack.opened:
                view = self.slack.views.get(view_id)
                if index >= mark and view is not None and view.get("callback_id") == callback_id:
                    return view
            return None

        return await self.slack.until(found, f"{callback_id} modal opened")

    async def updated(self, mark: int, view_id: str) -> dict[str, Any]:
        """The modal `view_id` after the bot's views.update since `mark`."""
        await self.slack.until(
            lambda: next(
                (c for c in self.slack.since(mark, "views.update") if c.args.get("view_id") == view_id), None
            ),
            "update of the modal",
        )
        return self.slack.views[view_id]

    async def reply(self, mark: int, words: str, parent: Message | None = None) -> tuple[Message, Message]:
        """The parent and the first reply posted after `mark` saying `words`, once the bot has brought the
        parent up to date after it (it edits the parent right after each reply)."""

        def found() -> tuple[Message, Message] | None:
            for candidate in [parent] if parent else self.slack.parents():
                replies = [r for r in self.slack.thread(candidate) if r.posted >= mark and words in r.text]
                if replies and candidate.updated > replies[0].posted:
                    return candidate, replies[0]
            return None

        return await self.slack.until(found, f"reply saying “{words}” in the thread")

    async def command(self, typed: str) -> None:
        """@ops types `typed` in #wa-ops; the bot acknowledges with nothing to show (it opens a modal, or
        answers through the response_url)."""
        self.say.person(PERSON_ID, CHANNEL_ID, typed)
        command, _, text = typed.partition(" ")
        answer = await self.person.command(command, text)
        if answer.body:
            shown = answer.action.get("text") or answer.body
            raise DemoFailed(f"{command} answered at once instead: {self.say.plain(str(shown))}")

    # --- telling ---

    async def fill(self, view: dict[str, Any], typed: dict[str, str | None]) -> Answer:
        """Fill `view` (what was pre-filled stays), print it, submit it, and say what Slack showed at once."""
        values = {**initial_values_of(view), **typed}
        self.say.modal(view, values)
        answer = await self.person.submit(view, values)
        if answer.action.get("response_action") == "errors":
            self.say.note("The modal stays open with errors under the fields:")
            self.say.modal(view, values, answer.action.get("errors") or {}, submitted=False)
        elif answer.action.get("response_action") == "update":
            title = (answer.action.get("view") or {}).get("title", {}).get("text", "")
            self.say.note(f"The modal shows “{title}”, then:")
        else:
            self.say.note("The modal closes.")
        return answer

    async def fill_and_wait(self, view: dict[str, Any], typed: dict[str, str | None]) -> dict[str, Any]:
        """Fill and submit `view`, then the modal as the bot updated it after the submission."""
        mark = self.slack.mark()
        answer = await self.fill(view, typed)
        if answer.action.get("response_action") != "update":
            raise DemoFailed(f"the “{view['title']['text']}” modal did not stay open for the answer")
        return await self.updated(mark, view["id"])

    def thread(self, parent: Message) -> None:
        self.say.line()
        self.say.thread(parent, self.slack.thread(parent))

    # --- the steps ---

    async def add_and_verify(self) -> Message:
        """1–2. /wa-add with the number and name → the add modal → Added → Enter OTP → a wrong code, then the
        right one read from the thread → Verified."""
        self.say.heading("1. Add a number")
        mark = self.slack.mark()
        await self.command(f"/wa-add {FIRST_NUMBER} Acme Support")
        view = await self.opened(mark, "wa_add")
        self.say.note("The add modal opens, pre-filled; the OTP is to come by SMS.")
        await self.fill(view, {"verification_type": "SMS"})
        parent, added = await self.reply(mark, "Added")
        self.thread(parent)

        self.say.line()
        self.say.line(f"No SMS yet? @{PERSON_NAME} clicks [ Resend code ] (at most one code per cool-down).")
        mark = self.slack.mark()
        await self.person.click(added, "Resend code")
        parent, resent = await self.reply(mark, "New code requested", parent)
        self.thread(parent)

        self.say.heading("2. Verify it with the code")
        found = SANDBOX_CODE.search(self.say.words(resent.blocks))  # read as the person reads it
        if found is None:
            raise DemoFailed("the Added reply shows no SANDBOX code")
        code = found.group(1)
        wrong = "123456" if code != "123456" else "654321"
        self.say.line(
            f"@{PERSON_NAME} clicks [ Enter OTP ] in the thread, and first types a wrong code, {wrong}."
        )
        mark = self.slack.mark()
        await self.person.click(added, "Enter OTP")
        view = await self.opened(mark, "wa_verify")
        back = await self.fill_and_wait(view, {"otp": wrong})
        self.say.modal(back, submitted=False)
        if WRONG_CODE not in self.say.words(back["blocks"]):
            raise DemoFailed(f"the wrong code did not come back as one: “{WRONG_CODE}”")
        self.say.note(
            "The code was well formed but wrong, and the modal says so; Kaleyra's own words for it "
            "(“Incorrect OTP format”) stay beside its code, for a support ticket."
        )
        self.say.line(f"@{PERSON_NAME} types the code the thread shows, {code}, in the same modal.")
        self.say.modal(await self.fill_and_wait(back, {"otp": code}), submitted=False)
        parent, _ = await self.reply(mark, "Verified", parent)
        self.thread(parent)
        return parent

    async def update(self, parent: Message) -> None:
        """3. /wa-update → the profile form → address and about → Profile updated, listing what changed."""
        self.say.heading("3. Update its business profile")
        mark = self.slack.mark()
        await self.command(f"/wa-update {FIRST_NUMBER}")
        view = await self.opened(mark, "wa_update")
        typed: dict[str, str | None] = {
            "address": "Bandra Kurla Complex, Mumbai 400051",
            "about": "Acme Support answers in minutes",
        }
        await self.fill(view, typed)
        await self.reply(mark, "Profile updated", parent)
        self.thread(parent)

    async def history(self) -> None:
        """4. /wa-numbers <number> → that number's history, ephemeral."""
        self.say.heading("4. One number's history")
        answer = await self.ephemeral(f"/wa-numbers {FIRST_NUMBER}", "History of")
        self.say.line()
        self.say.ephemeral(answer)

    async def provider_error(self) -> None:
        """4. One documented provider error on purpose: the display name `sandbox:try_later`."""
        self.say.heading("5. A provider error (Sandbox WA500, on purpose), and Retry")
        mark = self.slack.mark()
        await self.command(f"/wa-add {SECOND_NUMBER}")
        view = await self.opened(mark, "wa_add")
        self.say.note("In the sandbox, the display name sandbox:<case> gives that documented failure.")
        await self.fill(view, {"name": "sandbox:try_later", "verification_type": "SMS"})
        parent, failed = await self.reply(mark, "The add failed")
        if not all(words in self.say.words(failed.blocks) for words in ("Sandbox WA500", "[ Retry ]")):
            raise DemoFailed("the failed add shows no Sandbox WA500 or no [ Retry ]")
        self.thread(parent)

        self.say.line()
        self.say.line(
            f"@{PERSON_NAME} clicks [ Retry ]: the same add is sent again with what was typed (once per click). "
            "The sandbox fails this display name every time; a real WA500 usually passes a little later."
        )
        mark = self.slack.mark()
        await self.person.click(failed, "Retry")
        parent, _ = await self.reply(mark, "The add failed", parent)
        self.thread(parent)

    async def bulk(self) -> None:
        """5. /wa-add bulk → ten pasted lines → one batch message, its progress, the summary in its thread."""
        self.say.heading("6. Add ten numbers at once")
        mark = self.slack.mark()
        await self.command("/wa-add bulk")
        view = await self.opened(mark, "wa_bulk")
        lines = [f"{number}, {name}" for number, name in zip(BULK_NUMBERS, BULK_NAMES, strict=True)]
        self.say.note(
            "Ten lines pasted from a spreadsheet; the last display name asks the sandbox for a documented failure."
        )
        await self.fill(view, {"numbers": "\n".join(lines)})

        def finished() -> tuple[Message, Message] | None:
            for parent in self.slack.parents():
                if parent.posted >= mark and parent.text.startswith("Bulk add") and "finished" in parent.text:
                    summary = [r for r in self.slack.thread(parent) if "finished" in r.text]
                    if summary:
                        return parent, summary[0]
            return None

        parent, summary = await self.slack.until(finished, "the bulk add's summary", timeout=30)
        if not all(words in self.say.words(summary.blocks) for words in ("9 added, 1 failed", "WA400")):
            raise DemoFailed("the bulk add's summary does not say 9 added, 1 failed with its WA400")
        self.say.note("One message in the channel showed the progress, edited in place; then:")
        self.thread(parent)

    async def ephemeral(self, typed: str, words: str) -> Ephemeral:
        """Type `typed`; the answer only the person sees, once it says `words`."""
        shown = len(self.slack.ephemerals)
        await self.command(typed)
        return await self.slack.until(
            lambda: next((e for e in self.slack.ephemerals[shown:] if words in e.text + str(e.blocks)), None),
            f"ephemeral answer to {typed}",
        )

    async def numbers(self) -> None:
        """7. /wa-numbers → the ephemeral list."""
        self.say.heading("7. List the numbers")
        answer = await self.ephemeral("/wa-numbers", "WhatsApp numbers")
        self.say.line()
        self.say.ephemeral(answer)

    async def home(self) -> None:
        """8. The App Home, as wa-bot published it for the person after their last change."""
        self.say.heading("8. The App Home")
        self.say.line(
            f"@{PERSON_NAME} opens wa-bot's Home tab: every number by state, those that need a person first."
        )
        last = BULK_NUMBERS[-2].replace(" ", "")  # the bulk's last added number: the Home is current after it

        def current() -> dict[str, Any] | None:
            view = self.slack.homes.get(PERSON_ID)
            return view if view is not None and last in self.say.words(view.get("blocks", [])) else None

        home = await self.slack.until(current, "the App Home, current")
        self.say.line()
        self.say.home(home)

    async def audit(self, csv_lines: list[str]) -> None:
        """9. The audit: the CSV `/wa-numbers audit` sends by DM, its first lines."""
        self.say.heading("9. The audit")
        self.say.line(
            f"/wa-numbers audit 30 sends @{PERSON_NAME}, by DM, a CSV of every operation of the last 30 days "
            f"({len(csv_lines) - 1} so far; no secret and no code is ever in it). Its first lines:"
        )
        self.say.line()
        self.say.verbatim(csv_lines[:AUDIT_LINES_SHOWN], "")

    async def run(self, audit: Callable[[], Awaitable[list[str]]]) -> None:
        number = await self.add_and_verify()
        await self.update(number)
        await self.history()
        await self.provider_error()
        await self.bulk()
        await self.numbers()
        await self.home()
        await self.audit(await audit())
