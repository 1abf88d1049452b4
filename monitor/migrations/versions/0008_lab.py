"""lab: organisation rules with their versions, lab candidates, promoted settings, shadow verdicts

Revision ID: 0008_lab
Revises: 0007_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_lab"
down_revision: str | None = "0007_retention"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the policy lab's tables."""
    op.create_table(
        "org_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "org_rule_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.Integer, sa.ForeignKey("org_rules.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("rule_id", "version", name="uq_org_rule_version"),
    )
    op.create_index("ix_org_rule_versions_state", "org_rule_versions", ["state"])
    op.create_table(
        "lab_candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("shadow_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shadow_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_lab_candidates_state", "lab_candidates", ["state"])
    op.create_table(
        "lab_policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sensitivity", sa.Float, nullable=True),
        sa.Column("thresholds", sa.JSON, nullable=False),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("lab_candidates.id"), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "lab_shadow_verdicts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("lab_candidates.id"),
                  nullable=False),
        sa.Column("item_id", BigId, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("candidate_id", "item_id", name="uq_shadow_item"),
    )
    op.create_index("ix_lab_shadow_verdicts_candidate_id", "lab_shadow_verdicts",
                    ["candidate_id"])


def downgrade() -> None:
    """Drop the policy lab's tables."""
    op.drop_index("ix_lab_shadow_verdicts_candidate_id", table_name="lab_shadow_verdicts")
    op.drop_table("lab_shadow_verdicts")
    op.drop_table("lab_policy")
    op.drop_index("ix_lab_candidates_state", table_name="lab_candidates")
    op.drop_table("lab_candidates")
    op.drop_index("ix_org_rule_versions_state", table_name="org_rule_versions")
    op.drop_table("org_rule_versions")
    op.drop_table("org_rules")
