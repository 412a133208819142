"""Hypothesis strategies for what people, Slack and providers could send: odd text, any JSON, Slack-shaped payloads."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Text a person could paste: right-to-left marks and scripts, emoji with joiners, combining marks, other scripts'
# digits, control characters (never NUL: Slack does not send it), and the shapes the bot looks for.
ODD_PIECES = [
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "مرحبا",
    "שלום",
    "👩‍👩‍👧‍👦",
    "🇮🇳",
    "e\u0301",
    "१२३४५६",
    "１２３４５６",
    "٣٤٥",
    "²",
    "\t",
    "\r\n",
    "\x1b[31m",
    "\x7f",
    "+91 98765 43210",
    "+1 (631) 555-1000",
    "0044 20 7946 0958",
    "123-456",
    "help",
    "bulk",
    "`",
    "*",
    "<@U0OPS>",
    "<!channel>",
    "&amp;",
    "{}",
    '{"channel": "C1"}',
    "https://example.com/path",
    "ops@example.com",
    "Beauty, Spa, and Salon",
    "OTHER",
    "SMS",
    "VOICE",
]
NUL_FREE = st.characters(exclude_characters="\x00")
# Python strings from JSON may hold lone surrogates ("\ud800" is valid JSON); form-encoded text cannot.
WITH_SURROGATES = st.characters(exclude_categories=(), exclude_characters="\x00")


def odd_text(max_size: int = 60, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Any text, odd pieces glued together, or an odd piece repeated to a huge length (up to 40 000 characters)."""
    alphabet = WITH_SURROGATES if surrogates else NUL_FREE
    plain = st.text(alphabet, max_size=max_size)
    glued = st.lists(st.sampled_from(ODD_PIECES) | plain, min_size=1, max_size=6).map("".join)
    huge = st.builds(
        lambda piece, length: (piece * length)[:length], st.sampled_from(ODD_PIECES), st.integers(256, 40_000)
    )
    return st.one_of(plain, glued, huge)


