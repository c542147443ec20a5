"""worker heartbeats, last error per channel kind, unconfirmed sign-ups index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import service.timetypes

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", service.timetypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", service.timetypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "channel_error",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", service.timetypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    # Every sign-up deletes the sign-ups left unconfirmed too long: without an index that is a
    # scan of every subscription (100,000 followers) inside the sign-up's write.
    op.create_index(
        "ix_subscription_unconfirmed",
        "subscription",
        ["changed_at"],
        postgresql_where=sa.text("confirmed_at IS NULL"),
        sqlite_where=sa.text("confirmed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_subscription_unconfirmed", table_name="subscription")
    op.drop_table("channel_error")
    op.drop_table("worker")
