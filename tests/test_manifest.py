"""manifest.yml is a valid Slack app manifest and declares what the bot listens to."""

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
SOCKET_MODE_PATH = REPO_ROOT / "manifest.socket-mode.yml"
SCHEMA_PATH = REPO_ROOT / "tests" / "vendor" / "slack" / "manifest.schema.1.0.0.json"

EXPECTED_COMMANDS = {"/wa-add", "/wa-verify", "/wa-update", "/wa-numbers"}
EXPECTED_BOT_SCOPES = {
    "commands",
    "chat:write",
    "chat:write.public",
    "usergroups:read",
    "files:write",  # the audit CSV: files.getUploadURLExternal + files.completeUploadExternal
    "im:write",  # the audit CSV's DM: conversations.open
}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), "manifest.yml must be a YAML mapping"
    return loaded


@pytest.fixture(scope="module")
def validator() -> Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    # The schema names its draft in "$schema" (draft-07 today); pick the matching validator.
    validator_class = validator_for(schema, default=Draft7Validator)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def schema_errors(validator: Validator, document: Manifest) -> list[str]:
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def request_urls(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every `url` or `*_url` string in the manifest, with where it was found."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and (key == "url" or key.endswith("_url")):
                yield where, value
            else:
                yield from request_urls(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from request_urls(item, f"{path}[{index}]")


def test_manifest_matches_slacks_schema(manifest: Manifest, validator: Validator) -> None:
    assert schema_errors(validator, manifest) == []


def test_the_four_slash_commands_have_descriptions_and_usage_hints(manifest: Manifest) -> None:
    commands = {command["command"]: command for command in manifest["features"]["slash_commands"]}

    assert set(commands) == EXPECTED_COMMANDS
    for name, command in commands.items():
        assert command.get("description"), f"{name} has no description"
        assert command.get("usage_hint"), f"{name} has no usage_hint"
        assert command.get("should_escape") is False, f"{name} should not escape user and channel mentions"


def test_interactivity_is_on(manifest: Manifest) -> None:
    interactivity = manifest["settings"]["interactivity"]

    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"]


def test_the_home_tab_and_its_event_are_on(manifest: Manifest) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")


def test_every_request_url_points_at_slack_events(manifest: Manifest) -> None:
    urls = list(request_urls(manifest))

    # Four slash commands, the interactivity endpoint and the event subscriptions at least.
    assert len(urls) >= 6
    for where, url in urls:
        assert url.endswith("/slack/events"), f"{where} is {url!r}"


def test_bot_scopes_are_exactly_what_the_bot_needs(manifest: Manifest) -> None:
    bot_scopes = manifest["oauth_config"]["scopes"]["bot"]

    assert len(bot_scopes) == len(set(bot_scopes)), "a bot scope is listed twice"
    assert set(bot_scopes) == EXPECTED_BOT_SCOPES


@pytest.fixture(scope="module")
def socket_mode_manifest() -> Manifest:
    loaded = yaml.safe_load(SOCKET_MODE_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), "manifest.socket-mode.yml must be a YAML mapping"
    return loaded


def without_urls(node: Any) -> Any:
    """The manifest with every `url` and `*_url` left out, and Socket Mode off."""
    if isinstance(node, dict):
        kept = {k: without_urls(v) for k, v in node.items() if not (k == "url" or k.endswith("_url"))}
        return {**kept, "socket_mode_enabled": False} if "socket_mode_enabled" in kept else kept
    if isinstance(node, list):
        return [without_urls(item) for item in node]
    return node


def test_the_socket_mode_manifest_needs_no_public_url(
    socket_mode_manifest: Manifest, validator: Validator
) -> None:
    assert schema_errors(validator, socket_mode_manifest) == []
    assert socket_mode_manifest["settings"]["socket_mode_enabled"] is True
    assert list(request_urls(socket_mode_manifest)) == []


def test_the_socket_mode_manifest_is_the_same_app_as_manifest_yml(
    manifest: Manifest, socket_mode_manifest: Manifest
) -> None:
    # The same commands, events, Home and exactly the same scopes: only the way requests reach the bot differs.
    assert without_urls(socket_mode_manifest) == without_urls(manifest)
    assert set(socket_mode_manifest["oauth_config"]["scopes"]["bot"]) == EXPECTED_BOT_SCOPES


def drop_first_command_description(broken: Manifest) -> None:
    del broken["features"]["slash_commands"][0]["description"]


def drop_display_name(broken: Manifest) -> None:
    del broken["display_information"]["name"]


def add_unknown_top_level_key(broken: Manifest) -> None:
    broken["slash_commands"] = broken["features"]["slash_commands"]


@pytest.mark.parametrize(
    ("break_manifest", "expected_error"),
    [
        (drop_first_command_description, "features/slash_commands/0: 'description' is a required property"),
        (drop_display_name, "display_information: 'name' is a required property"),
        (add_unknown_top_level_key, "'slash_commands' was unexpected"),
    ],
)
def test_schema_rejects_a_broken_manifest(
    manifest: Manifest,
    validator: Validator,
    break_manifest: Callable[[Manifest], None],
    expected_error: str,
) -> None:
    broken = copy.deepcopy(manifest)
    break_manifest(broken)

    errors = schema_errors(validator, broken)

    assert any(expected_error in error for error in errors), errors
