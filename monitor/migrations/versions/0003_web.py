"""Indexes for the web queue: the queue's sort order and failed-takedown lookups.

Revision ID: 0003_web
Revises: 0002_digest
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_web"
down_revision: str | None = "0002_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The queue sorts by severity (high first), then deadline, then id: one index walks it."""
    op.create_index("ix_alerts_sort", "alerts",
                    [sa.text("severity_rank DESC"), "due_at", "id"])
    op.create_index("ix_alerts_takedown_status", "alerts", ["takedown_status"])


def downgrade() -> None:
    """Drop the web indexes."""
    op.drop_index("ix_alerts_takedown_status", table_name="alerts")
    op.drop_index("ix_alerts_sort", table_name="alerts")
