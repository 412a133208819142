"""Proof that the Slack, Kaleyra and Meta stand-ins behave as the tests that use them expect."""

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from standins import KaleyraStandIn, MetaStandIn, SlackStandIn
from standins import documented as doc

API_DOCS = Path(__file__).resolve().parent / "vendor" / "api-docs"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Number added*"}}]


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(usergroups={"S0OPS": ["U0ALICE", "U0BOB"]}) as stand_in:
        yield stand_in


@pytest.fixture
async def kaleyra() -> AsyncIterator[KaleyraStandIn]:
    async with KaleyraStandIn(accounts={("HXSID", "WABA1")}) as stand_in:
        yield stand_in


@pytest.fixture
async def meta() -> AsyncIterator[MetaStandIn]:
    async with MetaStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def web_client(slack: SlackStandIn, token: str = "xoxb-test-token") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url)


# --- documented bodies ---


def _json_objects(text: str) -> list[Any]:
    """Every top-level {...} in a document that parses as JSON."""
    found, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "{":
            start = i if depth == 0 else start
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                try:
                    found.append(json.loads(text[start : i + 1]))
                except ValueError:
                    pass  # placeholders such as <url>, or the invalid sample request in the update doc
    return found


@pytest.mark.parametrize(
    ("document", "bodies"),
    [
        ("kaleyra-v2-add-phone-number.txt", [doc.V2_ADD_OK, *doc.V2_ADD_FAILURES.values()]),
        ("kaleyra-v2-verify-phone-number.txt", [doc.V2_VERIFY_OK, *doc.V2_VERIFY_FAILURES.values()]),
        ("kaleyra-v2-update-phone-number.txt", [doc.V2_UPDATE_OK, *doc.V2_UPDATE_FAILURES.values()]),
        ("kaleyra-v1-add-whatsapp-number.txt", list(doc.V1_ADD_FAILURES.values())),
    ],
)
def test_documented_bodies_match_the_documents_exactly(document: str, bodies: list[dict[str, Any]]) -> None:
    responses = [o for o in _json_objects((API_DOCS / document).read_text()) if "error" in o]
    assert responses == bodies


def test_documented_bodies_keep_their_quirks() -> None:
    assert doc.V2_UPDATE_FAILURES["payload_format"]["message"] == "Refer to correct payload format "
    assert set(doc.V2_ADD_FAILURES["name_required"]["error"]) == {"name", "phone_number"}
    assert set(doc.V1_ADD_FAILURES["empty_display_image"]) == {"error"}
    assert doc.V1_ADD_OK["data"][0]["email"] == "[email\u00a0protected]"
    assert set(doc.META_MINIMAL_ERROR["error"]) == {"message", "type", "code"}


# --- Slack Web API ---


async def test_post_message_with_blocks_is_recorded_with_decoded_blocks(slack: SlackStandIn) -> None:
    client = web_client(slack)

    first = await client.chat_postMessage(channel="C0OPS", text="added", blocks=BLOCKS)
    second = await client.api_call(  # form-encoded, the way some callers send it
        "chat.postMessage", data={"channel": "U0ALICE", "text": "hi", "blocks": json.dumps(BLOCKS)}
    )

    assert first["channel"] == "C0OPS"
    assert first["message"]["blocks"] == BLOCKS
    assert second["channel"] == "D0ALICE"
    assert float(second["ts"]) > float(first["ts"])
    assert [call.args["blocks"] for call in slack.calls_of("chat.postMessage")] == [BLOCKS, BLOCKS]
    assert slack.calls[0].token == "xoxb-test-token"


