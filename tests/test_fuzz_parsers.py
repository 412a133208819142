"""Every parser of outside input, fed anything: only its documented error comes out, and what it returns holds.

The modal forms (`bot/slack/forms.py`) raise `FormErrors` in a person's words; `parse_phone` raises `PhoneError`;
Kaleyra's and Meta's answers become a `ProviderError`; a modal's context and the intent keys never fail.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from odd_input import FORM_BLOCKS, MISSING, TYPICAL, json_values, odd_text, private_metadata, view_states
from pydantic import SecretStr

from bot.accounts import KaleyraAccount
from bot.phone import Phone, PhoneError, parse_phone
from bot.providers.errors import ProviderError
from bot.providers.kaleyra import V1_SUCCESS, V2_SUCCESS, KaleyraResponse, envelope_of, phone_number_id_of
from bot.providers.meta import AddPhoneNumbersResponse, added_of
from bot.providers.requests import AddPhoneNumberRequest, AddWhatsAppNumberRequest, UpdatePhoneNumberRequest
from bot.slack import forms
from handlers.payloads import (
    LARGEST_ROW_ID,
    ModalContext,
    button_intent,
    requester_of,
    row_id_of,
    view_intent,
)

FAST = settings(max_examples=150)  # each parser: about a second
ANYTHING = json_values()
A_LITTLE = json_values(max_leaves=3)
E164_SHAPE = re.compile(r"\+[1-9][0-9]{5,14}")
V1_FIELDS = set(AddWhatsAppNumberRequest.model_fields)
UPDATE_FIELDS = set(UpdatePhoneNumberRequest.model_fields)
MACHINE_WORDS = (
    "validation error",
    "pydantic",
    "string_",
    "pattern",
    "regex",
    "literal",
    "enum",
    "traceback",
)


def assert_readable(errors: dict[str, str]) -> None:
    """What a person reads under a field: a sentence of their words, not the validator's."""
    assert errors, "FormErrors without an error"
    for block_id, message in errors.items():
        assert message.strip() and message[0].isupper(), (block_id, message)
        assert not any(word in message.lower() for word in MACHINE_WORDS), (block_id, message)


# --- the modal forms --------------------------------------------------------------------------------------


@FAST
@given(view_states())
@example({"values": {"phone_number": {"input": {"value": "  +91 98765 43210  "}}}})
@example({"values": {"otp": {"input": {"value": "   "}}}})
@example({"values": {"account": {"pick": {"selected_option": None}}}})
@example({"values": {"account": {"pick": {"selected_option": "kaleyra"}}}})
@example({"values": {"phone_number": "+919876543210"}})
@example({"values": {"phone_number": {"input": "+919876543210"}}})
@example({"values": ["phone_number"]})
@example({"values": None})
@example(None)
@example("state")
def test_values_of_reads_any_state_as_text_or_nothing(state: Any) -> None:
    values = forms.values_of(state)
    assert isinstance(values, dict)
    sent = state.get("values") if isinstance(state, dict) else None
    for block_id, value in values.items():
        assert isinstance(sent, dict) and block_id in sent
        assert value is None or (isinstance(value, str) and value == value.strip() and value)


def test_values_of_reads_slack_s_shapes() -> None:
    state = {
        "values": {
            "phone_number": {"input": {"type": "plain_text_input", "value": "  +91 98765 43210 "}},
            "name": {"input": {"type": "plain_text_input", "value": None}},
            "verification_type": {"pick": {"type": "static_select", "selected_option": {"value": "SMS"}}},
            "account": {"pick": {"type": "static_select", "selected_option": None}},
        }
    }
    assert forms.values_of(state) == {
        "phone_number": "+91 98765 43210",
        "name": None,
        "verification_type": "SMS",
        "account": None,
    }


@FAST
@given(st.dictionaries(st.sampled_from(FORM_BLOCKS), st.none() | odd_text(60, surrogates=True)))
def test_otp_of_gives_six_ascii_digits_or_asks_again(values: dict[str, str | None]) -> None:
    try:
        otp = forms.otp_of(values)
    except forms.FormErrors as error:
        assert list(error.errors) == ["otp"]
        assert_readable(error.errors)
        return
    assert re.fullmatch(r"[0-9]{6}", otp)


@FAST
@given(
    st.text("0123456789", min_size=6, max_size=6),
    st.lists(st.sampled_from(["", " ", "-", "\t", "\u00a0"]), min_size=7, max_size=7),
)
@example("123456", ["", "", "", "-", "", "", ""])
def test_otp_of_reads_six_digits_however_they_are_spaced(digits: str, separators: list[str]) -> None:
    typed = "".join(sep + digit for sep, digit in zip(separators, digits, strict=False)) + separators[-1]
    assert forms.otp_of({"otp": typed}) == digits


