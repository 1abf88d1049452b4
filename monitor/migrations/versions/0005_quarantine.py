"""quarantine: items that could not be stored or classified, kept with their reason

Revision ID: 0005_quarantine
Revises: 0004_audit_head
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_quarantine"
down_revision: str | None = "0004_audit_head"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the quarantine table."""
    op.create_table(
        "quarantined_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.Integer, sa.ForeignKey("channels.id"), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("item_id", BigId, sa.ForeignKey("items.id"), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "external_id", "stage", name="uq_quarantine_item_stage"),
    )
    op.create_index("ix_quarantine_channel", "quarantined_items", ["channel_id", "created_at"])


def downgrade() -> None:
    """Drop the quarantine table."""
    op.drop_index("ix_quarantine_channel", table_name="quarantined_items")
    op.drop_table("quarantined_items")
