"""subscription confirmation (double opt-in)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:30:00
"""

import sqlalchemy as sa
from alembic import op

import service.timetypes

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(
            sa.Column("confirmed_at", service.timetypes.UTCDateTime(timezone=True), nullable=True)
        )
    # Subscriptions made before confirmation existed keep getting their reminders: they count
    # as confirmed when they were made (an operator can review them with `visitcal subscriptions`).
    op.execute("UPDATE subscription SET confirmed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("confirmed_at")
