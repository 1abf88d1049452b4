"""series: the policy test suite's cases, series signals and alerts, alert-item links, author links

Revision ID: 0009_series
Revises: 0008_lab
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_series"
down_revision: str | None = "0008_lab"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the policy case, alert-item, series and author-link tables."""
    op.create_table(
        "policy_cases",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("must", sa.JSON, nullable=False),
        sa.Column("must_not", sa.JSON, nullable=False),
        sa.Column("clause", sa.String(500), nullable=False),
        sa.Column("known_gap", sa.String(500), nullable=True),
        sa.Column("safeguarding", sa.Boolean, nullable=False),
        sa.Column("source_item_id", BigId, sa.ForeignKey("items.id"), nullable=True),
        sa.Column("source_alert_id", BigId, sa.ForeignKey("alerts.id"), nullable=True,
                  unique=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_table(
        "alert_items",
        sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("item_id", BigId, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("added_at", When, nullable=False),
    )
    op.create_index("ix_alert_items_item_id", "alert_items", ["item_id"])
    op.create_table(
        "series_alerts",
        sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("opened_at", When, nullable=False),
    )
    op.create_index("ix_series_alerts_subject", "series_alerts", ["rule", "subject"])
    op.create_table(
        "series_signals",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("item_id", BigId, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(255), nullable=True),
        sa.Column("handle", sa.String(255), nullable=True),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("at", When, nullable=False),
        sa.UniqueConstraint("item_id", "kind", name="uq_series_signal_item_kind"),
    )
    op.create_index("ix_series_signals_kind_at", "series_signals", ["kind", "at"])
    op.create_table(
        "author_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(255), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("platform", "author_id", name="uq_author_link"),
    )
    op.create_index("ix_author_links_person", "author_links", ["person"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_author_links_person", table_name="author_links")
    op.drop_table("author_links")
    op.drop_index("ix_series_signals_kind_at", table_name="series_signals")
    op.drop_table("series_signals")
    op.drop_index("ix_series_alerts_subject", table_name="series_alerts")
    op.drop_table("series_alerts")
    op.drop_index("ix_alert_items_item_id", table_name="alert_items")
    op.drop_table("alert_items")
    op.drop_table("policy_cases")
