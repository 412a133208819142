"""What the demo prints: threads, modals and ephemeral answers as a person reads them in Slack, in ~100 columns."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from bot.demo.slack import Ephemeral, Message

WIDTH = 100
EMOJI = {
    "white_check_mark": "✓",
    "heavy_check_mark": "✓",
    "x": "✗",
    "warning": "⚠",
    "grey_question": "?",
    "no_entry": "⊘",
    "incoming_envelope": "✉",
    "pencil2": "✎",
    "test_tube": "",
    "hourglass_flowing_sand": "⌛",
}
ANGLED = re.compile(r"<([^<>\n]*)>")
BOLD = re.compile(r"\*([^*\n]+)\*")
CODE = re.compile(r"`([^`\n]+)`")
SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def plain(text: str, names: dict[str, str], channels: dict[str, str]) -> str:
    """Slack mrkdwn as terminal text: mentions and links by their names, no `*` or backticks, known emoji."""

    def angled(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + names.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + channels.get(target[1:], label or target[1:])
        if target.startswith("!date^"):
            return label
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return label or target

    text = ANGLED.sub(angled, text)
    text = BOLD.sub(r"\1", text)
    text = CODE.sub(r"\1", text)
    text = SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    text = re.sub(r"(?m)^ +", "", text)  # an emoji dropped at the start of a line leaves no indent behind
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def buttons(labels: Iterable[str]) -> str:
    return "  ".join(f"[ {label} ]" for label in labels)


class Transcript:
    """Writes the session to `out`; `names` and `channels` turn ids into what Slack shows."""

    def __init__(self, out: TextIO, names: dict[str, str], channels: dict[str, str]) -> None:
        self.out = out
        self.names = names
        self.channels = channels
        self.shown: set[tuple[str, str]] = set()  # replies printed in full once
        self.parents: dict[tuple[str, str], int] = {}  # the parent edits printed last

    # --- lines ---

    def line(self, text: str = "", indent: str = "", first: str | None = None) -> None:
        """`text` wrapped to the width; `first` replaces `indent` on the first line."""
        lead = indent if first is None else first
        for number, paragraph in enumerate(text.split("\n") or [""]):
            hanging = (
                "  " if paragraph.startswith("• ") else ""
            )  # a bullet's next lines start under its words
            wrapped = textwrap.wrap(
                paragraph,
                WIDTH,
                initial_indent=lead if number == 0 else indent,
                subsequent_indent=indent + hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
            print(
                "\n".join(wrapped) if wrapped else (lead if number == 0 else indent).rstrip(), file=self.out
            )

    def heading(self, title: str) -> None:
        print(f"\n── {title} " + "─" * max(3, WIDTH - len(title) - 4), file=self.out)

    def plain(self, text: str) -> str:
        return plain(text, self.names, self.channels)

    def person(self, user: str, channel: str, typed: str) -> None:
        self.line(typed, " " * 4, first=f"@{self.names[user]} in #{self.channels[channel]}: ")

    def note(self, text: str) -> None:
        self.line(text, "      ", first="  → ")

    # --- Slack's surfaces ---

    def blocks(
        self, blocks: Sequence[dict[str, Any]], indent: str, first: str | None = None, after: str = ""
    ) -> None:
        """The text of message or modal blocks (inputs aside), buttons as `[ label ]`; `after` ends the text."""
        lead: str | None = first
        texts = self._texts(blocks)
        if texts and after:
            texts[-1] += after
        for text in texts:
            self.line(text, indent, first=lead)
            lead = None
        if lead is not None:
            self.line("", indent, first=lead)

    def words(self, blocks: Sequence[dict[str, Any]]) -> str:
        """All that a person reads in `blocks`, as plain text."""
        return "\n".join(self._texts(blocks))

    def _texts(self, blocks: Sequence[dict[str, Any]]) -> list[str]:
        texts: list[str] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "section":
                texts.append(self.plain(str((block.get("text") or {}).get("text", ""))))
                texts += [self.plain(str(f.get("text", ""))) for f in block.get("fields") or []]
            elif kind == "header":
                texts.append(self.plain(str((block.get("text") or {}).get("text", ""))))
            elif kind == "context":
                texts.append(" ".join(self.plain(str(e.get("text", ""))) for e in block.get("elements", [])))
            elif kind == "actions":
                labels = [
                    str(e["text"]["text"]) for e in block.get("elements", []) if e.get("type") == "button"
                ]
                texts.append(buttons(labels))
            elif kind == "divider":
                texts.append("─" * 20)
        return texts

    def thread(self, parent: Message, replies: Sequence[Message]) -> None:
        """A thread as it reads now: the parent as last edited, then each reply; replies printed in an
        earlier step shrink to their first line."""
        where = self.channels.get(parent.channel, parent.channel)
        self.line(f"#{where} · thread · {len(replies)} {'reply' if len(replies) == 1 else 'replies'}", "  ")
        author = self.names.get(parent.user, parent.user)
        self.blocks(
            parent.blocks, " " * 14, first=f"  {author:<12}", after=" (edited)" if parent.edits else ""
        )
        for reply in replies:
            key = (reply.channel, reply.ts)
            author = self.names.get(reply.user, reply.user)
            lead = f"  ↳ {author:<10}"
            if key in self.shown:
                texts = self._texts(reply.blocks)
                self.line(
                    (texts[0] if texts else self.plain(reply.text)).split("\n")[0], " " * 14, first=lead
                )
                continue
            self.blocks(reply.blocks, " " * 14, first=lead)
            self.shown.add(key)

    def ephemeral(self, answer: Ephemeral) -> None:
        self.line("Only visible to you", "  ", first="  wa-bot · ")
        self.blocks(answer.blocks or [{"type": "section", "text": {"text": answer.text}}], "    ")

    def verbatim(self, lines: Iterable[str], indent: str = "    ") -> None:
        """Lines as they are, never wrapped (a file's lines: wrapping would change them); one longer than the
        width is cut, and ends with … to say so."""
        room = WIDTH - len(indent)
        for text in lines:
            print(indent + (text if len(text) <= room else text[: room - 1] + "…"), file=self.out)

    def home(self, view: dict[str, Any]) -> None:
        """The App Home tab as the person sees it."""
        self.line("╭─ wa-bot · Home " + "─" * 50, "  ")
        self.blocks(view.get("blocks", []), "  │ ")
        self.line("╰" + "─" * 65, "  ")

    def modal(
        self,
        view: dict[str, Any],
        values: dict[str, str | None] | None = None,
        errors: dict[str, str] | None = None,
        *,
        submitted: bool = True,
    ) -> None:
        """A modal as the person saw it: its words, each input's label and what was typed in it, any errors
        under their fields, and the buttons (the submit button pressed when `submitted`)."""
        values, errors = values or {}, errors or {}
        title = str(view.get("title", {}).get("text", ""))
        self.line(f"╭─ {title} " + "─" * max(3, 60 - len(title)), "    ")
        labels = [str(b["label"]["text"]) for b in view.get("blocks", []) if b.get("type") == "input"]
        width = min(max((len(label) for label in labels), default=0) + 2, 34)
        for block in view.get("blocks", []):
            if block.get("type") == "input":
                label = str(block["label"]["text"])
                shown = _shown_value(block, values.get(str(block["block_id"])))
                self.line(shown, "    │ " + " " * width, first="    │ " + f"{label}:".ljust(width))
                if block["block_id"] in errors:
                    self.line(f"⚠ {errors[block['block_id']]}", "    │   ", first="    │   ")
            else:
                self.blocks([block], "    │ ")
        submit = (view.get("submit") or {}).get("text")
        close = (view.get("close") or {}).get("text", "Close")
        pressed = (
            f"{buttons([submit])} ← pressed"
            if submitted and submit
            else buttons([b for b in (close, submit) if b])
        )
        self.line(pressed, "    ", first="    ╰─ ")


def _shown_value(block: dict[str, Any], typed: str | None) -> str:
    """What an input shows: the typed text, or the label of the chosen option; — when empty."""
    element = block["element"]
    if element.get("type") in ("static_select", "radio_buttons"):
        option = next((o for o in element.get("options", []) if o.get("value") == typed), None)
        if typed is None:
            option = element.get("initial_option")
        return str(option["text"]["text"]) if option else "—"
    return typed if typed else "—"
