"""`wa-bot check`: one line per check, exit 0 only when all hold; it never serves, migrates or calls a provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from conftest import SID, SIGNING_SECRET, WABA_ID, a_postgres_database, free_port, wa_bot
from sqlalchemy import inspect, text
from standins import KaleyraStandIn, MetaStandIn, SlackStandIn

from bot.store import Store, head_revision

KALEYRA_KEY = "check-kaleyra-key-SECRET"
META_TOKEN = "check-meta-token-SECRET"


@pytest.fixture
async def providers(kaleyra: KaleyraStandIn, meta: MetaStandIn) -> AsyncIterator[dict[str, str]]:
    """A Kaleyra and a Meta account, each pointed at its stand-in; afterwards, neither heard a thing."""
    yield {
        "KALEYRA_SID": SID,
        "KALEYRA_API_KEY": KALEYRA_KEY,
        "KALEYRA_WABA_ID": WABA_ID,
        "KALEYRA_BASE_URL": kaleyra.base_url,
        "META_ACCESS_TOKEN": META_TOKEN,
        "META_BUSINESS_ID": "104996122399160",
        "META_GRAPH_URL": meta.base_url,
    }
    assert kaleyra.received == []
    assert meta.received == []


def settings(slack: SlackStandIn, database_url: str, providers: dict[str, str]) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "PORT": str(free_port()),
        **providers,
    }


def lines_by_check(stdout: str) -> dict[str, list[str]]:
    """`ok   store: …` → {"store": ["ok   store: …"]}."""
    found: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        found.setdefault(line[5:].split(":")[0], []).append(line)
    return found


def no_secret_in(output: str) -> None:
    for secret in ("xoxb-test-token", SIGNING_SECRET, KALEYRA_KEY, META_TOKEN):
        assert secret not in output


async def migrated_store(url: str, revision: str | None = None) -> None:
    store = Store(url)
    try:
        await store.migrate()
        if revision is not None:
            async with store.engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    finally:
        await store.close()


async def table_names(url: str) -> set[str]:
    store = Store(url)
    try:
        async with store.engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await store.close()


async def test_everything_good_is_a_line_per_check_and_exit_0(
    tmp_path: Path, slack: SlackStandIn, kaleyra: KaleyraStandIn, meta: MetaStandIn, providers: dict[str, str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}"
    await migrated_store(url)

    status, stdout, stderr = await wa_bot(tmp_path, "check", **settings(slack, url, providers))

    assert (status, stderr) == (0, "")
    lines = stdout.splitlines()
    assert [line[:5] + line[5:].split(":")[0] for line in lines] == [
        "ok   settings",
        "ok   accounts",
        "ok   store",
        "ok   slack",
    ]
    settings_line, accounts_line, store_line, slack_line = lines
    assert "HTTP mode" in settings_line and "every member of the workspace may act" in settings_line
    assert "kaleyra (Kaleyra v2" in accounts_line and "meta (Meta" in accounts_line
    assert f"schema {head_revision()}: at head" in store_line
    assert "wa-bot (U0BOT)" in slack_line and "Test (T0TEST)" in slack_line
    assert [call.method for call in slack.calls] == ["auth.test"]
    assert (kaleyra.received, meta.received) == ([], [])  # the accounts are checked without calling anyone
    no_secret_in(stdout)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store with nothing in it: an empty SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        (tmp_path / "empty.db").touch()
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    with a_postgres_database() as url:
        yield url


async def test_check_leaves_an_empty_store_unmigrated(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str], empty_url: str
) -> None:
    status, stdout, _ = await wa_bot(tmp_path, "check", **settings(slack, empty_url, providers))

    assert status == 0, stdout
    [store_line] = lines_by_check(stdout)["store"]
    assert store_line.startswith("ok   store: ")
    assert f"schema empty: behind: will be migrated to {head_revision()} at start" in store_line
    assert await table_names(empty_url) == set()  # not migrated: no alembic_version, no numbers


async def test_a_store_newer_than_the_code_fails_the_check(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}"
    await migrated_store(url, revision="9999_from_the_future")

    status, stdout, _ = await wa_bot(tmp_path, "check", **settings(slack, url, providers))

    assert status == 1
    by_check = lines_by_check(stdout)
    [store_line] = by_check["store"]
    assert store_line.startswith("FAIL store: ")
    assert "9999_from_the_future" in store_line and "newer than this wa-bot" in store_line
    assert head_revision() in store_line
    assert [line[:4] for check in ("settings", "accounts", "slack") for line in by_check[check]] == [
        "ok  "
    ] * 3
    assert await current_revision(url) == "9999_from_the_future"  # left as it was


async def current_revision(url: str) -> str | None:
    store = Store(url)
    try:
        return await store.current_revision()
    finally:
        await store.close()


async def test_a_token_slack_refuses_fails_the_check(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str]
) -> None:
    slack.fail("auth.test", "token_revoked")
    url = f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}"
    await migrated_store(url)

    status, stdout, stderr = await wa_bot(tmp_path, "check", **settings(slack, url, providers))

    assert status == 1
    by_check = lines_by_check(stdout)
    [slack_line] = by_check["slack"]
    assert slack_line.startswith("FAIL slack: SLACK_BOT_TOKEN: ") and "token_revoked" in slack_line
    assert by_check["store"][0].startswith("ok   store")  # the other checks still ran, and held
    assert "Traceback" not in stdout + stderr
    no_secret_in(stdout + stderr)


async def test_a_user_token_fails_the_check_without_asking_slack(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str]
) -> None:
    token = "xoxp-1111-2222-UsErToKeN"
    store = tmp_path / "not-yet.db"
    variables = {**settings(slack, f"sqlite+aiosqlite:///{store}", providers), "SLACK_BOT_TOKEN": token}

    status, stdout, stderr = await wa_bot(tmp_path, "check", **variables)

    assert status == 1
    by_check = lines_by_check(stdout)
    assert by_check["settings"] == [
        "FAIL settings: SLACK_BOT_TOKEN: a user token (xoxp-) is not a bot token; "
        "expected the Bot User OAuth Token, starting with xoxb-"
    ]
    assert by_check["accounts"][0].startswith("skip accounts: ")
    assert by_check["slack"][0].startswith("skip slack: ")
    assert slack.calls == []
    assert token not in stdout + stderr
    # DATABASE_URL alone was enough to check the store, and checking it did not create the file.
    [store_line] = by_check["store"]
    assert store_line.startswith("ok   store: ") and "does not exist yet" in store_line
    assert not store.exists()


async def test_a_store_and_a_slack_out_of_reach_fail_the_check_without_the_password(
    tmp_path: Path, providers: dict[str, str]
) -> None:
    slack_url = f"http://127.0.0.1:{free_port()}/api/"
    variables = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "DATABASE_URL": f"postgresql+asyncpg://wa:db-pass-SECRET-9@127.0.0.1:{free_port()}/wa",
        **providers,
    }

    status, stdout, stderr = await wa_bot(tmp_path, "check", **variables)

    assert status == 1
    by_check = lines_by_check(stdout)
    [store_line], [slack_line] = by_check["store"], by_check["slack"]
    assert store_line.startswith("FAIL store: DATABASE_URL: ") and "cannot be reached" in store_line
    assert slack_line.startswith(f"FAIL slack: SLACK_API_URL: Slack at {slack_url} cannot be asked")
    assert "db-pass-SECRET-9" not in stdout + stderr
    assert "Traceback" not in stdout + stderr


async def test_a_broken_accounts_file_fails_the_check_naming_its_line(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str]
) -> None:
    (tmp_path / "accounts.yml").write_text(
        'acme:\n  provider: kaleyra\n  sid: HX1\n  api_key_env: ACME_KEY\n  waba_id: "123"\n  region: xx\n'
    )
    variables = {
        **settings(slack, f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}", providers),
        "WA_BOT_ACCOUNTS_FILE": "accounts.yml",
        "ACME_KEY": "acme-key-SECRET",
    }

    status, stdout, _ = await wa_bot(tmp_path, "check", **variables)

    assert status == 1
    [accounts_line] = lines_by_check(stdout)["accounts"]
    assert accounts_line.startswith("FAIL accounts: accounts.yml:6: acme.region")
    assert "acme-key-SECRET" not in stdout


async def test_the_schema_of_a_store_behind_the_code_is_read_without_migrating_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}"
    await migrated_store(url, revision="0001_initial")  # as if only the first revision had been applied
    store = Store(url)
    try:
        schema = await store.schema()
        assert (schema.revisions, schema.head, schema.newer) == (("0001_initial",), head_revision(), ())
        assert not schema.at_head and schema.has_tables
        assert await store.current_revision() == "0001_initial"
    finally:
        await store.close()


APP_TOKEN = "xapp-1-A0TEST-check-SECRET"


def socket_mode(variables: dict[str, str]) -> dict[str, str]:
    """The same settings in Socket Mode: an app-level token, no signing secret needed."""
    return {
        **{k: v for k, v in variables.items() if k != "SLACK_SIGNING_SECRET"},
        "SLACK_APP_TOKEN": APP_TOKEN,
    }


async def test_in_socket_mode_the_app_token_is_checked_without_connecting(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}"
    await migrated_store(url)

    status, stdout, stderr = await wa_bot(tmp_path, "check", **socket_mode(settings(slack, url, providers)))

    assert (status, stderr) == (0, ""), stdout
    [socket_line] = lines_by_check(stdout)["socket mode"]
    assert socket_line.startswith("ok   socket mode: SLACK_APP_TOKEN ")
    [opened] = slack.calls_of("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert slack.socket_connects == 0  # the URL Slack gave is not connected to
    assert APP_TOKEN not in stdout


async def test_an_app_token_slack_refuses_fails_the_check(
    tmp_path: Path, slack: SlackStandIn, providers: dict[str, str]
) -> None:
    slack.fail("apps.connections.open", "invalid_auth")
    url = f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}"
    await migrated_store(url)

    status, stdout, stderr = await wa_bot(tmp_path, "check", **socket_mode(settings(slack, url, providers)))

    assert status == 1
    by_check = lines_by_check(stdout)
    [socket_line] = by_check["socket mode"]
    assert socket_line.startswith("FAIL socket mode: SLACK_APP_TOKEN: Slack refused it (invalid_auth)")
    assert by_check["slack"][0].startswith("ok   slack: SLACK_BOT_TOKEN")  # the bot token still holds
    assert APP_TOKEN not in stdout + stderr and "Traceback" not in stdout + stderr
    no_secret_in(stdout + stderr)


async def test_a_slack_out_of_reach_fails_the_app_token_check_naming_the_network(
    tmp_path: Path, providers: dict[str, str]
) -> None:
    slack_url = f"http://127.0.0.1:{free_port()}/api/"
    variables = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'wa-bot.db'}",
        **providers,
    }

    status, stdout, stderr = await wa_bot(tmp_path, "check", **variables)

    assert status == 1
    [socket_line] = lines_by_check(stdout)["socket mode"]
    assert socket_line.startswith(f"FAIL socket mode: SLACK_API_URL: Slack at {slack_url} cannot be asked")
    assert "the network" in socket_line
    assert APP_TOKEN not in stdout + stderr and "Traceback" not in stdout + stderr
