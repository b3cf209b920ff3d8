"""review jobs: 复核 review cases, batch re-verification jobs and their items, case groups (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-06-03

No column holds image bytes or embeddings: job items keep the per-snapshot
measurements and distances only; evidence is referenced by id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_case",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("driver_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("due_on", sa.String(10), nullable=False),
        sa.Column("due_verified", sa.Boolean(), nullable=False),
        sa.Column("assigned_to", sa.String(64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_case")),
        sa.UniqueConstraint("kind", "source_id", name="uq_review_case_kind_source"),
    )
    op.create_index(op.f("ix_review_case_status"), "review_case", ["status"])
    op.create_index(op.f("ix_review_case_received_at"), "review_case", ["received_at"])
    op.create_table(
        "review_job",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_job")),
    )
    op.create_table(
        "review_job_item",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("job_id", "case_id", name=op.f("pk_review_job_item")),
    )
    op.create_table(
        "review_case_group",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_case_group")),
    )


def downgrade() -> None:
    op.drop_table("review_case_group")
    op.drop_table("review_job_item")
    op.drop_table("review_job")
    op.drop_index(op.f("ix_review_case_received_at"), table_name="review_case")
    op.drop_index(op.f("ix_review_case_status"), table_name="review_case")
    op.drop_table("review_case")
