"""The provider's code as text of any length, like its message: a 40-character code is refused by String(32).

Revision ID: 0006_provider_text
Revises: 0005_batches
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_provider_text"
down_revision: str | Sequence[str] | None = "0005_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.alter_column(
            "provider_code", existing_type=sa.String(length=32), type_=sa.Text(), existing_nullable=True
        )


def downgrade() -> None:
    # A code longer than 32 characters is clipped: the older schema cannot hold it.
    op.execute(
        "UPDATE operations SET provider_code = substr(provider_code, 1, 32) WHERE length(provider_code) > 32"
    )
    with op.batch_alter_table("operations") as batch:
        batch.alter_column(
            "provider_code", existing_type=sa.Text(), type_=sa.String(length=32), existing_nullable=True
        )
