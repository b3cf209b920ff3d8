"""review job owner: who started a re-verification job, and the per-case report lookup (issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-06-10

``review_job.requested_by`` is the reviewer who started the job through the API
(``NULL`` for CLI jobs and every job before this revision): only that reviewer may
read the job's progress and results. ``ix_review_job_item_case_id`` serves the
reviewer's case view, which shows the newest finished report of a case.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(64), nullable=True))
    op.create_index(op.f("ix_review_job_item_case_id"), "review_job_item", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_job_item_case_id"), table_name="review_job_item")
    with op.batch_alter_table("review_job", schema=None) as batch_op:
        batch_op.drop_column("requested_by")
