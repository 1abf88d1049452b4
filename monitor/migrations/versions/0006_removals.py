"""removals: removal requests with their contacts, and the names register's consent flag

Revision ID: 0006_removals
Revises: 0005_quarantine
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_removals"
down_revision: str | None = "0005_quarantine"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the consent flag and the removal request tables."""
    with op.batch_alter_table("protected_names") as batch:
        batch.add_column(sa.Column("photo_consent_withdrawn", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "removal_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("item_id", BigId, sa.ForeignKey("items.id"), nullable=True),
        sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id"), nullable=True),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("requester_name", sa.String(255), nullable=False),
        sa.Column("requester_role", sa.String(64), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_removal_status_due", "removal_requests", ["status", "due_at"])
    op.create_index("ix_removal_requests_alert_id", "removal_requests", ["alert_id"])
    op.create_table(
        "removal_contacts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", BigId, sa.ForeignKey("removal_requests.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_removal_contacts_request_id", "removal_contacts", ["request_id"])


def downgrade() -> None:
    """Drop the removal tables and the consent flag."""
    op.drop_index("ix_removal_contacts_request_id", table_name="removal_contacts")
    op.drop_table("removal_contacts")
    op.drop_index("ix_removal_requests_alert_id", table_name="removal_requests")
    op.drop_index("ix_removal_status_due", table_name="removal_requests")
    op.drop_table("removal_requests")
    with op.batch_alter_table("protected_names") as batch:
        batch.drop_column("photo_consent_withdrawn")
