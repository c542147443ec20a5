"""broadcast channels: a visit's subscriptions that any number of people follow

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(
            sa.Column("broadcast", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("follow_url", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("follow_url")
        batch.drop_column("broadcast")