@pytest.mark.parametrize("typed", ["१२३४५६", "１２３４５６", "۱۲۳۴۵۶"])
def test_otp_of_reads_other_scripts_digits(typed: str) -> None:
    assert forms.otp_of({"otp": typed}) == "123456"


@FAST
@given(st.none() | odd_text(80, surrogates=True))
@example("7654XXXXXXXXXX")
@example("7" * 65)
def test_phone_number_id_of_gives_an_id_or_asks_again(typed: str | None) -> None:
    try:
        phone_number_id = forms.phone_number_id_of({"id": typed})
    except forms.FormErrors as error:
        assert list(error.errors) == ["id"]
        assert_readable(error.errors)
        return
    assert phone_number_id == typed
    assert re.fullmatch(r"[0-9A-Za-z_-]{1,64}", phone_number_id)


def form_values(surrogates: bool = True) -> st.SearchStrategy[dict[str, str | None]]:
    """What `values_of` hands the form parsers: block_id → stripped text, or None."""
    text = odd_text(80, surrogates).map(lambda value: value.strip() or None)
    blocks = st.sampled_from(FORM_BLOCKS) | odd_text(20)
    return st.dictionaries(blocks, st.none() | text | st.sampled_from(["+91 98765 43210", "SMS", "Acme"]))


@FAST
@given(form_values())
@example({"phone_number": "+91 98765 43210", "name": "Acme", "verification_type": "SMS"})
@example({"phone_number": "+91 98765 43210", "name": "A" * 256, "verification_type": "VOICE"})
@example({"phone_number": "+91 98765 43210", "name": "Acme 👩‍👩‍👧‍👦\u202e", "verification_type": "sms"})
def test_the_v2_add_form_gives_a_documented_request_or_errors_by_block(values: dict[str, str | None]) -> None:
    try:
        request = forms.add_v2_request(values)
    except forms.FormErrors as error:
        assert set(error.errors) <= {"phone_number", "name", "verification_type"}, error.errors
        assert_readable(error.errors)
        return
    assert isinstance(request, AddPhoneNumberRequest)
    assert 1 <= len(request.name) <= 255 and request.name == values["name"]
    assert request.verification_type in ("SMS", "VOICE")
    assert E164_SHAPE.fullmatch(request.country_code + request.phone_number)
    assert parse_phone(values["phone_number"] or "").e164 == request.e164


@FAST
@given(form_values())
@example(
    {"wa_number": "+1 (631) 555-1000", "display_name": "Acme", "business_category": "beauty, spa, and salon"}
)
@example({"wa_number": "+1 (631) 555-1000", "display_name": "Acme", "business_category": "BEAUTY_SPA_SALON"})
@example(
    {"wa_number": "+1 (631) 555-1000", "display_name": "Acme", "website": "https://" + "a" * 3000 + ".com"}
)
@example({"wa_number": "+1 (631) 555-1000", "display_name": "Acme", "contact_email": "ops@@example.com"})
def test_the_v1_add_form_gives_a_documented_request_or_errors_by_block(values: dict[str, str | None]) -> None:
    try:
        request = forms.add_v1_request(values)
    except forms.FormErrors as error:
        assert set(error.errors) <= V1_FIELDS, error.errors
        assert_readable(error.errors)
        return
    assert isinstance(request, AddWhatsAppNumberRequest)
    assert E164_SHAPE.fullmatch(request.wa_number)
    assert request.display_name == values["display_name"]
    for field in V1_FIELDS - {"wa_number", "business_category"}:
        assert getattr(request, field) == (values.get(field) or (None if field != "display_name" else ""))


@FAST
@given(form_values())
@example({"phone_number": "00 44 20 7946 0958"})
def test_the_meta_add_form_gives_a_documented_request_or_errors_by_block(
    values: dict[str, str | None],
) -> None:
    try:
        request = forms.add_meta_request(values)
    except forms.FormErrors as error:
        assert list(error.errors) == ["phone_number"]
        assert_readable(error.errors)
        return
    assert E164_SHAPE.fullmatch(request.phone_number)


