"""An index on operations.requested_at: the audit export reads a window of them, oldest first.

Revision ID: 0004_requested_at_index
Revises: 0003_sandbox
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_requested_at_index"
down_revision: str | Sequence[str] | None = "0003_sandbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_operations_requested_at", "operations", ["requested_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_operations_requested_at", table_name="operations")
