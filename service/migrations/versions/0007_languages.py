"""languages: a subscription's language; visit and segment texts in other languages

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Subscriptions made before languages existed were made in English.
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(sa.Column("language", sa.String(), nullable=False, server_default="en"))
    for table in ("visit", "segment"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("translations", sa.JSON(), nullable=False, server_default="{}")
            )


def downgrade() -> None:
    for table in ("segment", "visit"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("translations")
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("language")
