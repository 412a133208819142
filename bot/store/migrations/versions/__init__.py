"""The store's schema revisions, one file each, applied in order by `Store.migrate()` (Alembic skips this file)."""
