"""Every sample response body from the Kaleyra and Meta documents, verbatim: what the sandbox answers with,
and what the tests' stand-ins answer with (tests/test_standins.py checks them against tests/vendor/api-docs)."""

from typing import Any

# --- Kaleyra v2: Add Phone Number (POST /v2/{sid}/whatsapp/{waba_id}/number/add) ---

V2_ADD_OK: dict[str, Any] = {
    "code": "WA200",
    "message": "Request Processed Successfully",
    "data": "7654XXXXXXXXXX",
    "error": {},
}

V2_ADD_FAILURES: dict[str, dict[str, Any]] = {
    "incorrect_sid_or_key": {
        "code": "RBC001",
        "message": "Incorrect SID or API key.",
        "data": [],
        "error": {"body": "Incorrect SID or API key.", "error": "record not found"},
    },
    "waba_not_found": {
        "code": "WA401",
        "message": "Waba_id is not present or does not belong to the account.",
        "data": {},
        "error": {"waba_id": "Waba_id is not present or does not belong to the account."},
    },
    "payload_format": {
        "code": "WA400",
        "message": "Refer to correct payload format",
        "data": {},
        "error": {"payload": "Incorrect payload format"},
    },
    "already_exists": {
        "code": "WA400",
        "message": "phone number already exists",
        "data": [],
        "error": {"phone_number": "phone number already exists"},
    },
    "verification_type_required": {
        "code": "WA400",
        "message": (
            "key: 'cloudapinumberaddrequest.verification_type' error:field validation for "
            "'verification_type' failed on the 'required' tag"
        ),
        "data": [],
        "error": {
            "verification_type": (
                "key: 'cloudapinumberaddrequest.verification_type' error:field validation for "
                "'verification_type' failed on the 'required' tag"
            )
        },
    },
    # Documented with two field errors: the missing name and an already existing number.
    "name_required": {
        "code": "WA400",
        "message": (
            "key: 'cloudapinumberaddrequest.name' error:field validation for 'name' failed on the "
            "'required' tag"
        ),
        "data": [],
        "error": {
            "name": (
                "key: 'cloudapinumberaddrequest.name' error:field validation for 'name' failed on the "
                "'required' tag"
            ),
            "phone_number": "phone number already exists",
        },
    },
    "waba_id_required": {
        "code": "WA400",
        "message": (
            "key: 'cloudapinumberaddrequest.waba_id' error:field validation for 'waba_id' failed on the "
            "'required' tag"
        ),
        "data": [],
        "error": {
            "waba_id": (
                "key: 'cloudapinumberaddrequest.waba_id' error:field validation for 'waba_id' failed on the "
                "'required' tag"
            )
        },
    },
    "name_too_long": {
        "code": "WA400",
        "message": "phone number name exceeds 255 characters",
        "data": [],
        "error": {"name": "phone number name exceeds 255 characters"},
    },
    "too_short": {
        "code": "WA500",
        "message": "the string supplied is too short to be a phone number",
        "data": [],
        "error": {"error": "the string supplied is too short to be a phone number"},
    },
    "try_later": {
        "code": "WA500",
        "message": "Please try again later",
        "data": {},
        "error": {"error": "Internal server error"},
    },
}

# --- Kaleyra v2: Verify Phone Number (POST /v2/{sid}/whatsapp/{waba_id}/number/verify) ---

V2_VERIFY_OK: dict[str, Any] = {
    "code": "WA200",
    "message": "Request Processed Successfully",
    "data": "7654XXXXXXXXXX",
    "error": {},
}

V2_VERIFY_FAILURES: dict[str, dict[str, Any]] = {
    "incorrect_sid_or_key": {
        "code": "RBC001",
        "message": "Incorrect SID or API key.",
        "data": [],
        "error": {"body": "Incorrect SID or API key.", "error": "record not found"},
    },
    "waba_not_found": {
        "code": "WA401",
        "message": "Waba_id is not present or does not belong to the account.",
        "data": {},
        "error": {"waba_id": "Waba_id is not present or does not belong to the account."},
    },
    "payload_format": {
        "code": "WA400",
        "message": "Refer to correct payload format",
        "data": {},
        "error": {"payload": "Incorrect payload format"},
    },
    "incorrect_otp_format": {
        "code": "WA400",
        "message": "Incorrect OTP format",
        "data": {},
        "error": {"error": "Incorrect OTP format"},
    },
    "invalid_phone_number": {
        "code": "WA400",
        "message": "invalid phone number",
        "data": [],
        "error": {"phone_number": "invalid phone number"},
    },
    "already_approved": {
        "code": "WA500",
        "message": "wa phone number already approved",
        "data": [],
        "error": {"error": "wa phone number already approved"},
    },
    "try_later": {
        "code": "WA500",
        "message": "Please try again later",
        "data": {},
        "error": {"error": "Internal server error"},
    },
}

