"""Slack's request signature (v0), for whoever posts to the bot as Slack does: the demo, the tests, the benchmark.

The bot itself only checks signatures (Bolt does); this signs with the same slack_sdk code that Bolt checks with.
"""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    body: str, content_type: str, signing_secret: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack sends with `body`: its content type, the timestamp (now unless given) and the signature."""
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=sent_at, body=body)
    assert signature is not None  # None only for a missing timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": sent_at,
        "X-Slack-Signature": signature,
    }