async def test_wrong_token_is_invalid_auth(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as raised:
        await web_client(slack, token="xoxb-wrong").auth_test()
    assert raised.value.response["error"] == "invalid_auth"
    assert (await web_client(slack).auth_test())["user_id"] == "U0BOT"


async def test_rate_limited_call_is_retried_by_slack_sdk(
    slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)  # slack_sdk adds random() s of jitter; keep it fast
    client = web_client(slack)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.rate_limit("chat.postMessage")

    response = await client.chat_postMessage(channel="C0OPS", text="hello")

    assert response["ok"] is True
    assert len(slack.calls_of("chat.postMessage")) == 2


async def test_fail_only_hits_the_given_channel_and_times(slack: SlackStandIn) -> None:
    client = web_client(slack)
    slack.fail("chat.postMessage", "channel_not_found", channel="C0GONE", times=1)

    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0GONE", text="x")
    await client.chat_postMessage(channel="C0OPS", text="x")
    await client.chat_postMessage(channel="C0GONE", text="x")

    assert len(slack.calls_of("chat.postMessage")) == 3


async def test_views_open_update_and_closed_view(slack: SlackStandIn) -> None:
    client = web_client(slack)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Add"}, "blocks": BLOCKS}

    opened = await client.views_open(trigger_id="123.456", view=modal)
    view_id = opened["view"]["id"]
    updated = await client.views_update(view_id=view_id, view={**modal, "blocks": []})
    slack.close_view(view_id)

    assert view_id == "V0000001"
    assert updated["view"]["id"] == view_id
    with pytest.raises(SlackApiError) as raised:
        await client.views_update(view_id=view_id, view=modal)
    assert raised.value.response["error"] == "not_found"


async def test_a_thread_reads_as_a_person_sees_it(slack: SlackStandIn) -> None:
    client = web_client(slack)
    parent = await client.chat_postMessage(channel="C0OPS", text="Adding +91 98765 43210")
    await client.chat_postMessage(channel="C0OPS", thread_ts=parent["ts"], text="Added")
    await client.chat_update(channel="C0OPS", ts=parent["ts"], text="+91 98765 43210 · Added")

    [shown] = slack.parents()
    assert (shown.text, shown.edits) == ("+91 98765 43210 · Added", 1)
    assert [reply.text for reply in slack.thread(shown)] == ["Added"]


async def test_usergroups_and_dm_channels(slack: SlackStandIn) -> None:
    client = web_client(slack)

    members = await client.usergroups_users_list(usergroup="S0OPS")
    dm = await client.conversations_open(users=["U0BOB"])

    assert members["users"] == ["U0ALICE", "U0BOB"]
    assert dm["channel"]["id"] == "D0BOB"
    with pytest.raises(SlackApiError):
        await client.usergroups_users_list(usergroup="S0NOPE")


async def test_response_url_posts_are_recorded(slack: SlackStandIn, http: aiohttp.ClientSession) -> None:
    async def respond_later() -> None:
        await asyncio.sleep(0.05)
        body = {"text": "Working on it", "response_type": "ephemeral"}
        async with http.post(slack.response_url("add"), json=body) as response:
            assert response.status == 200

    task = asyncio.create_task(respond_later())
    call = await slack.wait_for("response_url:add", lambda c: c.args["text"].startswith("Working"))
    await task

    assert call.args["response_type"] == "ephemeral"
    with pytest.raises(AssertionError, match="recorded calls"):
        await slack.wait_for("chat.postMessage", timeout=0.05)


# --- Socket Mode ---


async def test_socket_mode_client_connects_and_acks_an_envelope(slack: SlackStandIn) -> None:
    client = SocketModeClient(app_token="xapp-test", web_client=AsyncWebClient(base_url=slack.api_url))

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        answer = {"text": f"got {request.payload['command']}"}
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, answer))

    client.socket_mode_request_listeners.append(listener)
    try:
        await client.connect()
        await slack.wait_for_socket()
        ack = await slack.send_envelope("slash_commands", {"command": "/wa-add", "text": ""})
        await slack.send_disconnect()
        await slack.wait_for_socket(connects=2)
        reconnected_ack = await slack.send_envelope("slash_commands", {"command": "/wa-verify"})
    finally:
        await client.close()

    assert ack["payload"] == {"text": "got /wa-add"}
    assert len(slack.calls_of("apps.connections.open")) == 2
    assert reconnected_ack["payload"] == {"text": "got /wa-verify"}
    assert slack.calls_of("apps.connections.open")[0].token == "xapp-test"