@FAST
@given(form_values(), st.sampled_from(["+919876543210", "+16315551000"]) | odd_text(20, surrogates=True))
@example({"about": "a" * 140}, "+919876543210")
@example({"category": "Beauty, Spa, and Salon", "email": "not an email"}, "+919876543210")
@example({"address": "Main St"}, "+91 98765 43210")
def test_the_update_form_gives_a_documented_request_or_errors_by_block(
    values: dict[str, str | None], e164: str
) -> None:
    try:
        request = forms.update_request(values, e164)
    except forms.FormErrors as error:
        assert set(error.errors) <= UPDATE_FIELDS, error.errors
        assert_readable(error.errors)
        return
    assert request.phone_number == e164 and E164_SHAPE.fullmatch(e164)
    assert len(request.address or "") <= 256 and len(request.description or "") <= 256
    assert len(request.about or "") <= 139
    for field in UPDATE_FIELDS - {"phone_number", "category", "email"}:
        assert getattr(request, field) == values.get(field), field


INPUTS = st.fixed_dictionaries(
    {"type": st.sampled_from(["input", "section"]) | A_LITTLE},
    optional={
        "block_id": st.sampled_from(FORM_BLOCKS) | A_LITTLE,
        "element": st.fixed_dictionaries(
            {},
            optional={
                "initial_value": A_LITTLE,
                "initial_option": st.fixed_dictionaries({"value": A_LITTLE}),
            },
        )
        | A_LITTLE,
    },
)


@FAST
@given(st.fixed_dictionaries({}, optional={"blocks": st.lists(INPUTS | A_LITTLE, max_size=5) | A_LITTLE}))
@example({"blocks": [{"type": "input", "block_id": "about", "element": {"initial_value": "Hi"}}]})
@example({"blocks": [{"type": "input", "element": {}}, {"type": "input", "block_id": "a", "element": "x"}]})
@example({"blocks": [{"type": "input", "block_id": "c", "element": {"initial_option": "OTHER"}}]})
@example({"blocks": "none"})
def test_what_a_modal_was_prefilled_with_is_read_from_any_blocks(view: dict[str, Any]) -> None:
    before = forms.initial_values_of(view)
    blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else []
    input_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"]
    assert all(block_id in input_ids for block_id in before)
    assert all(value is None or isinstance(value, str) for value in before.values())


# --- phone numbers --------------------------------------------------------------------------------------


@FAST
@given(
    odd_text(60)
    | st.builds(
        lambda prefix, digits, tail: prefix + digits + tail,
        st.sampled_from(["+", "00", "+ ", "＋", "", "0"]),
        st.text("0123456789 -()./", max_size=24)
        | st.text("٠١٢٣٤٥٦٧٨٩१२३४५६७८९０１２３４５６７８９", max_size=16),
        odd_text(6),
    )
)
@example("+91 98765 43210")
@example("+" + "9" * 300)
@example("+1 (631) 555-1000 ext. 12")
@example("+٩١ ٩٨٧٦٥ ٤٣٢١٠")
@example("\u202e+91 98765 43210")
def test_parse_phone_gives_a_valid_number_or_says_what_is_wrong(text: str) -> None:
    try:
        phone = parse_phone(text)
    except PhoneError as error:
        assert str(error)[0].isupper() and str(error).endswith(".")
        return
    assert isinstance(phone, Phone)
    assert E164_SHAPE.fullmatch(phone.e164)
    assert phone.e164 == phone.country_code + phone.national
    assert parse_phone(phone.e164) == phone  # a normalized number reads back as itself


# --- what the providers answer ----------------------------------------------------------------------------


# A body as Kaleyra (or a proxy in front of it) might answer: its envelope with anything inside, or not.
KALEYRA_ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "code": st.sampled_from([V2_SUCCESS, V1_SUCCESS, "WA400", "WA500", "E947", ""]) | ANYTHING,
        "message": odd_text(40) | ANYTHING,
        "data": ANYTHING,
        "error": st.dictionaries(
            st.sampled_from(["error", "parameter", "code", "message", "body", "payload", "name"])
            | odd_text(10),
            ANYTHING
            | st.fixed_dictionaries(
                {},
                optional={
                    "code": ANYTHING,
                    "parameter": st.sampled_from(["name", "name, wa_number", ","]) | ANYTHING,
                    "message": st.sampled_from(["a., b", "too long"]) | ANYTHING,
                },
            ),
            max_size=4,
        )
        | ANYTHING,
    },
)
KALEYRA_BODIES = st.one_of(KALEYRA_ENVELOPES.map(json.dumps), ANYTHING.map(json.dumps), odd_text(80))


