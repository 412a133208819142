"""The async Meta Graph API adapter for `add_phone_numbers`, with retries for rate limits and transient errors."""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from bot.accounts import MetaAccount
from bot.providers.errors import ProviderError

NEVER_RETRIED = {400, 401, 403, 404, 422}


class AddPhoneNumbersRequest(BaseModel):
    phone_number: str = Field(pattern=r"^\+\d{6,18}$")


class AddPhoneNumbersResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str


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


def _should_retry(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.retryable


class MetaClient:
    """Calls the Graph API over the process's one aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        timeout: aiohttp.ClientTimeout | None = None,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
    ) -> None:
        self._session = session
        self._timeout = timeout or aiohttp.ClientTimeout(total=20, connect=5)
        self._attempts = attempts
        self._backoff = backoff_seconds

    async def add_phone_number(
        self, account: MetaAccount, request: AddPhoneNumbersRequest
    ) -> AddPhoneNumbersResponse:
        """Add a pre-verified number to the business; 429 and transient errors are retried with jittered backoff."""
        url = f"{account.graph_url.rstrip('/')}/{account.api_version}/{account.business_id}/add_phone_numbers"
        retrying = AsyncRetrying(
            retry=retry_if_exception(_should_retry),
            wait=wait_random_exponential(multiplier=self._backoff, max=30),
            stop=stop_after_attempt(self._attempts),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post(account, url, request.model_dump())
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _post(self, account: MetaAccount, url: str, payload: dict[str, Any]) -> AddPhoneNumbersResponse:
        headers = {"Authorization": f"Bearer {account.access_token.get_secret_value()}"}
        try:
            async with self._session.post(
                url, json=payload, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = await response.text()
        except TimeoutError:
            total = self._timeout.total
            raise ProviderError("Meta", "TIMEOUT", f"no answer within {total:g} s", retryable=True) from None
        except aiohttp.ClientError as error:
            raise ProviderError(
                "Meta", "NETWORK", f"could not reach the Graph API ({type(error).__name__})", retryable=True
            ) from None
        if status == 200:
            try:
                return AddPhoneNumbersResponse.model_validate_json(text)
            except ValidationError:
                raise ProviderError(
                    "Meta", "NO_ID", "answered 200 without the new number's id", http_status=200
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
            ) from None
        retryable = status not in NEVER_RETRIED and (
            status == 429 or status >= 500 or bool(graph.is_transient)
        )
        raise ProviderError(
            provider="Meta",
            code=str(graph.code),
            message=graph.message,
            http_status=status,
            retryable=retryable,
            user_title=graph.error_user_title,
            user_message=graph.error_user_msg,
            subcode=graph.error_subcode,
            trace_id=graph.fbtrace_id,
        )
