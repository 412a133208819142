"""The kinds of account (Kaleyra v2, Kaleyra v1, Meta), decided once: what each adds a number with, which form
fields (and limits) that takes, and what else the kind can do. The rest of the bot asks the account's dialect
rather than its type; a new kind is one row here and one adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from annotated_types import MaxLen
from pydantic import BaseModel

from bot.accounts import Account, MetaAccount
from bot.providers.requests import (
    AddPhoneNumberRequest,
    AddPhoneNumbersRequest,
    AddWhatsAppNumberRequest,
    UpdatePhoneNumberRequest,
)

AddRequest = AddPhoneNumberRequest | AddWhatsAppNumberRequest | AddPhoneNumbersRequest
# A phone field holds the number as people paste it (`+1 (631) 555-1000`), longer than its digits.
PHONE_INPUT_LIMIT = 32
# Kaleyra documents no limits for these free-text fields; the forms keep them to the v2 profile's.
PROFILE_TEXT_LIMIT = 256

FieldKind = Literal["phone", "text", "long_text", "url", "email", "category", "via"]


@dataclass(frozen=True)
class FormField:
    """One input of a form: its block_id (the API field it fills), label, kind, and limit."""

    block_id: str
    label: str
    kind: FieldKind = "text"
    optional: bool = False
    limit: int | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Dialect:
    """What one kind of account adds with and can do."""

    name: str  # as a person reads it
    add_request: type[AddRequest]
    number_field: str  # the add form's phone number block (the API's field for the number)
    name_field: str | None  # the add form's display name block, if the kind takes one
    add_fields: tuple[FormField, ...]
    update_fields: tuple[FormField, ...]  # the business profile fields an update can set; none: no update
    bulk_line: str  # what one line of a bulk add holds, in words
    verifies: bool  # a code is checked through wa-bot (verify, resend)
    offers_resend: bool  # the thread offers Resend while a code is awaited
    awaits_code: bool  # a successful add sends a code to the number
    field_errors: bool = False  # the add's refusals name the form's fields (shown where they were typed)
    add_intro: str = ""  # what the add form says first; `{account.…}` names the chosen account's fields

    @property
    def updates(self) -> bool:
        """The business profile can be updated through wa-bot."""
        return bool(self.update_fields)


def limit_of(model: type[BaseModel], field: str) -> int | None:
    """The max_length the request model gives `field`, if any: the form keeps to the API's own limit."""
    for rule in model.model_fields[field].metadata:
        if isinstance(rule, MaxLen):
            return rule.max_length
    return None


NUMBER_HINT = "With its country code; spaces, dashes and brackets are fine."


def _phone(block_id: str, label: str) -> FormField:
    return FormField(block_id, label, "phone", limit=PHONE_INPUT_LIMIT, hint=NUMBER_HINT)


def _update_fields(*, incoming_url: bool, callback_profile: bool) -> tuple[FormField, ...]:
    """The profile fields an update sends: the same endpoint for both, with one field apart for each version."""
    model = UpdatePhoneNumberRequest
    fields = [
        FormField("address", "Address", optional=True, limit=limit_of(model, "address")),
        FormField("description", "Description", "long_text", True, limit_of(model, "description")),
    ]
    if incoming_url:
        hint = "Applies to v1 numbers: where incoming messages go."
        fields.append(FormField("incoming_url", "Incoming URL", "url", True, hint=hint))
    fields += [
        FormField("category", "Category", "category", True),
        FormField("email", "Email", "email", True),
        FormField("about", "About", optional=True, limit=limit_of(model, "about")),
    ]
    if callback_profile:
        fields.append(FormField("callback_profile_id", "Callback profile ID (incoming)", "text", True, 64))
    fields.append(FormField("outgoing_callback_profile_id", "Outgoing callback profile ID", "text", True, 64))
    return tuple(fields)


KALEYRA_V2 = Dialect(
    name="Kaleyra v2",
    add_request=AddPhoneNumberRequest,
    number_field="phone_number",
    name_field="name",
    add_fields=(
        _phone("phone_number", "Phone number"),
        FormField("name", "Display name", limit=limit_of(AddPhoneNumberRequest, "name")),
        FormField("verification_type", "Send the OTP by", "via"),
    ),
    update_fields=_update_fields(incoming_url=False, callback_profile=True),
    bulk_line="number, display name, SMS or VOICE",
    verifies=True,
    offers_resend=True,
    awaits_code=True,
)

KALEYRA_V1 = Dialect(
    name="Kaleyra v1",
    add_request=AddWhatsAppNumberRequest,
    number_field="wa_number",
    name_field="display_name",
    add_fields=(
        FormField("display_name", "Display name", limit=limit_of(AddPhoneNumberRequest, "name")),
        _phone("wa_number", "WhatsApp number"),
        FormField("address", "Address", optional=True, limit=PROFILE_TEXT_LIMIT),
        FormField(
            "incoming_url", "Incoming URL", "url", True, hint="Where Kaleyra sends incoming messages for this number."
        ),
        FormField("display_image", "Display image URL", "url", True),
        FormField("business_description", "Business description", "long_text", True, PROFILE_TEXT_LIMIT),
        FormField("business_category", "Business category", "category", True),
        FormField("contact_email", "Contact email", "email", True),
        FormField("website", "Website", "url", True),
    ),
    update_fields=_update_fields(incoming_url=True, callback_profile=False),
    bulk_line="number, display name",
    verifies=True,
    offers_resend=False,
    awaits_code=False,
    field_errors=True,
)  # fmt: skip

META = Dialect(
    name="Meta",
    add_request=AddPhoneNumbersRequest,
    number_field="phone_number",
    name_field=None,
    add_fields=(_phone("phone_number", "Phone number"),),
    update_fields=(),
    bulk_line="number",
    verifies=False,
    offers_resend=False,
    awaits_code=False,
    add_intro="Adds a pre-verified number to Meta business `{account.business_id}`.",
)


def dialect_of(account: Account) -> Dialect:
    """The one place the account's kind is decided."""
    if isinstance(account, MetaAccount):
        return META
    return KALEYRA_V1 if account.api_version == "v1" else KALEYRA_V2
