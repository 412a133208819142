"""One way to play Slack's side: one stand-in, one signing helper, and a benchmark that imports the test kit,
never a test module."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from standins import SlackStandIn

import bot.demo.slack
from bot.slack.signing import signed_headers

# Slack's own example ("Verifying requests from Slack", api.slack.com/authentication/verifying-requests-from-slack).
DOCUMENTED_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOCUMENTED_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOCUMENTED_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
# What a hand-made Slack signature looks like: the HMAC itself, or its "v0:{timestamp}:{body}" base string.
HAND_SIGNED = re.compile(r"\bhmac\b|v0:\{")


def test_the_signing_helper_signs_slacks_documented_example() -> None:
    headers = signed_headers(
        DOCUMENTED_BODY, "application/x-www-form-urlencoded", DOCUMENTED_SECRET, 1531420618
    )

    assert headers == {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": DOCUMENTED_SIGNATURE,
    }


def test_no_request_is_signed_by_hand() -> None:
    sources = [
        path
        for folder in ("bot", "handlers", "tests", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if path.resolve() != Path(__file__).resolve()
    ]

    hand_signed = [str(p.relative_to(ROOT)) for p in sources if HAND_SIGNED.search(p.read_text())]

    assert len(sources) > 50
    assert hand_signed == []


def test_the_tests_slack_is_the_demos_slack_extended() -> None:
    assert issubclass(SlackStandIn, bot.demo.slack.SlackStandIn)


def test_the_benchmark_imports_the_test_kit_and_no_test_module() -> None:
    # Each script loaded as `python scripts/<name>.py` loads it, without running its main().
    load = f"""
import importlib.util, json, sys
for name in ("bench", "bench_load", "bench_bare_app"):
    spec = importlib.util.spec_from_file_location(name, "{ROOT / "scripts"}/" + name + ".py")
    sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules[name])
print(json.dumps(sorted(sys.modules)))
"""
    finished = subprocess.run(
        [sys.executable, "-c", load], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert finished.returncode == 0, finished.stderr
    loaded = json.loads(finished.stdout)
    assert [m for m in loaded if m == "conftest" or m.split(".")[-1].startswith("test_")] == []
    assert "standins.kit" in loaded and "standins.slack" in loaded
