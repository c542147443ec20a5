"""segment.public_changed_at: a public feed's Last-Modified without restricted changes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import service.timetypes

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("segment") as batch:
        batch.add_column(
            sa.Column(
                "public_changed_at", service.timetypes.UTCDateTime(timezone=True), nullable=True
            )
        )
    # Public segments' last change is public; restricted ones' is not known to be.
    op.execute("UPDATE segment SET public_changed_at = changed_at WHERE visibility = 'public'")


def downgrade() -> None:
    with op.batch_alter_table("segment") as batch:
        batch.drop_column("public_changed_at")