# --- Kaleyra v2: Update Phone Number Details (PUT /v2/{sid}/whatsapp/{waba_id}/number/update) ---

V2_UPDATE_OK: dict[str, Any] = {
    "code": "WA200",
    "message": "Request Processed Successfully",
    "data": 1,
    "error": {},
}

_V2_UPDATE_CATEGORY_ERROR = (
    "business_catregory value is invalid. Valid values are : AUTOMOTIVE, BEAUTY_SPA_SALON, "
    "CLOTHING_APPAREL, EDUCATION, ENTERTAINMENT, EVENT_PLANNING_SERVICE, FINANCE_AND_BANKING, FOOD_GROCERY, "
    "PUBLIC_SERVICE, HOTEL_LODGING, MEDICAL_HEALTH, NON_PROFIT, PROFESSIONAL_SERVICES, SHOPPING_RETAIL, "
    "TRAVEL_TRANSPORTATION, RESTAURANT, OTHER"
)

V2_UPDATE_FAILURES: dict[str, dict[str, Any]] = {
    "incorrect_sid_or_key": {
        "code": "RBC001",
        "message": "Incorrect SID or API key.",
        "data": [],
        "error": {"body": "Incorrect SID or API key.", "error": "record not found"},
    },
    "waba_not_found": {
        "code": "WA401",
        "message": "Waba_id is not present or does not belong to the account.",
        "data": {},
        "error": {"waba_id": "Waba_id is not present or does not belong to the account."},
    },
    "phone_number_not_found": {
        "code": "E112",
        "message": "invalid Phone Number or Phone Number Not Found",
        "data": [],
        "error": {},
    },
    "invalid_phone_number": {
        "code": "WA400",
        "message": "please provide valid phone_number",
        "data": {},
        "error": {"error": "please provide valid phone_number"},
    },
    "invalid_email": {
        "code": "WA400",
        "message": "invalid email format",
        "data": {},
        "error": {"error": "invalid email format"},
    },
    "description_too_long": {
        "code": "WA400",
        "message": "description exceeds maximum character limit of 256 characters",
        "data": {},
        "error": {"error": "description exceeds maximum character limit of 256 characters"},
    },
    "address_too_long": {
        "code": "WA400",
        "message": "address exceeds maximum character limit of 256 characters",
        "data": {},
        "error": {"error": "address exceeds maximum character limit of 256 characters"},
    },
    "about_too_long": {
        "code": "WA400",
        "message": "about info exceeds maximum character limit of 139 characters",
        "data": {},
        "error": {"error": "about info exceeds maximum character limit of 139 characters"},
    },
    # The document's message really ends with a space.
    "payload_format": {
        "code": "WA400",
        "message": "Refer to correct payload format ",
        "data": {},
        "error": {"payload": "Incorrect payload format"},
    },
    "invalid_category": {
        "code": "WA400",
        "message": _V2_UPDATE_CATEGORY_ERROR,
        "data": {},
        "error": {"error": _V2_UPDATE_CATEGORY_ERROR},
    },
    "try_later": {
        "code": "WA500",
        "message": "Please try again later",
        "data": {},
        "error": {"error": "Internal server error"},
    },
}

# --- Kaleyra v2: retry OTP (undocumented here; assumed to answer like Add Phone Number) ---

V2_RETRY_OTP_OK: dict[str, Any] = {
    "code": "WA200",
    "message": "Request Processed Successfully",
    "data": "7654XXXXXXXXXX",
    "error": {},
}

# --- Kaleyra v1: Add WhatsApp Number (POST /v1/{sid}/whatsapp/number) ---

# The document shows placeholders for incoming_url, profile_image and created_at; those three are
# concrete stand-ins. Everything else, including the email "[email protected]" (with a no-break space),
# is as documented.
V1_ADD_OK: dict[str, Any] = {
    "code": "I102",
    "message": "Phone Number created successfully.",
    "data": [
        {
            "company_id": "ZXXX932d",
            "phone_number": "+13236xxxxx7",
            "country": "ahmedabad local, gujarat",
            "iso_code": "IN",
            "status": 2,
            "description": "business description",
            "address": "my address",
            "email": "[email\u00a0protected]",  # a no-break space, as in the document
            "name": "xyz",
            "website": ["https://google.com/testing"],
            "incoming_url": "https://example.com/incoming",
            "category": "Medical and Health",
            "profile_image": "https://example.com/logo.jpg",
            "meta_value": None,
            "created_by": "125XXX2647",
            "created_at": 1620385490,
            "id": 102,
            "notFirstRequest": 1,
        }
    ],
    "error": {},
}

