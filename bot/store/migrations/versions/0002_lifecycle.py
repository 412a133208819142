"""The lifecycle: intent keys, leases and retries on operations; a confirmed phone number ID on numbers.

Revision ID: 0002_lifecycle
Revises: 0001_initial
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_lifecycle"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("numbers") as numbers:
        # An ID read from every documented shape of Kaleyra's `data` (an object's id can be longer than 64).
        numbers.alter_column(
            "phone_number_id", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
        numbers.add_column(
            sa.Column("phone_number_id_confirmed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        numbers.add_column(sa.Column("last_user_id", sa.String(length=32), nullable=True))
    # IDs stored before this revision were trusted as Kaleyra's: keep them confirmed.
    op.execute("UPDATE numbers SET phone_number_id_confirmed = true WHERE phone_number_id IS NOT NULL")
    with op.batch_alter_table("operations") as operations:
        operations.add_column(sa.Column("intent", sa.String(length=255), nullable=True))
        operations.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        operations.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        operations.add_column(sa.Column("retry_of", sa.Integer(), nullable=True))
        operations.create_unique_constraint("uq_operations_intent", ["intent"])
        operations.create_index("ix_operations_outcome", ["outcome"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("operations") as operations:
        operations.drop_index("ix_operations_outcome")
        operations.drop_constraint("uq_operations_intent", type_="unique")
        for column in ("retry_of", "lease_until", "lease_owner", "intent"):
            operations.drop_column(column)
    with op.batch_alter_table("numbers") as numbers:
        numbers.drop_column("last_user_id")
        numbers.drop_column("phone_number_id_confirmed")
        numbers.alter_column(
            "phone_number_id", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
