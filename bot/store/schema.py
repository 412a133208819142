"""The store's schema: Alembic's configuration (built in code, no alembic.ini), the migration under a lock, and
where a store stands against this code's revisions. The queries are in store.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import OperationalError

from bot.store.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
UNVERSIONED = "0001_initial"  # what create_tables() made before the schema had revisions
MIGRATION_LOCK = 0x7761_626F_7400  # one fixed key for pg_advisory_xact_lock: "wabot"


class StoreNewerThanCode(Exception):
    """The store's schema revision is not among this code's: a newer wa-bot migrated it."""

    def __init__(self, store_revision: str, code_head: str) -> None:
        super().__init__(
            f"the store is at schema revision {store_revision}, unknown to this wa-bot (its newest is "
            f"{code_head}): this wa-bot is older than the store; upgrade wa-bot"
        )
        self.store_revision = store_revision
        self.code_head = code_head


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here rather than read from an alembic.ini."""
    config = Config(attributes={"connection": connection})
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    return _head_of(ScriptDirectory.from_config(alembic_config()))


def _head_of(script: ScriptDirectory) -> str:
    head = script.get_current_head()  # raises if versions/ ever grows two heads
    assert head is not None, "versions/ holds at least 0001_initial"
    return head


def current_revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _write_ahead_log(connection: Connection, attempts: int = 100) -> None:
    """WAL, so readers never wait for a writer. Switching needs the file to itself for a moment: processes
    starting together on a new file take turns (a start-up wait, so a short blocking sleep is fine)."""
    for attempt in range(attempts):
        try:
            if connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def upgrade(connection: Connection) -> str:
    """One transaction: wait for any other migration, refuse a newer store, stamp an unversioned one, upgrade."""
    if connection.dialect.name == "sqlite":
        _write_ahead_log(connection)
        # The write lock before Alembic starts: another process waits here, and the DDL commits as one.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":  # another replica waits here until this one commits
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    head = _head_of(script)
    known = {revision.revision for revision in script.walk_revisions()}
    current = MigrationContext.configure(connection).get_current_heads()
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise StoreNewerThanCode(", ".join(unknown), head)
    if not current and not inspect(connection).has_table("numbers"):
        # An empty store is built from the models and stamped, as Alembic recommends: one step instead of
        # every revision (tests/test_migrations.py proves the revisions build the same schema).
        Base.metadata.create_all(connection)
        command.stamp(config, "head")
        return head
    if not current:
        command.stamp(config, UNVERSIONED)
    command.upgrade(config, "head")
    return head


@dataclass(frozen=True)
class Schema:
    """Where a store's schema stands against this code, read without changing anything."""

    revisions: tuple[str, ...]  # the store's (none before its first migration)
    head: str  # this code's newest
    newer: tuple[str, ...]  # the store's revisions this code has never heard of: a newer wa-bot's
    has_tables: bool  # an unversioned store that has tables was made before revisions existed

    @property
    def at_head(self) -> bool:
        return self.revisions == (self.head,)


def schema_of(connection: Connection) -> Schema:
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    revisions = tuple(MigrationContext.configure(connection).get_current_heads())
    return Schema(
        revisions=revisions,
        head=_head_of(script),
        newer=tuple(revision for revision in revisions if revision not in known),
        has_tables=bool(inspect(connection).get_table_names()),
    )