V1_ADD_FAILURES: dict[str, dict[str, Any]] = {
    "required": {
        "code": "E947",
        "message": "Failed to create new WA number.",
        "data": [],
        "error": {
            "code": "E413",
            "type": "VALIDATION_ERROR",
            "parameter": "display_name,wa_number",
            "message": (
                "display_name is required and cannot be empty.,"
                "wa_number field is required and cannot be empty."
            ),
            "reference": "",
        },
    },
    "invalid_category": {
        "code": "E947",
        "message": "Failed to create new WA number.",
        "data": [],
        "error": {
            "code": "E413",
            "type": "VALIDATION_ERROR",
            "parameter": "business_category",
            "message": (
                "business_catregory value is invalid. Valid values are: Automotive,Beauty, Spa, and Salon,"
                "Clothing and Apparel,Education,Entertainment,Event Planning and Service,Finance and Banking,"
                "Food and Grocery,Public Service,Hotel and Lodging,Medical and Health,Non-profit,"
                "Professional Services,Shopping and Retail,Travel and Transportation,Restaurant,Other"
            ),
            "reference": "",
        },
    },
    # Documented without code, message or data: only the error object.
    "empty_display_image": {
        "error": {
            "code": "E962",
            "type": "VALIDATION_ERROR",
            "parameter": "display_image",
            "message": "display_image cannot be empty",
            "reference": "",
        }
    },
}

# --- Meta Graph: POST /{version}/{business_id}/add_phone_numbers ---

META_ADD_OK: dict[str, Any] = {"id": "1234567890123456"}

# The document gives only the GraphAPIError schema; these values are realistic inventions.
META_ERRORS: dict[int, dict[str, Any]] = {
    400: {
        "error": {
            "message": "(#100) Invalid parameter",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 2388001,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr400",
            "is_transient": False,
            "error_user_title": "Phone number already registered",
            "error_user_msg": (
                "This phone number is already registered to another WhatsApp Business Account. "
                "Remove it from that account before adding it here."
            ),
        }
    },
    401: {
        "error": {
            "message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 467,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr401",
            "is_transient": False,
            "error_user_title": "Invalid access token",
            "error_user_msg": "The access token is invalid or has expired. Generate a new system user token.",
        }
    },
    403: {
        "error": {
            "message": "(#200) Requires whatsapp_business_management permission to manage the object",
            "type": "OAuthException",
            "code": 200,
            "error_subcode": 2494049,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr403",
            "is_transient": False,
            "error_user_title": "Permission missing",
            "error_user_msg": (
                "The app needs the whatsapp_business_management permission on this WhatsApp Business Account."
            ),
        }
    },
    404: {
        "error": {
            "message": (
                "Unsupported post request. Object with ID '102290129340398' does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation. Please read the Graph API "
                "documentation at https://developers.facebook.com/docs/graph-api"
            ),
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr404",
            "is_transient": False,
            "error_user_title": "Business not found",
            "error_user_msg": "The WhatsApp Business Account does not exist or this app cannot access it.",
        }
    },
    422: {
        "error": {
            "message": "(#131009) Parameter value is not valid",
            "type": "OAuthException",
            "code": 131009,
            "error_subcode": 2494010,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr422",
            "is_transient": False,
            "error_user_title": "Phone number not valid",
            "error_user_msg": "The phone number is not a valid E.164 number that can receive SMS.",
        }
    },
    429: {
        "error": {
            "message": (
                "(#80008) There have been too many calls to this WhatsApp Business account. "
                "Wait a bit and try again."
            ),
            "type": "OAuthException",
            "code": 80008,
            "error_subcode": 2446079,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr429",
            "is_transient": True,
            "error_user_title": "Too many requests",
            "error_user_msg": "Too many calls to this WhatsApp Business Account. Wait a few minutes.",
        }
    },
    500: {
        "error": {
            "message": "An unknown error occurred",
            "type": "OAuthException",
            "code": 1,
            "error_subcode": 99,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQr500",
            "is_transient": True,
            "error_user_title": "Something went wrong",
            "error_user_msg": "Meta could not process the request. Try again in a few minutes.",
        }
    },
}

# Only the three required GraphAPIError fields.
META_MINIMAL_ERROR: dict[str, Any] = {
    "error": {
        "message": "An unexpected error has occurred. Please retry your request later.",
        "type": "OAuthException",
        "code": 2,
    }
}
