"""service records: consent, exam attempts, applications, driver records, reviews, idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "biometric_consent",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("driver_id", sa.String(64), nullable=False),
        sa.Column("text_version", sa.String(100), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("given_at", TS, nullable=False),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biometric_consent")),
    )
    op.create_index(
        op.f("ix_biometric_consent_driver_id"), "biometric_consent", ["driver_id"], unique=False
    )
    op.create_table(
        "exam_attempt",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("driver_id", sa.String(64), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["proctor_session.id"],
            name=op.f("fk_exam_attempt_session_id_proctor_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_exam_attempt")),
    )
    op.create_index(op.f("ix_exam_attempt_driver_id"), "exam_attempt", ["driver_id"], unique=False)
    op.create_table(
        "xfjf_application",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("driver_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xfjf_application")),
    )
    op.create_index(
        op.f("ix_xfjf_application_driver_id"), "xfjf_application", ["driver_id"], unique=False
    )
    op.create_table(
        "driver_record",
        sa.Column("driver_id", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("driver_id", name=op.f("pk_driver_record")),
    )
    op.create_table(
        "review_assignment",
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("reviewer_id", sa.String(64), nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_review_assignment")),
    )
    op.create_index(
        op.f("ix_review_assignment_reviewer_id"),
        "review_assignment",
        ["reviewer_id"],
        unique=False,
    )
    op.create_table(
        "manual_review",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("driver_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_review")),
    )
    op.create_index(op.f("ix_manual_review_driver_id"), "manual_review", ["driver_id"])
    op.create_index(op.f("ix_manual_review_status"), "manual_review", ["status"])
    op.create_table(
        "idempotency_key",
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_key")),
    )
    op.create_index(op.f("ix_idempotency_key_expires_at"), "idempotency_key", ["expires_at"])


def downgrade() -> None:
    for table in (
        "idempotency_key",
        "manual_review",
        "review_assignment",
        "driver_record",
        "xfjf_application",
        "exam_attempt",
        "biometric_consent",
    ):
        op.drop_table(table)
