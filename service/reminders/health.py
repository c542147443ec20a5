"""What an operator sees of the reminder queue: its depth and oldest due reminder, the workers
alive by their heartbeats, and the last error per channel kind (`visitcal status`, /metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from service.db import Database
from service.models import ChannelError, WorkerProcess
from service.reminders.queue import QueueFigures, queue_figures

WORKERS: Table = WorkerProcess.__table__  # type: ignore[attr-defined]
CHANNEL_ERRORS: Table = ChannelError.__table__  # type: ignore[attr-defined]
__all__ = ["QueueFigures", "queue_figures"]  # read here by status and /metrics


def _upsert(session: Session, table: Table, values: dict[str, object], key: str) -> None:
    """INSERT, or UPDATE the row with the same `key` (both databases say ON CONFLICT)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    changed = {name: statement.excluded[name] for name in values if name != key}
    session.execute(statement.on_conflict_do_update(index_elements=[key], set_=changed))


def beat(db: Database, worker: WorkerProcess) -> None:
    """Write a worker's heartbeat (its row, made or updated)."""
    with db.write() as session:
        _upsert(session, WORKERS, worker.model_dump(), "id")


def forget_worker(db: Database, worker_id: str) -> None:
    """A worker that stops removes its row: gone, not dead."""
    with db.write() as session:
        session.execute(delete(WORKERS).where(WORKERS.c.id == worker_id))


def note_channel_errors(
    db: Database, worker_id: str, errors: dict[str, tuple[datetime, str]]
) -> None:
    """Keep the last error per channel kind (kind -> when, what the channel said)."""
    if not errors:
        return
    with db.write() as session:
        for kind, (at, message) in errors.items():
            values = {"kind": kind, "at": at, "worker_id": worker_id, "message": message[:1000]}
            _upsert(session, CHANNEL_ERRORS, values, "kind")


@dataclass(frozen=True)
class WorkerSeen:
    worker: WorkerProcess
    alive: bool


def workers(db: Database, now: datetime, heartbeat_seconds: float) -> list[WorkerSeen]:
    """Every worker row, alive when its heartbeat is younger than three heartbeats."""
    limit = now - timedelta(seconds=3 * heartbeat_seconds)
    with db.session() as session:
        rows = session.execute(select(WorkerProcess).order_by(WORKERS.c.started_at)).scalars()
        return [WorkerSeen(row, row.heartbeat_at >= limit) for row in rows]


def channel_errors(db: Database) -> list[ChannelError]:
    with db.session() as session:
        return list(session.execute(select(ChannelError).order_by(CHANNEL_ERRORS.c.kind)).scalars())
