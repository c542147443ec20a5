"""Writing schedules into the database under the change rules: stable UIDs, SEQUENCE+1 on
change, cancelled rather than deleted, every VEVENT rendered once when its segment is written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.db import Database, mark_changed, mark_plan_changed
from service.errors import Conflict, NotFound, PreconditionFailed
from service.models import CatalogState, Change, Reminder, Segment, Visit
from service.schedules.fields import segment_columns, visit_columns, visit_row_columns
from service.schedules.spec import ScheduleInput
from service.schedules.vevents import render_key, render_segment
from service.settings import Settings

ChangeKind = Literal["added", "changed", "moved", "refined", "cancelled", "restored"]


@dataclass(frozen=True)
class SegmentChange:
    """What happened to one segment; reminders and change notices follow these."""

    segment_id: int
    uid: str
    kind: ChangeKind
    before_start: datetime | None = None
    after_start: datetime | None = None


@dataclass
class LoadReport:
    visits_added: list[str] = field(default_factory=list)
    visits_changed: list[str] = field(default_factory=list)
    changes: list[SegmentChange] = field(default_factory=list)
    unchanged: int = 0

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.changes if change.kind == kind)

    @property
    def changed_anything(self) -> bool:
        return bool(self.visits_added or self.visits_changed or self.changes)


def _digest(data: Any) -> str:
    encoded = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _classify(segment: Segment, fields: dict[str, Any]) -> ChangeKind:
    if segment.status == "cancelled" and fields["status"] != "cancelled":
        return "restored"
    if fields["status"] == "cancelled":
        return "cancelled"
    if segment.precision != "exact" and fields["precision"] == "exact":
        return "refined"
    if segment.start_at != fields["start_at"] or segment.end_at != fields["end_at"]:
        return "moved"
    return "changed"


class Catalog:
    """The one place that writes visits and segments."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        # Called inside the writing transaction with what changed (the reminder planner).
        self.observers: list[Callable[[Session, LoadReport, datetime], None]] = []

    def apply(
        self,
        schedules: Iterable[ScheduleInput],
        now: datetime,
        actor: str = "loader",
        expect: Mapping[tuple[str, str], int] | None = None,
    ) -> LoadReport:
        """Apply schedules in one transaction: all of them or none. Every change is recorded
        in the history with `actor`, re-planned for reminders, and invalidates feed caches.
        `expect` maps (visit slug, segment id) to the SEQUENCE the writer last saw: if the
        segment has moved on since, nothing is written (optimistic concurrency)."""
        return self.apply_edit(lambda _session: schedules, now, actor, expect)

    def apply_edit(
        self,
        edit: Callable[[Session], Iterable[ScheduleInput]],
        now: datetime,
        actor: str = "loader",
        expect: Mapping[tuple[str, str], int] | None = None,
    ) -> LoadReport:
        """Like `apply`, with the schedules made by `edit` inside the transaction, under the
        catalog's lock: an edit merged from the rows as they are then loses no other writer's
        change, and a check it makes (exists already, If-Match) holds until the commit."""
        if now.tzinfo is None:
            raise ValueError("now must be aware")
        now = now.replace(microsecond=0)  # what iCalendar and HTTP dates can say
        report = LoadReport()
        with self._write() as session:
            for schedule in edit(session):
                self._apply_one(session, schedule, now, report, actor, expect or {})
            _write_history(session)
            if report.changed_anything:
                mark_changed(session)
            for observer in self.observers:
                observer(session, report, now)
        return report

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction under the catalog's lock: catalog writes go one at a time, each
        deciding from what the one before it committed."""
        try:
            with self.db.write(exclusive=True) as session:
                yield session
        except IntegrityError:  # a unique key taken meanwhile by a writer outside the lock
            raise Conflict("a slug, segment id or UID is taken by a visit or segment") from None

    def _apply_one(
        self,
        session: Session,
        schedule: ScheduleInput,
        now: datetime,
        report: LoadReport,
        actor: str,
        expect: Mapping[tuple[str, str], int],
    ) -> None:
        spec = schedule.visit
        if schedule.file_digest:
            loaded = session.get(CatalogState, f"file:{spec.slug}")
            if loaded is not None and loaded.value == schedule.file_digest:
                report.unchanged += len(schedule.segments)
                return  # the same file as last time: keep what the API changed since
            session.merge(CatalogState(name=f"file:{spec.slug}", value=schedule.file_digest))
        fields = visit_columns(spec)
        digest = _digest(fields)
        visit = session.exec(select(Visit).where(Visit.slug == spec.slug)).first()
        visit_changed = False
        if visit is None:
            visit = Visit(
                slug=spec.slug, content_hash=digest, created_at=now, changed_at=now, **fields
            )
            session.add(visit)
            session.flush()
            report.visits_added.append(spec.slug)
            _record(session, visit, "", "added", actor, now, None, fields)
        elif visit.content_hash != digest:
            before = visit_row_columns(visit)
            for name, value in fields.items():
                setattr(visit, name, value)
            visit.content_hash = digest
            visit.changed_at = max(now, visit.changed_at + timedelta(seconds=1))
            session.add(visit)
            report.visits_changed.append(spec.slug)
            visit_changed = True
            _record(session, visit, "", "changed", actor, now, before, fields)
        assert visit.id is not None

        existing = {
            s.key: s for s in session.exec(select(Segment).where(Segment.visit_id == visit.id))
        }
        for (slug, key), sequence in expect.items():
            if slug == spec.slug and key in existing and existing[key].sequence != sequence:
                raise PreconditionFailed(
                    f"segment {key!r} is at sequence {existing[key].sequence}, not {sequence}"
                )
        written: list[tuple[Segment, ChangeKind, datetime | None]] = []
        new_rows: list[dict[str, Any]] = []
        for segment_input in schedule.segments:
            fields = segment_columns(segment_input)
            digest = _digest(fields)
            segment = existing.pop(segment_input.key, None)
            if segment is None:
                uid = segment_input.uid or (
                    f"{spec.slug}.{segment_input.key}@{self.settings.uid_domain}"
                )
                row = {
                    "visit_id": visit.id,
                    "key": segment_input.key,
                    "uid": uid,
                    "sequence": segment_input.sequence or 0,
                    "content_hash": digest,
                    "created_at": now,
                    "changed_at": now,
                    **fields,
                }
                # New segments go in with one multi-row INSERT: building an ORM object per
                # segment costs more than rendering its VEVENT.
                row["ics"] = render_segment(SimpleNamespace(**row), visit, self.settings)
                new_rows.append(row)
                _record(session, visit, segment_input.key, "added", actor, now, None, fields)
            elif segment.content_hash != digest:
                kind = _classify(segment, fields)
                before = segment_columns(segment)
                for name, value in fields.items():
                    setattr(segment, name, value)
                self._bump(segment, digest, now)
                if segment_input.sequence is not None:
                    segment.sequence = max(segment.sequence, segment_input.sequence)
                self._store(session, segment, visit)
                written.append((segment, kind, before["start_at"]))
                _record(session, visit, segment.key, kind, actor, now, before, fields)
            elif visit_changed:
                self._store(session, segment, visit)
            else:
                report.unchanged += 1
        for segment in existing.values():
            if not schedule.complete or segment.status == "cancelled":
                if visit_changed:
                    self._store(session, segment, visit)
                continue
            # Segments gone from a complete schedule stay in feeds as cancelled, so that
            # calendars that hold them learn of it instead of silently keeping them.
            before = segment_columns(segment)
            segment.status = "cancelled"
            self._bump(segment, _digest(segment_columns(segment)), now)
            self._store(session, segment, visit)
            written.append((segment, "cancelled", segment.start_at))
            _record(
                session,
                visit,
                segment.key,
                "cancelled",
                actor,
                now,
                before,
                segment_columns(segment),
            )
        session.flush()
        if new_rows:
            session.execute(insert(Segment), new_rows)
            ids = dict(
                session.execute(
                    select(Segment.key, Segment.id).where(
                        Segment.visit_id == visit.id,
                        col(Segment.key).in_([row["key"] for row in new_rows]),
                    )
                ).all()
            )
            for row in new_rows:
                report.changes.append(
                    SegmentChange(ids[row["key"]], row["uid"], "added", None, row["start_at"])
                )
        for segment, kind, before_start in written:
            assert segment.id is not None
            after_start = None if kind == "cancelled" else segment.start_at
            report.changes.append(
                SegmentChange(segment.id, segment.uid, kind, before_start, after_start)
            )

    @staticmethod
    def _bump(segment: Segment, digest: str, now: datetime) -> None:
        segment.sequence += 1
        segment.content_hash = digest
        # DTSTAMP and LAST-MODIFIED come from changed_at and are written in whole seconds: a
        # second change within the same second must still move them forward.
        segment.changed_at = max(now, segment.changed_at + timedelta(seconds=1))

    def _store(self, session: Session, segment: Segment, visit: Visit) -> None:
        # The VEVENT needs no database id, so a bulk load renders and adds without flushing.
        segment.ics = render_segment(segment, visit, self.settings)
        session.add(segment)

    def delete_segment(
        self, slug: str, key: str, now: datetime, actor: str, expected: int | None = None
    ) -> None:
        """Remove a segment for good (and its reminders): explicit, for mistakes; a segment
        that will not happen is cancelled instead, so that calendars learn of it."""
        with self._write() as session:
            visit = session.exec(select(Visit).where(Visit.slug == slug)).first()
            segment = None
            if visit is not None:
                segment = session.exec(
                    select(Segment).where(Segment.visit_id == visit.id, Segment.key == key)
                ).first()
            if visit is None or segment is None:
                raise NotFound(f"no segment {key!r} in visit {slug!r}")
            if expected is not None and segment.sequence != expected:
                raise PreconditionFailed(
                    f"segment {key!r} is at sequence {segment.sequence}, not {expected}"
                )
            before = segment_columns(segment)
            session.execute(delete(Reminder).where(col(Reminder.segment_id) == segment.id))
            session.delete(segment)
            _record(session, visit, key, "deleted", actor, now.replace(microsecond=0), before, None)
            _write_history(session)
            mark_changed(session)
            mark_plan_changed(session)

    def delete_visit(self, slug: str) -> None:
        """Remove a visit, its segments, reminders and history for good."""
        with self._write() as session:
            visit = session.exec(select(Visit).where(Visit.slug == slug)).first()
            if visit is None:
                raise NotFound(f"no visit {slug!r}")
            segment_ids = select(Segment.id).where(Segment.visit_id == visit.id)
            session.execute(delete(Reminder).where(col(Reminder.segment_id).in_(segment_ids)))
            session.execute(delete(Segment).where(col(Segment.visit_id) == visit.id))
            session.execute(delete(Change).where(col(Change.visit_id) == visit.id))
            session.execute(delete(CatalogState).where(col(CatalogState.name) == f"file:{slug}"))
            session.delete(visit)
            mark_changed(session)
            mark_plan_changed(session)

    def rerender_if_needed(self) -> int:
        """Re-render every stored VEVENT if what they depend on (base URL...) has changed;
        returns how many came out different (only those count as a change to the feeds)."""
        key = render_key(self.settings)
        with self.db.session() as session:
            state = session.get(CatalogState, "render_key")
        if state is not None and state.value == key:
            return 0
        with self._write() as session:
            visits = {v.id: v for v in session.exec(select(Visit))}
            count = 0
            for segment in session.exec(select(Segment)):
                ics = render_segment(segment, visits[segment.visit_id], self.settings)
                if ics != segment.ics:
                    segment.ics = ics
                    session.add(segment)
                    count += 1
            session.merge(CatalogState(name="render_key", value=key))
            if count:
                mark_changed(session)
        return count


def _jsonable(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fields as JSON can hold them: instants and dates as ISO text, tuples as lists."""
    if fields is None:
        return None
    return {name: _plain(value) for name, value in fields.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _record(
    session: Session,
    visit: Visit,
    segment_key: str,
    kind: str,
    actor: str,
    now: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Keep one change in the history, with only the fields that changed."""
    if before is not None and after is not None:
        after = _jsonable(after)
        before = _jsonable(before)
        assert before is not None and after is not None
        changed = {name for name in after if before.get(name) != after.get(name)}
        before = {name: before.get(name) for name in sorted(changed)}
        after = {name: after[name] for name in sorted(changed)}
    assert visit.id is not None
    # Kept on the session and written with one INSERT by _write_history.
    session.info.setdefault("history", []).append(
        {
            "visit_id": visit.id,
            "segment_key": segment_key,
            "kind": kind,
            "actor": actor,
            "at": now,
            "before": _jsonable(before),
            "after": _jsonable(after),
        }
    )


def _write_history(session: Session) -> None:
    rows = session.info.pop("history", [])
    if rows:
        session.execute(insert(Change), rows)
