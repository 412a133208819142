"""What `GET /metrics` shows (Prometheus text format): Slack requests and their acknowledgement latency, provider
calls by operation and code with their latency, operations in flight, the process's memory, CPU and files. One
registry per bot, so recording is a dictionary update on the hot path and several bots in one process (tests, the
demo) never mix their figures."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from time import perf_counter
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

SLACK_PATH = "/slack/events"
# The kind of the Slack request being answered, set by `Metrics.note_kind` in the task that answers it.
_KIND: ContextVar[str | None] = ContextVar("wa_bot_slack_request_kind", default=None)
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)


class Metrics:
    def __init__(self, in_flight: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds…: read from /proc on Linux
        # (elsewhere it shows nothing), on this registry since the default one is not served.
        ProcessCollector(registry=self.registry)
        self.slack_requests = Counter(
            "wa_bot_slack_requests",
            "Slack requests by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "wa_bot_ack_seconds",
            "Time to answer a Slack request",
            ["kind"],
            buckets=FAST,
            registry=self.registry,
        )
        self.provider_calls = Counter(
            "wa_bot_provider_calls",
            "Provider calls by operation and code",
            ["operation", "code"],
            registry=self.registry,
        )
        self.provider_seconds = Histogram(
            "wa_bot_provider_seconds",
            "Provider call latency, retries included",
            ["operation"],
            buckets=SLOW,
            registry=self.registry,
        )
        in_flight_gauge = Gauge(
            "wa_bot_operations_in_flight", "Operations this process is working on", registry=self.registry
        )
        in_flight_gauge.set_function(in_flight)
        self.batches_running = Gauge(
            "wa_bot_bulk_batches_running", "Bulk adds this process is running", registry=self.registry
        )

        self.background_crashes = Counter(
            "wa_bot_background_crashes",
            "Background loops (lease renewal, sweeper, outbox…) that crashed and were started again",
            ["loop"],
            registry=self.registry,
        )

    def background_crashed(self, loop: str) -> None:
        self.background_crashes.labels(loop).inc()

    def provider_call(self, operation: str, code: str, seconds: float) -> None:
        self.provider_calls.labels(operation, code_label(code)).inc()
        self.provider_seconds.labels(operation).observe(seconds)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Times every Slack request from its arrival to its answer (the acknowledgement)."""
        if request.path != SLACK_PATH:
            return await handler(request)
        _KIND.set(None)  # the requests of one keep-alive connection are answered in one task
        started = perf_counter()
        response = await handler(request)
        seconds = perf_counter() - started
        kind = _KIND.get()
        if kind is None:  # refused before Bolt's middleware (a bad signature…): read the body itself
            kind = kind_of(await request.text(), request.content_type)
        self.ack_seconds.labels(kind).observe(seconds)
        outcome = "ok" if response.status == 200 else "refused" if response.status == 401 else "error"
        self.slack_requests.labels(kind, outcome).inc()
        return response

    async def note_kind(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
        """A Bolt middleware: the request's kind, from the body Bolt has parsed, for `middleware` to record
        without parsing it a second time (a submission's body is a few kilobytes of URL-encoded JSON)."""
        _KIND.set("slash_command" if "command" in body else str(body.get("type") or "unknown"))
        await next()

    async def page(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def kind_of(body: str, content_type: str) -> str:
    """slash_command, view_submission, block_actions, event_callback… of a body Bolt did not parse for us."""
    try:
        if content_type == "application/json":
            parsed = json.loads(body)
            return str(parsed.get("type") or "unknown") if isinstance(parsed, dict) else "unknown"
        form = parse_qs(body)
        if "command" in form:
            return "slash_command"
        payload = json.loads(form.get("payload", ["{}"])[0])
        return str(payload.get("type") or "unknown") if isinstance(payload, dict) else "unknown"
    except ValueError:
        return "unknown"


# The provider codes a label may carry: the documented ones, wa-bot's own, and HTTP statuses. Anything else a
# provider sends is counted as "other", so that no answer can grow the number of series without bound.
KNOWN_CODES = frozenset(
    {"ok", "WA200", "WA400", "WA401", "WA500", "RBC001", "I102", "E112", "E413", "E947", "E962"}
    | {"TIMEOUT", "NETWORK", "NO_ID", "HTTP 200"}
)
HTTP_STATUS = re.compile(r"HTTP [1-5][0-9]{2}")


def code_label(code: str) -> str:
    return code if code in KNOWN_CODES or HTTP_STATUS.fullmatch(code) else "other"
