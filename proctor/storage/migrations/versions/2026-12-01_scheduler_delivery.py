"""scheduler leases and notification delivery state (issue 18, items 2 and 4)

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01

``scheduler_lease``: one row per scheduled job. A replica runs a tick of a job only by
moving ``last_tick`` forward with an atomic ``UPDATE ... WHERE last_tick < :tick AND
(expires_at < :now OR holder = :me)``; ``token`` (the fencing token) grows with every
acquisition, so a holder whose lease ran out cannot record its finish over the next one.

``notification_outbox`` gains its delivery state: attempts (also the claim token),
the claim lease, the next attempt time (backoff), the last error code and the parking
mark for poison messages. Rows written before this revision keep ``delivered_at`` NULL
and are due at once (``next_attempt_at`` NULL); the dispatcher parks those older than
its maximum age instead of sending stale news.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("last_tick", sa.BigInteger(), nullable=False),
        sa.Column("last_started_at", TS, nullable=True),
        sa.Column("last_finished_at", TS, nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("last_summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", TS, nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", TS, nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("parked_at", TS, nullable=True))
        batch_op.add_column(sa.Column("parked_reason", sa.String(64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_notification_outbox_delivered_at"), ["delivered_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_outbox_parked_at"), ["parked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_parked_at"))
        batch_op.drop_index(batch_op.f("ix_notification_outbox_delivered_at"))
        for column in (
            "parked_reason",
            "parked_at",
            "last_error",
            "claimed_until",
            "claimed_by",
            "next_attempt_at",
            "attempts",
        ):
            batch_op.drop_column(column)
    op.drop_table("scheduler_lease")
