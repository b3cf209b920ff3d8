"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "driver",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver")),
        sa.UniqueConstraint("subject_key", name=op.f("uq_driver_subject_key")),
    )
    op.create_table(
        "evidence_object",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("retention", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_object")),
    )
    with op.batch_alter_table("evidence_object", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_object_delete_after"), ["delete_after"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_object_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_object_subject_key"), ["subject_key"], unique=False
        )

    op.create_table(
        "face_template",
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("vector_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("jitters", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_key", name=op.f("pk_face_template")),
    )
    op.create_table(
        "fingerprint",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("pixel_sha256", sa.String(length=64), nullable=False),
        sa.Column("perceptual_hash_hex", sa.String(length=16), nullable=False),
        sa.Column("is_reference", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fingerprint")),
    )
    with op.batch_alter_table("fingerprint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fingerprint_subject_key"), ["subject_key"], unique=False
        )

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("driver_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_outbox_driver_id"), ["driver_id"], unique=False
        )

    op.create_table(
        "proctor_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("driver_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("question_count", sa.Integer(), nullable=False),
        sa.Column("question_budget_s", sa.Float(), nullable=False),
        sa.Column("next_scheduled", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("identity_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awaiting_final", sa.Boolean(), nullable=False),
        sa.Column("termination_reason", sa.String(length=64), nullable=False),
        sa.Column("credited_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_proctor_session_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proctor_session")),
    )
    with op.batch_alter_table("proctor_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proctor_session_driver_id"), ["driver_id"], unique=False
        )

    op.create_table(
        "capture_challenge",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("guidance", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["proctor_session.id"],
            name=op.f("fk_capture_challenge_session_id_proctor_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_challenge")),
    )
    with op.batch_alter_table("capture_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_capture_challenge_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "exam_question",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_s", sa.Float(), nullable=False),
        sa.Column("effective_s", sa.Float(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["proctor_session.id"],
            name=op.f("fk_exam_question_session_id_proctor_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", "idx", name=op.f("pk_exam_question")),
    )
    op.create_table(
        "flag",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("driver_id", sa.String(length=64), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.String(length=64), nullable=True),
        sa.Column("adjudicator_id", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_flag_driver_id_driver")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["proctor_session.id"], name=op.f("fk_flag_session_id_proctor_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag")),
    )
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_driver_id"), ["driver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_flag_session_id"), ["session_id"], unique=False)

    op.create_table(
        "pause_interval",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["proctor_session.id"],
            name=op.f("fk_pause_interval_session_id_proctor_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", "seq", name=op.f("pk_pause_interval")),
    )
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("timings_ms", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["capture_challenge.id"],
            name=op.f("fk_attempt_challenge_id_capture_challenge"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["proctor_session.id"],
            name=op.f("fk_attempt_session_id_proctor_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_attempt_challenge_id")),
        sa.UniqueConstraint("session_id", "attempt_no", name=op.f("uq_attempt_session_id")),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_session_id"), ["session_id"], unique=False)

    op.create_table(
        "blacklist_entry",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("driver_id", sa.String(length=64), nullable=False),
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_bar_scoring_cycles", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_appeal_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_blacklist_entry_driver_id_driver")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flag.id"], name=op.f("fk_blacklist_entry_flag_id_flag")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entry")),
    )
    with op.batch_alter_table("blacklist_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blacklist_entry_driver_id"), ["driver_id"], unique=False
        )

    op.create_table(
        "appeal",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("blacklist_id", sa.String(length=64), nullable=False),
        sa.Column("driver_id", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("evidence_refs", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["blacklist_id"],
            ["blacklist_entry.id"],
            name=op.f("fk_appeal_blacklist_id_blacklist_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_appeal_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal")),
    )
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeal_blacklist_id"), ["blacklist_id"], unique=False)

    op.create_table(
        "voided_record",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("blacklist_id", sa.String(length=64), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["blacklist_id"],
            ["blacklist_entry.id"],
            name=op.f("fk_voided_record_blacklist_id_blacklist_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["proctor_session.id"],
            name=op.f("fk_voided_record_session_id_proctor_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_voided_record")),
    )
    with op.batch_alter_table("voided_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voided_record_blacklist_id"), ["blacklist_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voided_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voided_record_blacklist_id"))

    op.drop_table("voided_record")
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeal_blacklist_id"))

    op.drop_table("appeal")
    with op.batch_alter_table("blacklist_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_entry_driver_id"))

    op.drop_table("blacklist_entry")
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_session_id"))

    op.drop_table("attempt")
    op.drop_table("pause_interval")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_session_id"))
        batch_op.drop_index(batch_op.f("ix_flag_driver_id"))

    op.drop_table("flag")
    op.drop_table("exam_question")
    with op.batch_alter_table("capture_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capture_challenge_session_id"))

    op.drop_table("capture_challenge")
    with op.batch_alter_table("proctor_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proctor_session_driver_id"))

    op.drop_table("proctor_session")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_driver_id"))

    op.drop_table("notification_outbox")
    with op.batch_alter_table("fingerprint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fingerprint_subject_key"))

    op.drop_table("fingerprint")
    op.drop_table("face_template")
    with op.batch_alter_table("evidence_object", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_object_subject_key"))
        batch_op.drop_index(batch_op.f("ix_evidence_object_session_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_object_delete_after"))

    op.drop_table("evidence_object")
    op.drop_table("driver")
    op.drop_table("audit_head")
    op.drop_table("audit_entry")
