"""application lifecycle: applications driven by the service, pending calendar deadlines

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01

``xfjf_application.pending_calendar`` marks an application with a deadline computed without a
verified calendar year (chinesecalendar lacks the year and the override file does not list it):
the operator is alerted and the deadline is recomputed when the year is added. The state index
serves the ``tick`` that applies time-driven transitions to active applications. The aggregate
itself lives in ``details["aggregate"]`` (JSON), next to the existing summary keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xfjf_application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_calendar", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(op.f("ix_xfjf_application_state"), "xfjf_application", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_xfjf_application_state"), table_name="xfjf_application")
    with op.batch_alter_table("xfjf_application", schema=None) as batch_op:
        batch_op.drop_column("pending_calendar")
