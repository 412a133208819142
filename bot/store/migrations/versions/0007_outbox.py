"""The Slack outbox: every message and edit for a number's thread, recorded before it is delivered.

Revision ID: 0007_outbox
Revises: 0006_provider_text
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_outbox"
down_revision: str | Sequence[str] | None = "0006_provider_text"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_number_id", "outbox", ["number_id"], unique=False)
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_delivered_at", table_name="outbox")
    op.drop_index("ix_outbox_number_id", table_name="outbox")
    op.drop_table("outbox")
