"""GET /metrics: a flow through signed Slack requests moves the counters a Prometheus server would scrape."""

from __future__ import annotations

import aiohttp
from conftest import Person
from prometheus_client.parser import text_string_to_metric_families
from standins import KaleyraStandIn, SlackStandIn
from standins import documented as doc
from test_v2_failures import add_number, reply_saying


async def scrape(person: Person) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = person.url.replace("/slack/events", "/metrics")
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200 and response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_flow_moves_the_counters(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    before = await scrape(person)
    assert before[("wa_bot_operations_in_flight", ())] == 0

    # An add that succeeds, then one that Kaleyra refuses
    await add_number(person, slack)
    await reply_saying(slack, "Added")
    kaleyra.queue("v2_add", doc.V2_ADD_FAILURES["try_later"])
    await person.command("/wa-add", "+44 20 7946 0958 Other")
    await slack.wait_for("views.open", lambda _: len(slack.calls_of("views.open")) == 2)
    await person.submit(await person.opened_view("wa_add"), {})
    await reply_saying(slack, "The add failed")
    await person.post("command=%2Fwa-add", "application/x-www-form-urlencoded", secret="wrong")

    after = await scrape(person)
    assert after[("wa_bot_slack_requests_total", (("kind", "slash_command"), ("outcome", "ok")))] == 2
    assert after[("wa_bot_slack_requests_total", (("kind", "view_submission"), ("outcome", "ok")))] == 2
    assert after[("wa_bot_slack_requests_total", (("kind", "slash_command"), ("outcome", "refused")))] == 1
    assert after[("wa_bot_ack_seconds_count", (("kind", "view_submission"),))] == 2
    assert after[("wa_bot_provider_calls_total", (("code", "WA200"), ("operation", "add")))] == 1
    assert after[("wa_bot_provider_calls_total", (("code", "WA500"), ("operation", "add")))] == 1
    assert after[("wa_bot_provider_seconds_count", (("operation", "add"),))] == 2
    assert after[("wa_bot_operations_in_flight", ())] == 0


async def test_metrics_show_the_process_memory_and_cpu(person: Person) -> None:
    figures = await scrape(person)

    assert figures[("process_resident_memory_bytes", ())] > 10_000_000  # a Python with aiohttp and SQLAlchemy
    assert ("process_cpu_seconds_total", ()) in figures


async def test_a_provider_code_outside_the_known_ones_is_counted_as_other(
    person: Person, slack: SlackStandIn, kaleyra: KaleyraStandIn
) -> None:
    # Given Kaleyra answering with a code no document names, different every time
    kaleyra.queue("v2_add", {"code": "ZX-" + "9" * 40, "message": "made up", "data": {}, "error": {}})
    await add_number(person, slack)
    await reply_saying(slack, "The add failed")

    # Then the counter has no series for that code, but one for "other"
    after = await scrape(person)
    codes = {dict(labels)["code"] for name, labels in after if name == "wa_bot_provider_calls_total"}
    assert codes == {"other"}
