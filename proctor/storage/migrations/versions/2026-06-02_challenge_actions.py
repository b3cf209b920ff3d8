"""challenge actions: the liveness actions a capture challenge asks for (issue 10)

Revision ID: 0003
Revises: 0002
Create Date: 2026-06-02

``capture_challenge.actions`` is a JSON list of ``proctor.liveness.actions.Action``
values in the order the burst must show them; ``[]`` (the default, and the value of
every challenge issued before this revision) means a single snapshot answers it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capture_challenge") as batch:
        batch.add_column(
            sa.Column("actions", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("capture_challenge") as batch:
        batch.drop_column("actions")
