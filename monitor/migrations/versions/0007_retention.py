"""retention: legal holds, redactions, safeguarding reviews, and audit details hashed apart

Revision ID: 0007_retention
Revises: 0006_removals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_retention"
down_revision: str | None = "0006_removals"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the records tables; audit events gain the hash their chain covers."""
    # Existing events keep NULL: they were hashed with their details, and verify still
    # recomputes them that way (their details can then never be redacted).
    op.add_column("audit_events", sa.Column("details_sha256", sa.String(64), nullable=True))
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id"), nullable=True),
        sa.Column("platform", sa.String(32), nullable=True),
        sa.Column("author_id", sa.String(255), nullable=True),
        sa.Column("channel_id", sa.Integer, sa.ForeignKey("channels.id"), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", When, nullable=False),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", When, nullable=True),
        sa.Column("release_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_legal_holds_active", "legal_holds", ["released_at", "scope"])
    op.create_table(
        "redactions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("row_id", sa.BigInteger, nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("run", sa.String(36), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.UniqueConstraint("kind", "row_id", name="uq_redactions_kind_row"),
    )
    op.create_index("ix_redactions_run", "redactions", ["run"])
    op.create_table(
        "safeguarding_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id"), nullable=False, unique=True),
        sa.Column("due_since", When, nullable=False),
        sa.Column("signed_off_by", sa.String(64), nullable=True),
        sa.Column("signed_off_at", When, nullable=True),
        sa.Column("sign_off_reason", sa.Text, nullable=True),
    )


def downgrade() -> None:
    """Drop the records tables and the audit column."""
    op.drop_table("safeguarding_reviews")
    op.drop_index("ix_redactions_run", table_name="redactions")
    op.drop_table("redactions")
    op.drop_index("ix_legal_holds_active", table_name="legal_holds")
    op.drop_table("legal_holds")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("details_sha256")
