"""The reminder queue in the database: claim due rows as a lease, record each one's fate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Table,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    update,
)

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
    due_at: datetime | None = None  # of a sent one: its lateness is measured from it


# Finding rows by state in due order. Written as `state = :state ... ORDER BY next_attempt_at`,
# PostgreSQL may walk ix_reminder_next_attempt_at in due order and filter out every sent, missed
# and failed row on the way: a cost that grows with the queue's whole history (10 ms a query at
# 100,000 rows). Given as a range of ix_reminder_claimable (state, next_attempt_at) and ordered by
# (state, next_attempt_at), they can only be served by that index, over just the rows they want.


def _in_state(state: str):  # type: ignore[no-untyped-def]
    """`state = :state`, as a range: unlike an equality it keeps the state in the order."""
    return c.state.between(state, state)


def _due_by(state: str, now: datetime):  # type: ignore[no-untyped-def]
    """`state = :state AND next_attempt_at <= :now`: the index range from (state, oldest) to
    (state, now), so that the scan ends at `now` rather than at the state's last row."""
    return (c.state >= state) & (
        tuple_(c.state, c.next_attempt_at)
        <= tuple_(literal(state, c.state.type), literal(now, c.next_attempt_at.type))
    )


_IN_DUE_ORDER = (c.state, c.next_attempt_at, c.id)


def _record_statement(**values: object):  # type: ignore[no-untyped-def]
    """UPDATE one claimed row of this worker (parameters fate_*), setting `values`."""
    return (
        update(REMINDERS)
        .where(
            c.id == bindparam("fate_id", type_=c.id.type),
            c.state == "claimed",
            c.claimed_by == bindparam("fate_worker", type_=c.claimed_by.type),
        )
        .values(result=bindparam("fate_result", type_=c.result.type), lease_until=None, **values)
    )


_RECORD = {
    "sent": _record_statement(
        state="sent",
        sent_at=bindparam("fate_at", type_=c.sent_at.type),
        late=bindparam("fate_late", type_=c.late.type),
    ),
    "retry": _record_statement(
        state="pending", next_attempt_at=bindparam("fate_retry_at", type_=c.next_attempt_at.type)
    ),
    # failed, missed, cancelled
    "other": _record_statement(state=bindparam("fate_state", type_=c.state.type)),
}


class ReminderQueue:
    def __init__(self, db: Database, worker_id: str, lease: timedelta) -> None:
        self.db = db
        self.worker_id = worker_id
        self.lease = lease

    def claim_due(self, now: datetime, limit: int) -> list[Claimed]:
        """Take up to `limit` due reminders for this worker, in one transaction: first claims
        whose worker died (or hung) past its lease, then pending rows in due order.

        PostgreSQL: rows locked by another worker's claim are skipped (FOR UPDATE SKIP LOCKED).
        SQLite: the write transaction starts with BEGIN IMMEDIATE, so claims are serialized.
        """
        expired = (
            select(c.id)
            .where(_in_state("claimed"), c.lease_until <= now)
            .order_by(*_IN_DUE_ORDER)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(REMINDERS)
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
        rows: list[tuple[Any, ...]] = []
        with self.db.write() as session:
            taken_over = list(session.execute(expired).scalars())
            if taken_over:
                rows += map(tuple, session.execute(claim.where(c.id.in_(taken_over))))
            if len(taken_over) < limit:
                pending = (
                    select(c.id)
                    .where(_due_by("pending", now))
                    .order_by(*_IN_DUE_ORDER)
                    .limit(limit - len(taken_over))
                    .with_for_update(skip_locked=True)
                )
                rows += map(
                    tuple, session.execute(claim.where(c.id.in_(pending.scalar_subquery())))
                )
        return sorted((Claimed(*row) for row in rows), key=lambda r: (r.due_at, r.id))

    def record(self, fates: list[Fate]) -> None:
        """Write the fates of this worker's claims; a claim since taken over is left alone.

        One transaction, and one statement per kind of fate run for all its rows at once (an
        executemany: pipelined on PostgreSQL, one prepared statement on SQLite)."""
        if not fates:
            return
        groups: dict[str, list[dict[str, object]]] = {}
        for fate in fates:
            kind = fate.state if fate.state in ("sent", "retry") else "other"
            groups.setdefault(kind, []).append(
                {
                    "fate_id": fate.id,
                    "fate_worker": self.worker_id,
                    "fate_state": fate.state,
                    "fate_result": fate.result[:1000],
                    "fate_at": fate.at,
                    "fate_late": fate.late,
                    "fate_retry_at": fate.retry_at,
                }
            )
        with self.db.write() as session:
            connection = session.connection()
            for kind, rows in groups.items():
                connection.execute(_RECORD[kind], rows)

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

    def release(self) -> int:
        """Give back this worker's claims it has not recorded (a stop): due again at once for
        the other workers, without waiting for the lease, and without counting as an attempt.
        Returns how many."""
        with self.db.write() as session:
            result = session.execute(
                update(REMINDERS)
                .where(_in_state("claimed"), c.claimed_by == self.worker_id)
                .values(
                    state="pending",
                    claimed_by="",
                    lease_until=None,
                    attempts=func.greatest(c.attempts - 1, 0)
                    if self.db.engine.dialect.name == "postgresql"
                    else func.max(c.attempts - 1, 0),
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def next_due(self) -> datetime | None:
        """When something next becomes claimable (a due row, a retry, or an expiring lease)."""
        with self.db.session() as session:
            pending = session.execute(
                select(c.next_attempt_at)
                .where(_in_state("pending"))
                .order_by(*_IN_DUE_ORDER)
                .limit(1)
            ).scalar()
            leased = session.execute(
                select(func.min(c.lease_until)).where(c.state == "claimed")
            ).scalar()
        found = [t for t in (pending, leased) if t is not None]
        return min(found) if found else None


@dataclass(frozen=True)
class QueueFigures:
    due: int  # pending and due now: waiting for a worker
    claimed: int  # being delivered
    oldest_due: datetime | None  # the longest-waiting due reminder's due instant

    def oldest_wait(self, now: datetime) -> float:
        """Seconds the oldest due reminder has waited (0 when nothing waits)."""
        return max(0.0, (now - self.oldest_due).total_seconds()) if self.oldest_due else 0.0


def queue_figures(db: Database, now: datetime) -> QueueFigures:
    """Three index range reads of (state, next_attempt_at): the cost is the rows waiting, not the
    queue's history."""
    with db.session() as session:
        due = session.execute(select(func.count()).where(_due_by("pending", now))).scalar()
        oldest = session.execute(
            select(c.next_attempt_at)
            .where(_due_by("pending", now))
            .order_by(*_IN_DUE_ORDER)
            .limit(1)
        ).scalar()
        claimed = session.execute(select(func.count()).where(_in_state("claimed"))).scalar()
    return QueueFigures(due or 0, claimed or 0, oldest)
