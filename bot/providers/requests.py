"""The documented requests, one pydantic model per operation, named after the documents; field names are the
API's (and the modals' block_ids). The adapters send them; the forms, the use-cases and the dialects build them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
)


class Category(StrEnum):
    """The 17 business categories: v2 update codes, with the words Kaleyra v1 and people use."""

    AUTOMOTIVE = "AUTOMOTIVE"
    BEAUTY_SPA_SALON = "BEAUTY_SPA_SALON"
    CLOTHING_APPAREL = "CLOTHING_APPAREL"
    EDUCATION = "EDUCATION"
    ENTERTAINMENT = "ENTERTAINMENT"
    EVENT_PLANNING_SERVICE = "EVENT_PLANNING_SERVICE"
    FINANCE_AND_BANKING = "FINANCE_AND_BANKING"
    FOOD_GROCERY = "FOOD_GROCERY"
    PUBLIC_SERVICE = "PUBLIC_SERVICE"
    HOTEL_LODGING = "HOTEL_LODGING"
    MEDICAL_HEALTH = "MEDICAL_HEALTH"
    NON_PROFIT = "NON_PROFIT"
    PROFESSIONAL_SERVICES = "PROFESSIONAL_SERVICES"
    SHOPPING_RETAIL = "SHOPPING_RETAIL"
    TRAVEL_TRANSPORTATION = "TRAVEL_TRANSPORTATION"
    RESTAURANT = "RESTAURANT"
    OTHER = "OTHER"

    @property
    def words(self) -> str:
        return CATEGORY_WORDS[self]


CATEGORY_WORDS: dict[Category, str] = dict(
    zip(
        Category,
        [
            "Automotive",
            "Beauty, Spa, and Salon",
            "Clothing and Apparel",
            "Education",
            "Entertainment",
            "Event Planning and Service",
            "Finance and Banking",
            "Food and Grocery",
            "Public Service",
            "Hotel and Lodging",
            "Medical and Health",
            "Non-profit",
            "Professional Services",
            "Shopping and Retail",
            "Travel and Transportation",
            "Restaurant",
            "Other",
        ],
        strict=True,
    )
)


def category_from_words(text: str) -> Category | None:
    """The v1 document matches categories case-insensitively on their words; so do we."""
    wanted = text.strip().casefold()
    return next((c for c, words in CATEGORY_WORDS.items() if words.casefold() == wanted), None)


_HTTP_URL = TypeAdapter(HttpUrl)


def _web_address(text: str) -> str:
    """Checked as an http(s) URL, but sent as typed (pydantic's HttpUrl would add a trailing slash)."""
    _HTTP_URL.validate_python(text)
    return text


WebUrl = Annotated[str, AfterValidator(_web_address)]


# Kaleyra's requests (v2, and v1's add).
class AddPhoneNumberRequest(BaseModel):
    phone_number: str = Field(pattern=r"^\d{4,17}$")
    name: str = Field(min_length=1, max_length=255)
    verification_type: Literal["SMS", "VOICE"]
    country_code: str = Field(pattern=r"^\+\d{1,4}$")

    @property
    def e164(self) -> str:
        return f"{self.country_code}{self.phone_number}"

    def number_columns(self) -> dict[str, Any]:
        """What the add says about the number that the store keeps on it."""
        return {"display_name": self.name, "verification_type": self.verification_type}


class VerifyPhoneNumberRequest(BaseModel):
    id: str = Field(min_length=1)
    phone_number: str = Field(pattern=r"^\+\d{6,18}$")
    otp: SecretStr  # six digits, checked once at the door (bot/slack/forms.py), kept secret from there on


class RetryOtpRequest(BaseModel):
    id: str = Field(min_length=1)
    phone_number: str = Field(pattern=r"^\+\d{6,18}$")


class UpdatePhoneNumberRequest(BaseModel):
    phone_number: str = Field(pattern=r"^\+\d{6,18}$")
    address: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=256)
    incoming_url: WebUrl | None = None
    category: Category | None = None
    email: EmailStr | None = None
    about: str | None = Field(default=None, max_length=139)
    callback_profile_id: str | None = None
    outgoing_callback_profile_id: str | None = None


class AddWhatsAppNumberRequest(BaseModel):
    """Kaleyra v1 add; empty optional fields are left out of the body (an empty display_image is an error)."""

    display_name: str = Field(min_length=1)
    wa_number: str = Field(pattern=r"^\+\d{6,18}$")
    address: str | None = None
    incoming_url: WebUrl | None = None
    display_image: WebUrl | None = None
    business_description: str | None = None
    business_category: str | None = None
    contact_email: EmailStr | None = None
    website: WebUrl | None = None

    @property
    def e164(self) -> str:
        return self.wa_number

    def number_columns(self) -> dict[str, Any]:
        """What the add says about the number that the store keeps on it."""
        return {"display_name": self.display_name}


# Meta's request (Graph API).
class AddPhoneNumbersRequest(BaseModel):
    phone_number: str = Field(pattern=r"^\+\d{6,18}$")

    @property
    def e164(self) -> str:
        return self.phone_number

    def number_columns(self) -> dict[str, Any]:
        """What the add says about the number that the store keeps on it: nothing but the number."""
        return {}
