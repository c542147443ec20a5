"""The reminder queue in the database: claim due rows as a lease, record each one's fate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, func, or_, select, update

from service.db import Database
from service.models import Reminder

REMINDERS: Table = Reminder.__table__  # type: ignore[attr-defined]
c = REMINDERS.c


@dataclass(frozen=True)
class Claimed:
    id: int
    subscription_id: str
    segment_id: int
    kind: str
    offset_seconds: int
    due_at: datetime
    late: bool
    attempts: int


@dataclass(frozen=True)
class Fate:
    """What became of one claimed reminder."""

    id: int
    state: str  # "sent" | "failed" | "missed" | "cancelled" | "retry"
    at: datetime
    result: str
    late: bool = False
    retry_at: datetime | None = None


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return or_(
        (c.state == "pending") & (c.next_attempt_at <= now),
        # A claim whose worker died (or hung) past its lease is taken over.
        (c.state == "claimed") & (c.lease_until <= now),
    )


class ReminderQueue:
    def __init__(self, db: Database, worker_id: str, lease: timedelta) -> None:
        self.db = db
        self.worker_id = worker_id
        self.lease = lease

    def claim_due(self, now: datetime, limit: int) -> list[Claimed]:
        """Take up to `limit` due reminders for this worker, in one transaction.

        PostgreSQL: rows locked by another worker's claim are skipped (FOR UPDATE SKIP LOCKED).
        SQLite: the write transaction starts with BEGIN IMMEDIATE, so claims are serialized.
        """
        chosen = (
            select(c.id)
            .where(_claimable(now))
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(REMINDERS)
            .where(c.id.in_(chosen.scalar_subquery()))
            .values(
                state="claimed",
                claimed_by=self.worker_id,
                lease_until=now + self.lease,
                attempts=c.attempts + 1,
            )
            .returning(
                c.id,
                c.subscription_id,
                c.segment_id,
                c.kind,
                c.offset_seconds,
                c.due_at,
                c.late,
                c.attempts,
            )
        )
        with self.db.write() as session:
            rows = session.execute(statement).all()
        return sorted((Claimed(*row) for row in rows), key=lambda r: (r.due_at, r.id))

    def record(self, fates: list[Fate]) -> None:
        """Write the fates of this worker's claims; a claim since taken over is left alone."""
        if not fates:
            return
        with self.db.write() as session:
            for fate in fates:
                values: dict[str, object] = {"result": fate.result[:1000], "lease_until": None}
                if fate.state == "retry":
                    values |= {"state": "pending", "next_attempt_at": fate.retry_at}
                else:
                    values |= {"state": fate.state}
                if fate.state == "sent":
                    values |= {"sent_at": fate.at, "late": fate.late}
                session.execute(
                    update(REMINDERS)
                    .where(c.id == fate.id, c.state == "claimed", c.claimed_by == self.worker_id)
                    .values(**values)
                )

    def renew(self, ids: list[int], now: datetime) -> None:
        """Extend this worker's claims that it is still delivering: a claim that is merely slow
        (a channel taking longer than the lease) is not taken over and sent twice, while the
        claims of a worker that died stop being renewed and expire."""
        if not ids:
            return
        with self.db.write() as session:
            session.execute(
                update(REMINDERS)
                .where(c.id.in_(ids), c.state == "claimed", c.claimed_by == self.worker_id)
                .values(lease_until=now + self.lease)
            )

    def next_due(self) -> datetime | None:
        """When something next becomes claimable (a due row, a retry, or an expiring lease)."""
        with self.db.session() as session:
            pending = session.execute(
                select(func.min(c.next_attempt_at)).where(c.state == "pending")
            ).scalar()
            leased = session.execute(
                select(func.min(c.lease_until)).where(c.state == "claimed")
            ).scalar()
        found = [t for t in (pending, leased) if t is not None]
        return min(found) if found else None