@FAST
@given(
    st.sampled_from([200, 201, 400, 401, 404, 429, 500, 502, 503]) | st.integers(100, 599),
    KALEYRA_BODIES,
    st.none() | st.sampled_from(["0", "1.5", "nan", "inf", "-3", "1e999"]) | odd_text(10),
    st.sampled_from([V2_SUCCESS, V1_SUCCESS]),
)
@example(200, json.dumps({"code": "WA200", "data": "7654XXXXXXXXXX", "error": {}}), None, V2_SUCCESS)
@example(
    400, json.dumps({"code": "E947", "error": {"parameter": "a,b,c", "message": "x., y"}}), None, V1_SUCCESS
)
@example(400, json.dumps({"error": {"error": {"parameter": None, "code": [1]}}}), None, V2_SUCCESS)
@example(429, "<html>slow down</html>", "nan", V2_SUCCESS)
@example(500, "[" * 100_000, None, V2_SUCCESS)
def test_a_kaleyra_answer_is_its_envelope_or_a_provider_error(
    status: int, body: str, retry_after: str | None, success: str
) -> None:
    try:
        envelope = envelope_of(status, body, retry_after, success)
    except ProviderError as error:
        assert error.provider == "Kaleyra" and error.http_status == status
        assert isinstance(error.code, str) and error.code
        assert isinstance(error.message, str) and error.message
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in error.field_errors.items())
        assert error.retry_after is None or 0 <= error.retry_after < float("inf")
        str(error)  # what a thread shows
        return
    assert isinstance(envelope, KaleyraResponse) and envelope.code == success


@FAST
@given(ANYTHING)
@example([{"id": 7654}])
@example({"id": "", "phone_number_id": " 42 "})
@example({"id": True})
@example(10**4299)
@example([])
def test_the_phone_number_id_is_read_from_any_data_or_refused(data: Any) -> None:
    try:
        phone_number_id = phone_number_id_of(data)
    except ProviderError as error:
        assert error.provider == "Kaleyra" and error.code == V2_SUCCESS
        return
    assert isinstance(phone_number_id, str) and phone_number_id == phone_number_id.strip() and phone_number_id


@FAST
@given(
    st.sampled_from([200, 400, 401, 403, 404, 429, 500, 503]) | st.integers(100, 599),
    st.one_of(
        st.fixed_dictionaries(
            {
                "error": st.fixed_dictionaries(
                    {}, optional=dict.fromkeys(["message", "type", "code"], ANYTHING)
                )
            }
        ).map(json.dumps),
        ANYTHING.map(json.dumps),
        odd_text(80),
    ),
    st.none() | st.sampled_from(["0", "5", "²", "٣", "9" * 400]) | odd_text(10),
)
@example(429, json.dumps({"error": {"message": "slow", "type": "OAuthException", "code": 4}}), "²")
@example(200, json.dumps({"id": 1}), None)
@example(400, json.dumps({"error": {"message": "m", "type": "t", "code": 10**4299}}), None)
def test_a_meta_answer_is_the_new_id_or_a_provider_error(
    status: int, body: str, retry_after: str | None
) -> None:
    try:
        added = added_of(status, body, retry_after)
    except ProviderError as error:
        assert error.provider == "Meta" and error.http_status == status
        assert isinstance(error.code, str) and error.code
        assert isinstance(error.message, str)
        assert error.retry_after is None or 0 <= error.retry_after < float("inf")
        str(error)
        return
    assert status == 200 and isinstance(added, AddPhoneNumbersResponse) and isinstance(added.id, str)


# --- what a modal carries, and the intent keys -------------------------------------------------------------


@FAST
@given(private_metadata(channel="C0OPS", response_url="https://hooks.slack.com/commands/T0/1/x"))
@example(json.dumps({"channel": "C0OPS", "e164": "+919876543210", "number_id": 7}))
@example("not json")
@example("[]")
@example(json.dumps({"channel": 12}))
@example(json.dumps({"number_id": 1}))
@example(7)
def test_a_modal_s_context_is_read_or_refused_as_expired(metadata: Any) -> None:
    context = ModalContext.of({} if metadata is MISSING else {"private_metadata": metadata})
    if context is None:
        return
    assert isinstance(context.channel, str) and 1 <= len(context.channel) <= 32  # the store's channel_id
    assert context.e164 is None or re.fullmatch(r"\+[0-9]{6,18}", context.e164)
    assert ModalContext.of({"private_metadata": json.dumps(context.dump())}) == context


def test_the_bot_s_own_context_reads_back() -> None:
    context = ModalContext(channel="C0OPS", response_url="https://hooks.slack.com/x", e164="+919876543210")
    assert ModalContext.of({"private_metadata": json.dumps(context.dump())}) == context
    assert ModalContext.of({"private_metadata": "{"}) is None


