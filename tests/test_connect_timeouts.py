"""A timeout is judged by how far the request went, on real sockets: none connected (nothing was sent, safe to
send again) or connected and sent with no answer (the provider may have acted).

aiohttp raises ConnectionTimeoutError only around its connector's connect, before a byte of the request is
written; a read timeout is its sibling SocketTimeoutError, and `total` running out is a plain TimeoutError.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import pytest
from conftest import running
from pydantic import SecretStr
from standins import SlackStandIn

from bot.accounts import KaleyraAccount, MetaAccount
from bot.lifecycle.states import State
from bot.providers.errors import Delivery, ProviderError
from bot.providers.kaleyra import KaleyraClient, KaleyraProvider
from bot.providers.meta import MetaClient
from bot.providers.requests import AddPhoneNumberRequest, AddPhoneNumbersRequest
from bot.settings import Settings

CONNECT = aiohttp.ClientTimeout(total=5, connect=0.3)
# No answer after the request went: `total` running out, and a read timeout (a ServerTimeoutError too).
AFTER_SENDING = [aiohttp.ClientTimeout(total=0.3, connect=2), aiohttp.ClientTimeout(total=5, sock_read=0.3)]


@contextmanager
def a_listener_that_never_accepts() -> Iterator[int]:
    """A port whose accept queue is full: Linux drops further SYNs, so a connect waits until its timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        queued: list[socket.socket] = []
        try:
            for _ in range(8):  # the queue holds backlog + 1 connections; the first refused one shows it full
                probe = socket.socket()
                probe.settimeout(0.2)
                try:
                    probe.connect(("127.0.0.1", port))
                except TimeoutError:
                    probe.close()
                    break
                queued.append(probe)
            else:
                pytest.fail("the accept queue never filled: this kernel does not drop SYNs on a full queue")
            yield port
        finally:
            for connection in queued:
                connection.close()


@asynccontextmanager
async def a_server_that_never_answers() -> AsyncIterator[tuple[int, list[bytes]]]:
    """Accepts, reads each request's head, and never writes a byte back; yields its port and the heads."""
    heads: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        await reader.read()  # until the client gives up and closes

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1]), heads
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


def kaleyra_add(session: aiohttp.ClientSession, port: int, timeout: aiohttp.ClientTimeout) -> Awaitable[Any]:
    account = KaleyraAccount(
        name="k", sid="HXSID", api_key=SecretStr("k-key"), waba_id="766", base_url=f"http://127.0.0.1:{port}"
    )
    request = AddPhoneNumberRequest(
        phone_number="9876543210", name="Acme", verification_type="SMS", country_code="+91"
    )
    return KaleyraClient(session, timeout).add_phone_number(account, request)


def meta_add(session: aiohttp.ClientSession, port: int, timeout: aiohttp.ClientTimeout) -> Awaitable[Any]:
    account = MetaAccount(
        name="m", business_id="1049", access_token=SecretStr("m-token"), graph_url=f"http://127.0.0.1:{port}"
    )
    return MetaClient(session, timeout).add_phone_number(
        account, AddPhoneNumbersRequest(phone_number="+16315551000")
    )


Call = Callable[[aiohttp.ClientSession, int, aiohttp.ClientTimeout], Awaitable[Any]]


async def refusal(call: Awaitable[Any]) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        await call
    return raised.value


@pytest.mark.parametrize("add", [kaleyra_add, meta_add], ids=["kaleyra", "meta"])
async def test_a_timeout_while_connecting_is_not_sent_and_one_after_sending_may_have_reached(
    add: Call,
) -> None:
    async with aiohttp.ClientSession() as session:
        # A connection that never opens: nothing was sent, so sending again is safe
        with a_listener_that_never_accepts() as port:
            error = await refusal(add(session, port, CONNECT))
        assert (error.code, error.delivery, error.retryable) == ("NETWORK", Delivery.NOT_SENT, True)
        assert "could not connect" in error.message and "0.3 s" in error.message

        # A connection that opens and takes the request, and no answer: the provider may have acted
        async with a_server_that_never_answers() as (port, heads):
            for timeout in AFTER_SENDING:
                error = await refusal(add(session, port, timeout))
                assert (error.code, error.delivery) == ("TIMEOUT", Delivery.UNANSWERED)
        assert len(heads) == len(AFTER_SENDING) and all(head.startswith(b"POST /") for head in heads)


async def test_an_add_that_cannot_connect_is_sent_again_and_ends_failed_not_unknown(
    settings_for: Callable[..., Settings], slack: SlackStandIn
) -> None:
    with a_listener_that_never_accepts() as port:
        settings = settings_for(kaleyra_base_url=f"http://127.0.0.1:{port}")
        async with running(settings, slack) as person:
            # Given Kaleyra's host takes no connection within the bot's 0.3 s
            person.bot.numbers.providers.kaleyra = KaleyraProvider(KaleyraClient(person.bot.session, CONNECT))

            # When the operator adds a number
            await person.command("/wa-add", "+91 98765 43210 Acme")
            status, _ = await person.submit(await person.opened_view("wa_add"), {})
            assert status == 200

            # Then, after the attempts the add's policy allows for a request that never left, it failed: the
            # thread says Kaleyra could not be reached, and the number may simply be added again
            reply = await slack.wait_for(
                "chat.postMessage", lambda c: "The add failed" in str(c.args.get("blocks")), timeout=10
            )
            text = str(reply.args["blocks"])
            assert "could not connect" in text and "could not be reached" in text and "unknown" not in text
            [number] = await person.bot.store.numbers_with("+919876543210")
            assert number.state == State.FAILED
            [operation] = await person.bot.store.history(number.id)
            assert (operation.outcome, operation.provider_code) == ("failed", "NETWORK")
            assert operation.response is not None and operation.response["delivery"] == "not_sent"
