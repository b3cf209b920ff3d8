"""reference integrity: where a reference came from, and one appeal per entry (issue 17)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

``face_reference`` records each reference of a driver (authority photo, 实人认证 live
capture, approved ID-holding photo) with its dates and the staff involved; the
templates stay sealed in ``face_template``. ``blacklist_entry.appeals_allowed`` counts
the appeals an entry allows (1; a staff reopen for new evidence adds one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_reference",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("template_key", sa.String(80), nullable=True),
        sa.Column("evidence_id", sa.String(64), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("valid_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_reference")),
    )
    op.create_index(op.f("ix_face_reference_subject_key"), "face_reference", ["subject_key"])
    with op.batch_alter_table("blacklist_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("appeals_allowed", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("blacklist_entry", schema=None) as batch_op:
        batch_op.drop_column("appeals_allowed")
    op.drop_index(op.f("ix_face_reference_subject_key"), table_name="face_reference")
    op.drop_table("face_reference")