@FAST
@given(st.dictionaries(st.sampled_from(["id", "hash", "type"]) | odd_text(8), ANYTHING, max_size=4))
@example({"id": "V" * 300, "hash": "h"})
def test_a_view_intent_is_short_text(view: Any) -> None:
    intent = view_intent(view)
    assert isinstance(intent, str) and intent.startswith("view:") and len(intent) <= 255


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "container": st.fixed_dictionaries(
                {}, optional=dict.fromkeys(["message_ts", "view_id"], ANYTHING)
            )
            | ANYTHING,
            "channel": st.fixed_dictionaries({}, optional={"id": ANYTHING}) | ANYTHING,
        },
    ),
    st.fixed_dictionaries({}, optional=dict.fromkeys(["action_id", "value"], ANYTHING)),
)
@example({"container": "C1", "channel": ["C1"]}, {"value": "x" * 1000})
def test_a_button_intent_is_short_text(body: Any, action: Any) -> None:
    intent = button_intent(body, action)
    assert isinstance(intent, str) and intent.startswith("button:") and len(intent) <= 255


@FAST
@given(
    st.fixed_dictionaries(
        {}, optional={"value": st.sampled_from(["1", "007", "2147483648", "-1"]) | ANYTHING}
    )
)
@example({"value": str(LARGEST_ROW_ID)})
@example({"value": "١٢"})
@example({"value": "9" * 30})
def test_a_button_names_a_row_the_store_can_hold_or_none(action: dict[str, Any]) -> None:
    row_id = row_id_of(action)
    assert row_id is None or (1 <= row_id <= LARGEST_ROW_ID and str(row_id) == action["value"].lstrip("0"))


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "user": st.sampled_from([{"id": "U0OPS"}, "U0OPS", {}]) | ANYTHING,
            "user_id": st.just("U0OPS") | ANYTHING,
            "channel": st.sampled_from([{"id": "C0OPS"}, "C0OPS", []]) | ANYTHING,
            "channel_id": st.just("C0OPS") | ANYTHING,
            "response_url": st.just("https://hooks.slack.com/x") | ANYTHING,
        },
    )
)
@example({"user": {"id": "U0OPS"}, "channel": "C0OPS"})
@example({"user": ["U0OPS"], "channel": {"id": 7}})
def test_who_sent_a_payload_is_read_from_any_body(body: dict[str, Any]) -> None:
    requester = requester_of(body)
    if requester is None:
        return
    assert all(isinstance(v, str) and v for v in (requester.user_id, requester.channel_id))
    assert requester.response_url is None or isinstance(requester.response_url, str)


@given(ANYTHING)
@example({"type": "rich_text", "elements": [{"type": "rich_text_list", "elements": [{"type": "text"}]}]})
def test_plain_text_of_reads_any_rich_text_as_text(value: Any) -> None:
    assert isinstance(forms.plain_text_of(value), str)


def test_plain_text_of_puts_each_section_and_list_item_on_its_own_line() -> None:
    def section(*parts: dict[str, Any]) -> dict[str, Any]:
        return {"type": "rich_text_section", "elements": list(parts)}

    value = {
        "type": "rich_text",
        "elements": [
            section({"type": "text", "text": "+91 98765 43210, Acme\n"}),
            {
                "type": "rich_text_list",
                "elements": [
                    section(
                        {"type": "text", "text": "+1 631 555 1000, "},
                        {"type": "link", "url": "https://acme.example"},
                    )
                ],
            },
            {
                "type": "rich_text_preformatted",
                "elements": [{"type": "text", "text": "+44 20 7946 0958\tAcme UK"}],
            },
        ],
    }
    assert forms.plain_text_of(value).splitlines() == [
        "+91 98765 43210, Acme",
        "+1 631 555 1000, https://acme.example",
        "+44 20 7946 0958\tAcme UK",
    ]


@given(
    odd_text(400, surrogates=True)
    | st.lists(st.sampled_from([*TYPICAL["numbers"], "", ",", '"', "\t"]), max_size=8).map("\n".join)
)
def test_bulk_lines_are_all_checked_or_refused_under_numbers(text: str) -> None:
    account = KaleyraAccount(name="kaleyra", sid="HX", api_key=SecretStr("k"), waba_id="W")
    try:
        lines = forms.bulk_lines(text, account)
    except forms.FormErrors as error:
        assert (
            set(error.errors) == {"numbers"} and 0 < len(error.errors["numbers"]) <= forms.BULK_ERRORS_LENGTH
        )
        return
    assert 0 < len(lines) <= 500
    assert len({line.e164 for line in lines}) == len(lines)
    for line in lines:
        assert E164_SHAPE.fullmatch(line.e164)
        AddPhoneNumberRequest.model_validate(line.request)
