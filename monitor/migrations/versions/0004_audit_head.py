"""audit: create the chain's head row up front, so first writers never race to create it

Revision ID: 0004_audit_head
Revises: 0003_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit_head"
down_revision: str | None = "0003_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Insert the head (seq 0, genesis hash) unless events were already written."""
    conn = op.get_bind()
    exists = conn.execute(sa.text("SELECT count(*) FROM audit_head WHERE id = 1")).scalar_one()
    if not exists:
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :genesis)"),
                     {"genesis": "0" * 64})


def downgrade() -> None:
    """Nothing to undo: an empty head row is what the first append would create."""
