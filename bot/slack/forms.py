"""From a modal's state to the provider's request model, or to errors keyed by block_id in a person's words."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from bot.accounts import Account
from bot.lifecycle.bulk import MAX_LINES, Line
from bot.lifecycle.usecases import VerifyRequest
from bot.phone import Phone, PhoneError, parse_phone
from bot.providers.dialects import KALEYRA_V1, KALEYRA_V2, META, AddRequest, Dialect, dialect_of
from bot.providers.requests import (
    AddPhoneNumberRequest,
    AddPhoneNumbersRequest,
    AddWhatsAppNumberRequest,
    Category,
    UpdatePhoneNumberRequest,
    category_from_words,
)

OTP_SEPARATORS = re.compile(r"[\s-]")
M = TypeVar("M", bound=BaseModel)


class FormErrors(Exception):
    """block_id → what the person should fix; becomes `response_action: errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def values_of(state: Any) -> dict[str, str | None]:
    """`view.state.values` as block_id → the one value its element holds (text, selected option, …).

    Only Slack's shape is read: a part of any other shape (forged, or from a future Slack) reads as nothing typed.
    """
    blocks = state.get("values") if isinstance(state, dict) else None
    values: dict[str, str | None] = {}
    for block_id, actions in (blocks if isinstance(blocks, dict) else {}).items():
        for element in (actions if isinstance(actions, dict) else {}).values():
            element = element if isinstance(element, dict) else {}
            option = element.get("selected_option")
            raw = option.get("value") if isinstance(option, dict) else element.get("value")
            if "rich_text_value" in element:
                raw = plain_text_of(element["rich_text_value"])
            values[block_id] = raw.strip() if isinstance(raw, str) and raw.strip() else None
    return values


def plain_text_of(rich_text: Any) -> str:
    """What a person typed or pasted into a rich text input, as plain text: each section, list item and
    preformatted block on its own line(s). Parts of any other shape read as nothing."""
    if isinstance(rich_text, dict):
        kind = rich_text.get("type")
        if kind == "text" or kind == "link":
            text = rich_text.get("text") or rich_text.get("url")
            return text if isinstance(text, str) else ""
        if kind == "emoji":
            name = rich_text.get("name")
            return f":{name}:" if isinstance(name, str) else ""
        parts = [plain_text_of(part) for part in _list(rich_text.get("elements"))]
        if kind in ("rich_text", "rich_text_list"):
            return "\n".join(part.strip("\n") for part in parts)
        return "".join(parts)
    return ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _phone(values: dict[str, str | None], block_id: str, errors: dict[str, str]) -> Phone | None:
    try:
        return parse_phone(values.get(block_id) or "")
    except PhoneError as error:
        errors[block_id] = str(error)
        return None


def _build(
    model: type[M], fields: dict[str, Any], errors: dict[str, str], blocks: dict[str, str] | None = None
) -> M:
    """Validate `fields` into `model`; `blocks` renames request fields to the block that holds them."""
    try:
        built = model.model_validate(fields)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            field = str(item["loc"][0])
            errors.setdefault((blocks or {}).get(field, field), _in_words(item))
    if errors:
        raise FormErrors(errors)
    return built


def _in_words(item: Any) -> str:
    kind, context = item["type"], item.get("ctx", {})
    if kind == "string_too_long":
        length = len(item["input"]) if isinstance(item.get("input"), str) else 0
        return f"Keep this to {context['max_length']} characters or fewer (it has {length})."
    if kind in ("missing", "string_too_short"):
        return "This is required."
    if kind.startswith("url"):
        return "Enter a full web address starting with https://, like https://example.com/path."
    if kind == "value_error" and "email" in str(item.get("msg", "")).lower():
        return "Enter an email address like ops@example.com."
    if kind in ("enum", "literal_error"):
        return "Pick one of the options."
    return "This value is not accepted here."


def add_v2_request(values: dict[str, str | None]) -> AddPhoneNumberRequest:
    errors: dict[str, str] = {}
    phone = _phone(values, "phone_number", errors)
    fields = {
        "phone_number": phone.national if phone else "0000",
        "country_code": phone.country_code if phone else "+0",
        "name": values.get("name") or "",
        "verification_type": values.get("verification_type") or "",
    }
    return _build(AddPhoneNumberRequest, fields, errors, {"country_code": "phone_number"})


def add_v1_request(values: dict[str, str | None]) -> AddWhatsAppNumberRequest:
    errors: dict[str, str] = {}
    phone = _phone(values, "wa_number", errors)
    category = values.get("business_category")
    if category is not None:
        known = category_from_words(category) or (category in Category.__members__ and Category[category])
        if not known:
            errors["business_category"] = "Pick one of the 17 categories in the list."
        else:
            category = known.words
    fields = {
        **values,
        "wa_number": phone.e164 if phone else "+000000",
        "business_category": category,
        "display_name": values.get("display_name") or "",
    }
    fields.pop("account", None)
    return _build(AddWhatsAppNumberRequest, fields, errors)


def add_meta_request(values: dict[str, str | None]) -> AddPhoneNumbersRequest:
    errors: dict[str, str] = {}
    phone = _phone(values, "phone_number", errors)
    return _build(AddPhoneNumbersRequest, {"phone_number": phone.e164 if phone else "+000000"}, errors)


def keeps_form_open(account: Account) -> bool:
    """Whether an add on `account` keeps its form open until the provider answers (its refusals name the form's
    fields, shown under the fields where they were typed)."""
    return dialect_of(account).field_errors


def verify_request(values: dict[str, str | None], e164: str) -> VerifyRequest:
    """The OTP form's code (kept secret from here on) and, when the form asks for it, the phone number ID."""
    errors: dict[str, str] = {}
    otp, typed_id = "", None
    try:
        otp = otp_of(values)
    except FormErrors as error:
        errors.update(error.errors)
    if "id" in values:
        try:
            typed_id = phone_number_id_of(values)
        except FormErrors as error:
            errors.update(error.errors)
    if errors:
        raise FormErrors(errors)
    return VerifyRequest(phone_number=e164, otp=SecretStr(otp), id=typed_id)


def otp_of(values: dict[str, str | None]) -> str:
    """The six digits of `123456`, `123-456` or `123 456`."""
    typed = OTP_SEPARATORS.sub("", values.get("otp") or "")
    # Phones type other scripts' digits too (१२३४५६, １２３４５６): Kaleyra wants ASCII.
    digits = "".join(
        str(unicodedata.digit(c)) if unicodedata.digit(c, None) is not None else c for c in typed
    )
    if not re.fullmatch(r"[0-9]{6}", digits):
        raise FormErrors(
            {"otp": "Enter the six-digit code from the SMS or voice call, like 123456 or 123-456."}
        )
    return digits


def phone_number_id_of(values: dict[str, str | None]) -> str:
    value = values.get("id") or ""
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", value):
        raise FormErrors(
            {"id": "Enter the phone number ID Kaleyra returned when the number was added (digits)."}
        )
    return value


def update_request(values: dict[str, str | None], e164: str) -> UpdatePhoneNumberRequest:
    fields: dict[str, Any] = {name: value for name, value in values.items() if value is not None}
    fields.pop("account", None)
    fields["phone_number"] = e164
    return _build(UpdatePhoneNumberRequest, fields, {})


def initial_values_of(view: dict[str, Any]) -> dict[str, str | None]:
    """What each input of a modal was pre-filled with when it was shown (block_id → value)."""
    values: dict[str, str | None] = {}
    blocks = view.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        if (
            not isinstance(block, dict)
            or block.get("type") != "input"
            or not isinstance(block.get("block_id"), str)
        ):
            continue
        element = block["element"] if isinstance(block.get("element"), dict) else {}
        option = element.get("initial_option")
        raw = option.get("value") if isinstance(option, dict) else element.get("initial_value")
        values[block["block_id"]] = raw if isinstance(raw, str) else None
    return values


BULK_FIELDS = {
    "phone_number": "number",
    "wa_number": "number",
    "name": "display name",
    "display_name": "display name",
    "verification_type": "SMS or VOICE",
}
BULK_ERRORS_LENGTH = 1800  # what fits under a modal field without being cut


def _cells(raw: str) -> list[str]:
    """One pasted line's cells: tab-separated (copied cells), `;` (some locales' CSV) or `,`, quotes honoured."""
    delimiter = "\t" if "\t" in raw else ";" if ";" in raw and "," not in raw else ","
    cells = next(csv.reader([raw], delimiter=delimiter, skipinitialspace=True), [])
    while cells and not cells[-1].strip():  # spreadsheets pad rows with empty cells
        cells.pop()
    return [cell.strip() for cell in cells]


def bulk_lines(text: str, account: Account) -> list[Line]:
    """Every pasted line, checked as a single add of it on `account` would be, and for numbers repeated in the
    batch; FormErrors under `numbers` naming each bad line when any is wrong (then nothing may be sent)."""
    rows = [(n, _cells(raw)) for n, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1) if raw.strip()]
    if rows and not re.search(r"[0-9]", rows[0][1][0] if rows[0][1] else ""):
        rows = rows[1:]  # a spreadsheet's header row: number, name, …
    if not rows:
        raise FormErrors({"numbers": "Paste at least one line: number, display name[, SMS|VOICE]."})
    if len(rows) > MAX_LINES:
        raise FormErrors({"numbers": f"Paste at most {MAX_LINES} lines at a time (this has {len(rows)})."})
    problems: list[str] = []
    lines: list[Line] = []
    first_line_of: dict[str, int] = {}
    for n, cells in rows:
        if len(cells) > 3:
            problems.append(
                f"Line {n}: expected number, display name[, SMS|VOICE]; found {len(cells)} columns."
            )
            continue
        number, name, via = [*cells, "", "", ""][:3]
        try:
            request = _bulk_request(account, number, name, via.upper() or "SMS")
        except FormErrors as error:
            problems += [f"Line {n} ({BULK_FIELDS.get(k, k)}): {words}" for k, words in error.errors.items()]
            continue
        e164 = request.e164
        if e164 in first_line_of:
            problems.append(f"Line {n}: {e164} is already on line {first_line_of[e164]}.")
            continue
        first_line_of[e164] = n
        lines.append(Line(n, e164, request.model_dump(mode="json", exclude_none=True)))
    if problems:
        raise FormErrors({"numbers": problems_in_words(problems)})
    return lines


def problems_in_words(problems: list[str]) -> str:
    """One problem per line, as many as fit under the field, then how many more."""
    shown: list[str] = []
    for index, problem in enumerate(problems):
        more = len(problems) - index
        if sum(len(p) + 1 for p in shown) + len(problem) > BULK_ERRORS_LENGTH - 40:
            shown.append(f"…and {more} more {'problem' if more == 1 else 'problems'}.")
            break
        shown.append(problem)
    return "\n".join(shown)


def _bulk_request(account: Account, number: str, name: str, via: str) -> AddRequest:
    """One pasted line as the add form of the account's kind would have read it."""
    if via not in ("SMS", "VOICE"):
        raise FormErrors(
            {"verification_type": f"Write SMS or VOICE (or leave it out for SMS), not `{via[:20]}`."}
        )
    dialect = dialect_of(account)
    values: dict[str, str | None] = {dialect.number_field: number}
    if dialect.name_field is not None:
        values[dialect.name_field] = name or None
    if any(field.kind == "via" for field in dialect.add_fields):
        values["verification_type"] = via
    return add_request(account, values)


def add_request(account: Account, values: dict[str, str | None]) -> AddRequest:
    """The add request the form of `account`'s kind was filled in for; FormErrors by block_id if it breaks a rule."""
    return _READERS[dialect_of(account)](values)


def number_block(account: Account) -> str:
    """The block_id of the add form's phone number field."""
    return dialect_of(account).number_field


_READERS: dict[Dialect, Callable[[dict[str, str | None]], AddRequest]] = {
    KALEYRA_V2: add_v2_request,
    KALEYRA_V1: add_v1_request,
    META: add_meta_request,
}
