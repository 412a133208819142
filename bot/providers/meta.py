"""The async Meta Graph API adapter for `add_phone_numbers`; whether to try again is the lifecycle's call."""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.accounts import MetaAccount
from bot.providers.base import LONGEST_ID, Added
from bot.providers.errors import Delivery, ProviderError, connect_seconds, seconds_to_wait
from bot.providers.requests import AddPhoneNumbersRequest

NEVER_RETRIED = {400, 401, 403, 404, 422}


class AddPhoneNumbersResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=LONGEST_ID)

    @field_validator("id", mode="before")
    @classmethod
    def _numeric_id_as_text(cls, value: Any) -> Any:
        """The Graph API's IDs are strings, but a JSON number is the same ID (a JSON true is none)."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class GraphError(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str
    type: str
    code: int
    error_subcode: int | None = None
    fbtrace_id: str | None = None
    is_transient: bool | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None


class GraphAPIError(BaseModel):
    error: GraphError


class MetaClient:
    """Calls the Graph API over the process's one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout | None = None) -> None:
        self._session = session
        self._timeout = timeout or aiohttp.ClientTimeout(total=20, connect=5)

    async def add_phone_number(
        self, account: MetaAccount, request: AddPhoneNumbersRequest
    ) -> AddPhoneNumbersResponse:
        """Add a pre-verified number to the business."""
        url = f"{account.graph_url.rstrip('/')}/{account.api_version}/{account.business_id}/add_phone_numbers"
        return await self._post(account, url, request.model_dump())

    async def _post(self, account: MetaAccount, url: str, payload: dict[str, Any]) -> AddPhoneNumbersResponse:
        headers = {"Authorization": f"Bearer {account.access_token.get_secret_value()}"}
        try:
            async with self._session.post(
                url, json=payload, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = await response.text()
                retry_after = response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as error:  # no connection: the request never left
            message = f"could not reach the Graph API ({type(error).__name__})"
            raise ProviderError(
                "Meta", "NETWORK", message, retryable=True, delivery=Delivery.NOT_SENT
            ) from None
        except aiohttp.ConnectionTimeoutError:  # raised only while connecting: nothing was sent
            message = f"could not connect to the Graph API within {connect_seconds(self._timeout)}"
            raise ProviderError(
                "Meta", "NETWORK", message, retryable=True, delivery=Delivery.NOT_SENT
            ) from None
        except TimeoutError:  # after sending, or `total` ran out while connecting: it may have gone
            total = self._timeout.total
            raise ProviderError(
                "Meta",
                "TIMEOUT",
                f"no answer within {total:g} s",
                retryable=True,
                delivery=Delivery.UNANSWERED,
            ) from None
        except aiohttp.ClientError as error:  # reset or cut mid-way: Meta may have acted
            message = f"lost the connection to the Graph API ({type(error).__name__})"
            raise ProviderError(
                "Meta", "NETWORK", message, retryable=True, delivery=Delivery.UNANSWERED
            ) from None
        return added_of(status, text, retry_after)


def added_of(status: int, text: str, retry_after: str | None) -> AddPhoneNumbersResponse:
    """The new number's id from a 200; otherwise the ProviderError the answer means."""
    # A 5xx may come after Meta acted; a 429 means it did nothing and asks us to wait.
    delivery = Delivery.UNANSWERED if status >= 500 else Delivery.ANSWERED
    wait = seconds_to_wait(retry_after, 0.0) if status == 429 else None
    if status == 200:
        try:
            return AddPhoneNumbersResponse.model_validate_json(text)
        except ValidationError:  # Meta may have added the number: the outcome is unknown
            raise ProviderError(
                "Meta",
                "NO_ID",
                "answered success (HTTP 200) without the new number's id: check before retrying",
                http_status=200,
                delivery=Delivery.UNCLEAR,
            ) from None
    try:
        graph = GraphAPIError.model_validate_json(text).error
    except ValidationError:
        retryable = status == 429 or status >= 500
        raise ProviderError(
            "Meta",
            f"HTTP {status}",
            "answered without a Graph API error body",
            http_status=status,
            retryable=retryable,
            delivery=delivery,
            retry_after=wait,
        ) from None
    retryable = status not in NEVER_RETRIED and (status == 429 or status >= 500 or bool(graph.is_transient))
    raise ProviderError(
        provider="Meta",
        code=str(graph.code),
        message=graph.message,
        http_status=status,
        retryable=retryable,
        delivery=delivery,
        retry_after=wait,
        user_title=graph.error_user_title,
        user_message=graph.error_user_msg,
        subcode=graph.error_subcode,
        trace_id=graph.fbtrace_id,
    )


class MetaProvider:
    """Meta behind the Provider interface: adds only (numbers are pre-verified; profiles live elsewhere)."""

    name = "Meta"

    def __init__(self, client: MetaClient) -> None:
        self.client = client

    async def add(self, account: Any, request: Any) -> Added:
        assert isinstance(account, MetaAccount) and isinstance(request, AddPhoneNumbersRequest)
        added = await self.client.add_phone_number(account, request)
        return Added("Meta", added.id, "HTTP 200", added.model_dump())

    async def verify(self, account: Any, request: Any) -> None:
        raise ProviderError("Meta", "UNSUPPORTED", "Meta numbers are pre-verified: there is no code to check")

    async def update(self, account: Any, request: Any) -> None:
        raise ProviderError("Meta", "UNSUPPORTED", "Meta numbers' profiles are managed in WhatsApp Manager")

    async def resend(self, account: Any, request: Any) -> str | None:
        raise ProviderError("Meta", "UNSUPPORTED", "Meta numbers are pre-verified: there is no code to send")