# --- Kaleyra ---


async def test_kaleyra_answers_documented_success_and_rbc001(
    kaleyra: KaleyraStandIn, http: aiohttp.ClientSession
) -> None:
    url = f"{kaleyra.base_url}/v2/HXSID/whatsapp/WABA1/number/add"
    body = {"phone_number": "9876543210", "name": "Acme", "verification_type": "SMS", "country_code": "+91"}

    async with http.post(url, json=body, headers={"api-key": "test-kaleyra-key"}) as ok:
        assert (ok.status, await ok.json()) == (200, doc.V2_ADD_OK)
    async with http.post(url, json=body, headers={"api-key": "wrong"}) as rejected:
        assert (await rejected.json())["code"] == "RBC001"
    async with http.post(
        url.replace("WABA1", "WABA9"), json=body, headers={"api-key": "test-kaleyra-key"}
    ) as unknown:
        assert (await unknown.json()) == doc.V2_ADD_FAILURES["waba_not_found"]

    first = (await kaleyra.wait_for_requests(3))[0]
    assert (first.operation, first.sid, first.waba_id, first.json) == ("v2_add", "HXSID", "WABA1", body)
    assert first.headers["api-key"] == "test-kaleyra-key"


async def test_kaleyra_queued_answers_are_served_once_in_order(
    kaleyra: KaleyraStandIn, http: aiohttp.ClientSession
) -> None:
    url = f"{kaleyra.base_url}/v2/HXSID/whatsapp/WABA1/number/update"
    headers = {"api-key": "test-kaleyra-key"}
    kaleyra.queue("v2_update", doc.V2_UPDATE_FAILURES["try_later"], status=500)
    kaleyra.queue("v2_update", "<html><body>502 Bad Gateway</body></html>", status=502)

    statuses = []
    for _ in range(3):
        async with http.put(url, data="not json", headers=headers) as response:
            statuses.append((response.status, response.content_type))

    assert statuses == [(500, "application/json"), (502, "text/html"), (200, "application/json")]
    assert kaleyra.requests[0].json == "not json"


async def test_kaleyra_v1_add_and_wait_timeout(kaleyra: KaleyraStandIn, http: aiohttp.ClientSession) -> None:
    url = f"{kaleyra.base_url}/v1/HXSID/whatsapp/number"
    async with http.post(url, json={"display_name": "Acme"}, headers={"api-key": "test-kaleyra-key"}) as ok:
        assert await ok.json() == doc.V1_ADD_OK

    with pytest.raises(AssertionError, match="expected at least 2 Kaleyra"):
        await kaleyra.wait_for_requests(2, timeout=0.05)


# --- Meta ---


async def test_meta_rejects_bad_token_then_serves_queue_then_success(
    meta: MetaStandIn, http: aiohttp.ClientSession
) -> None:
    url = f"{meta.base_url}/v23.0/1029384756/add_phone_numbers"
    good = {"Authorization": "Bearer test-meta-token"}
    meta.queue(doc.META_ERRORS[429], status=429)

    async with http.post(url, json={"phone_number": "+15555550100"}, headers=good) as limited:
        assert (limited.status, await limited.json()) == (429, doc.META_ERRORS[429])
    async with http.post(url, json={"phone_number": "+15555550100"}, headers=good) as ok:
        assert (ok.status, await ok.json()) == (200, doc.META_ADD_OK)
    async with http.post(url, json={}, headers={"Authorization": "Bearer nope"}) as rejected:
        assert (rejected.status, await rejected.json()) == (401, doc.META_ERRORS[401])

    request = (await meta.wait_for_requests(3))[0]
    assert (request.version, request.business_id, request.json) == (
        "v23.0",
        "1029384756",
        {"phone_number": "+15555550100"},
    )
