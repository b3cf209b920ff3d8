"""attempt decision: the verdict, the thresholds that decided it and the policy id (issue 16)

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-01

``attempt.verdict`` is the ``Verdict`` of ``proctor.decision.capture.decide_capture``
(match, no_match, uncertain, rejected); ``attempt.thresholds`` maps every threshold
that decided the capture to its value (e.g. ``reference_match_l2``, ``anchor_l2``);
``attempt.policy_id`` names the ``OperatingPolicy`` they came from. Attempts decided
before this revision carry ``''``, ``{}`` and ``''``: their decision was not recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(
            sa.Column("verdict", sa.String(16), nullable=False, server_default=sa.text("''"))
        )
        batch.add_column(
            sa.Column("thresholds", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(
            sa.Column("policy_id", sa.String(120), nullable=False, server_default=sa.text("''"))
        )


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_column("policy_id")
        batch.drop_column("thresholds")
        batch.drop_column("verdict")