def json_values(text: st.SearchStrategy[str] | None = None, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value: null, booleans, numbers (huge ones too), strings, lists and objects."""
    words = text if text is not None else _WORDS
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([10**4299, -(10**4300 - 1)]),  # as long as a JSON number gets in Python
        st.floats(allow_nan=False, allow_infinity=False),
        words,
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=4),
        max_leaves=max_leaves,
    )


# Built once: a strategy built inside every draw costs more than the draw.
_WORDS = odd_text(20, surrogates=True)
_WRONG_TYPE = json_values(max_leaves=3)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value, a value of the wrong type, or nothing at all (the key missing: `MISSING`)."""
    return st.one_of(strategy, _WRONG_TYPE, st.just(MISSING))


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def without_missing(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not MISSING}


# --- Slack-shaped ---------------------------------------------------------------------------------------

FORM_BLOCKS = [
    "phone_number",
    "name",
    "verification_type",
    "display_name",
    "wa_number",
    "address",
    "incoming_url",
    "display_image",
    "business_description",
    "business_category",
    "contact_email",
    "website",
    "otp",
    "id",
    "description",
    "category",
    "email",
    "about",
    "callback_profile_id",
    "outgoing_callback_profile_id",
    "account",
    "numbers",
]


# What people usually type into each field: enough of it reaches the provider to test what lies behind the door.
TYPICAL: dict[str, list[str]] = {
    "phone_number": ["+91 98765 43210", "+1 (631) 555-1000", "+44 20 7946 0958", "0091 98765 43211", "12345"],
    "name": ["Acme Support", "A" * 255, "A" * 256, "Ünïcødé 👩‍👩‍👧‍👦"],
    "verification_type": ["SMS", "VOICE", "sms"],
    "otp": ["123456", "123-456", "१२३४५६", "12345"],
    "id": ["7654XXXXXXXXXX", "76 54", "9" * 65],
    "address": ["Main St 1", "A" * 257],
    "description": ["We sell things", "D" * 257],
    "incoming_url": ["https://example.com/hook", "example.com", "ftp://example.com"],
    "category": ["OTHER", "BEAUTY_SPA_SALON", "Beauty, Spa, and Salon", "NOPE"],
    "email": ["ops@example.com", "ops@", "a@b"],
    "about": ["Hello", "B" * 140],
    "callback_profile_id": ["cb-1"],
    "outgoing_callback_profile_id": ["ocb-1"],
    "account": ["kaleyra", "elsewhere"],
    "numbers": [
        "+91 98765 43210, Acme Support\n+1 631 555 1000, Acme US, VOICE",
        "phone,name\n+91 98765 43210\tAcme",
        "+91 98765 43210, Acme\n+91 98765 43210, Again",
        "12345, x, fax, extra",
    ],
}


def modal_states(blocks: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """`view.state` as Slack sends it for a modal with these input blocks: typical values, or odd ones and none."""

    def state(value: Any) -> st.SearchStrategy[dict[str, Any]]:
        elements = {
            block: st.fixed_dictionaries({"type": st.just("plain_text_input"), "value": value(block)})
            for block in blocks
        }
        return st.fixed_dictionaries(
            {
                "values": st.fixed_dictionaries(
                    {block: st.fixed_dictionaries({"value": e}) for block, e in elements.items()}
                )
            }
        )

    def typical(block: str) -> st.SearchStrategy[str]:
        return st.sampled_from(TYPICAL.get(block, ["x"]))

    odd = odd_text(40, surrogates=True)
    return st.one_of(state(typical), state(lambda block: st.one_of(typical(block), st.none(), odd)))


def view_states() -> st.SearchStrategy[Any]:
    """`view.state`: usually Slack's shape with odd values, sometimes any JSON at all."""
    text = odd_text(40, surrogates=True)
    element = st.one_of(
        st.fixed_dictionaries({"type": st.just("plain_text_input"), "value": st.none() | text}),
        st.fixed_dictionaries(
            {
                "type": st.just("static_select"),
                "selected_option": st.none()
                | st.fixed_dictionaries({"value": maybe(text)}).map(without_missing),
            }
        ),
        json_values(text, max_leaves=4),
    )
    block_ids = st.sampled_from(FORM_BLOCKS) | text
    values = st.dictionaries(block_ids, st.dictionaries(text, element, max_size=2), max_size=8)
    return st.one_of(st.fixed_dictionaries({"values": values}), json_values(text, max_leaves=6))


NUMBERS = st.sampled_from(["+919876543210", "+16315551000", "+442079460958"])


def own_context(channel: str, response_url: str, for_a_number: bool = True) -> st.SearchStrategy[str]:
    """The private_metadata the bot writes: where the modal was opened, and for a number its account and E.164."""
    where = {"channel": st.just(channel), "response_url": st.none() | st.just(response_url)}
    if not for_a_number:  # the add modal
        return st.fixed_dictionaries(where).map(json.dumps)
    number = {"account": st.just("kaleyra"), "e164": NUMBERS}
    return st.fixed_dictionaries({**where, **number}, optional={"number_id": st.integers(1, 9)}).map(
        json.dumps
    )


def private_metadata(channel: str, response_url: str) -> st.SearchStrategy[Any]:
    """What a modal carries back: the bot's own context, odd fields, any text, any JSON, or nothing."""
    text = odd_text(40, surrogates=True)
    numbers = NUMBERS
    own = own_context(channel, response_url)
    context = st.fixed_dictionaries(
        {
            "channel": maybe(st.just(channel) | text),
            "response_url": maybe(st.none() | st.just(response_url) | text.filter(lambda t: "://" not in t)),
            "account": maybe(st.none() | st.just("kaleyra") | text),
            "number_id": maybe(st.none() | st.integers()),
            "e164": maybe(st.none() | numbers | text),
        }
    ).map(without_missing)
    encoded = st.one_of(
        own,
        context.map(json.dumps),
        json_values(text, max_leaves=4).map(json.dumps),
        text,
        st.just(""),
    )
    return st.one_of(encoded, json_values(text, max_leaves=3), st.just(MISSING))
