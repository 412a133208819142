"""Alembic's home for the store's schema: env.py, the revision template, and one file per revision in versions/."""
