"""Writing schedules into the database under the change rules: stable UIDs, SEQUENCE+1 on
change, cancelled rather than deleted, every VEVENT rendered once when its segment is written.

A schedule is applied in steps named after the rules: a file unchanged since the last load is
skipped (`_same_file_as_last_load`); the visit row is written (`_write_visit`); If-Match is
checked (`check_sequence`); each segment is added with a stable UID (`_add_segment`) or updated
with SEQUENCE+1 (`_update_segment`); a segment missing from a complete schedule is cancelled,
not deleted (`_cancel_missing_segment`); new rows go in with one INSERT
(`_insert_added_segments`)."""

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
from service.schedules.lookup import segment_by_key, visit_by_slug
from service.schedules.spec import ScheduleInput, SegmentInput, VisitSpec
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
    if isinstance(data, dict) and not data.get("translations", True):
        # No translations: the digest that rows stored before translations existed.
        data = {name: value for name, value in data.items() if name != "translations"}
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


@dataclass
class _VisitWrite:
    """One visit's part of a write: what its steps share and what they leave for the report."""

    session: Session
    visit: Visit
    visit_changed: bool
    now: datetime
    actor: str
    report: LoadReport
    written: list[tuple[Segment, ChangeKind, datetime | None]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)  # rows for one INSERT

    def record(
        self, key: str, kind: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        _record(self.session, self.visit, key, kind, self.actor, self.now, before, after)


def segment_uid(slug: str, segment_input: SegmentInput, uid_domain: str) -> str:
    """A new segment's UID: the one it came with (an import), or a stable one made from the
    visit's slug and the segment's id, so that it never changes."""
    return segment_input.uid or f"{slug}.{segment_input.key}@{uid_domain}"


def _same_file_as_last_load(session: Session, schedule: ScheduleInput) -> bool:
    """Whether a schedule file is the one applied last time (then it is skipped); otherwise its
    digest is remembered for the next load."""
    if not schedule.file_digest:
        return False
    name = f"file:{schedule.visit.slug}"
    loaded = session.get(CatalogState, name)
    if loaded is not None and loaded.value == schedule.file_digest:
        return True
    session.merge(CatalogState(name=name, value=schedule.file_digest))
    return False


def _write_visit(
    session: Session, spec: VisitSpec, now: datetime, report: LoadReport, actor: str
) -> tuple[Visit, bool]:
    """The visit's row, added or changed to match `spec`, and whether it changed."""
    fields = visit_columns(spec)
    digest = _digest(fields)
    visit = session.exec(select(Visit).where(Visit.slug == spec.slug)).first()
    if visit is None:
        visit = Visit(slug=spec.slug, content_hash=digest, created_at=now, changed_at=now, **fields)
        session.add(visit)
        session.flush()
        report.visits_added.append(spec.slug)
        _record(session, visit, "", "added", actor, now, None, fields)
        return visit, False
    if visit.content_hash == digest:
        return visit, False
    before = visit_row_columns(visit)
    for name, value in fields.items():
        setattr(visit, name, value)
    visit.content_hash = digest
    visit.changed_at = max(now, visit.changed_at + timedelta(seconds=1))
    session.add(visit)
    report.visits_changed.append(spec.slug)
    _record(session, visit, "", "changed", actor, now, before, fields)
    return visit, True


def check_sequence(segment: Segment, expected: int) -> None:
    """If-Match: the writer saw SEQUENCE `expected`; a segment that has moved on is refused."""
    if segment.sequence != expected:
        raise PreconditionFailed(
            f"segment {segment.key!r} is at sequence {segment.sequence}, not {expected}"
        )


def _insert_added_segments(write: _VisitWrite) -> None:
    """The new segments in one INSERT, reported with the ids the database gave them."""
    if not write.added:
        return
    write.session.execute(insert(Segment), write.added)
    ids = dict(
        write.session.execute(
            select(Segment.key, Segment.id).where(
                Segment.visit_id == write.visit.id,
                col(Segment.key).in_([row["key"] for row in write.added]),
            )
        ).all()
    )
    for row in write.added:
        write.report.changes.append(
            SegmentChange(ids[row["key"]], row["uid"], "added", None, row["start_at"])
        )


def _report_written_segments(write: _VisitWrite) -> None:
    for segment, kind, before_start in write.written:
        assert segment.id is not None
        after_start = None if kind == "cancelled" else segment.start_at
        write.report.changes.append(
            SegmentChange(segment.id, segment.uid, kind, before_start, after_start)
        )


@dataclass(frozen=True)
class SegmentOutcome:
    """What applying a schedule does (or would do) to one segment, with the fields that change
    as the history records them (instants and dates as ISO text)."""

    key: str
    uid: str
    kind: ChangeKind | Literal["unchanged"]
    title: str
    start_at: datetime
    fields: tuple[tuple[str, Any, Any], ...] = ()  # (name, before, after)


def preview(
    schedule: ScheduleInput, segments: Iterable[Segment], uid_domain: str
) -> list[SegmentOutcome]:
    """What `Catalog.apply` would do to a visit's stored `segments` (the steps _add_segment,
    _update_segment, _cancel_missing_segment), decided by the same rules without writing: a dry
    run needs no write lock, and one taken inside the write transaction reports exactly what
    the write then does."""
    stored = {segment.key: segment for segment in segments}
    outcomes = []
    for segment_input in schedule.segments:
        fields = segment_columns(segment_input)
        segment = stored.pop(segment_input.key, None)
        if segment is None:
            uid = segment_uid(schedule.visit.slug, segment_input, uid_domain)
            outcomes.append(_outcome(segment_input.key, uid, "added", None, fields))
        elif segment.content_hash != _digest(fields):
            kind = _classify(segment, fields)
            before = segment_columns(segment)
            outcomes.append(_outcome(segment.key, segment.uid, kind, before, fields))
        else:
            outcomes.append(_outcome(segment.key, segment.uid, "unchanged", None, fields))
    for segment in stored.values():
        if schedule.complete and segment.status != "cancelled":
            before = segment_columns(segment)
            after = {**before, "status": "cancelled"}
            outcomes.append(_outcome(segment.key, segment.uid, "cancelled", before, after))
    return outcomes


def _outcome(
    key: str,
    uid: str,
    kind: ChangeKind | Literal["unchanged"],
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> SegmentOutcome:
    changes: tuple[tuple[str, Any, Any], ...] = ()
    if kind != "unchanged":  # the fields _record keeps in the history
        old, new = _jsonable(before) or {}, _jsonable(after) or {}
        changes = tuple(
            (name, old.get(name), new[name]) for name in new if old.get(name) != new[name]
        )
    return SegmentOutcome(key, uid, kind, after["title"], after["start_at"], changes)


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
        if _same_file_as_last_load(session, schedule):
            report.unchanged += len(schedule.segments)
            return  # keep what the API changed since
        visit, visit_changed = _write_visit(session, schedule.visit, now, report, actor)
        write = _VisitWrite(session, visit, visit_changed, now, actor, report)
        stored = {
            s.key: s for s in session.exec(select(Segment).where(Segment.visit_id == visit.id))
        }
        for (slug, key), sequence in expect.items():
            if slug == visit.slug and key in stored:
                check_sequence(stored[key], sequence)
        for segment_input in schedule.segments:
            segment = stored.pop(segment_input.key, None)
            if segment is None:
                self._add_segment(write, segment_input)
            else:
                self._update_segment(write, segment, segment_input)
        for segment in stored.values():
            if schedule.complete and segment.status != "cancelled":
                self._cancel_missing_segment(write, segment)
            elif visit_changed:
                self._store(session, segment, visit)
        session.flush()
        _insert_added_segments(write)
        _report_written_segments(write)

    def _add_segment(self, write: _VisitWrite, segment_input: SegmentInput) -> None:
        """A new segment keeps the UID it came with (an import) or gets a stable one from the
        visit's slug and its id."""
        fields = segment_columns(segment_input)
        visit = write.visit
        row = {
            "visit_id": visit.id,
            "key": segment_input.key,
            "uid": segment_uid(visit.slug, segment_input, self.settings.uid_domain),
            "sequence": segment_input.sequence or 0,
            "content_hash": _digest(fields),
            "created_at": write.now,
            "changed_at": write.now,
            "public_changed_at": write.now if fields["visibility"] == "public" else None,
            **fields,
        }
        # New segments go in with one multi-row INSERT: building an ORM object per segment
        # costs more than rendering its VEVENT.
        row["ics"] = render_segment(SimpleNamespace(**row), visit, self.settings)
        write.added.append(row)
        write.record(segment_input.key, "added", None, fields)

    def _update_segment(
        self, write: _VisitWrite, segment: Segment, segment_input: SegmentInput
    ) -> None:
        """A changed segment gets SEQUENCE+1 (at least the SEQUENCE an import brings); an
        unchanged one is rendered again only when its visit's fields changed."""
        fields = segment_columns(segment_input)
        digest = _digest(fields)
        if segment.content_hash == digest:
            if write.visit_changed:  # the visit's fields are part of every VEVENT
                self._store(write.session, segment, write.visit)
            else:
                write.report.unchanged += 1
            return
        kind = _classify(segment, fields)
        before = segment_columns(segment)
        for name, value in fields.items():
            setattr(segment, name, value)
        self._bump(segment, digest, write.now, before["visibility"] == "public")
        if segment_input.sequence is not None:
            segment.sequence = max(segment.sequence, segment_input.sequence)
        self._store(write.session, segment, write.visit)
        write.written.append((segment, kind, before["start_at"]))
        write.record(segment.key, kind, before, fields)

    def _cancel_missing_segment(self, write: _VisitWrite, segment: Segment) -> None:
        """A segment gone from a complete schedule stays in feeds as cancelled, so that
        calendars that hold it learn of it instead of silently keeping it."""
        before = segment_columns(segment)
        segment.status = "cancelled"
        after = segment_columns(segment)
        self._bump(segment, _digest(after), write.now, segment.visibility == "public")
        self._store(write.session, segment, write.visit)
        write.written.append((segment, "cancelled", segment.start_at))
        write.record(segment.key, "cancelled", before, after)

    @staticmethod
    def _bump(segment: Segment, digest: str, now: datetime, was_public: bool) -> None:
        segment.sequence += 1
        segment.content_hash = digest
        # DTSTAMP and LAST-MODIFIED come from changed_at and are written in whole seconds: a
        # second change within the same second must still move them forward.
        segment.changed_at = max(now, segment.changed_at + timedelta(seconds=1))
        if was_public or segment.visibility == "public":  # public feeds' bytes change too
            segment.public_changed_at = segment.changed_at

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
            try:
                visit = visit_by_slug(session, slug)
                segment = segment_by_key(session, visit, key)
            except NotFound:
                raise NotFound(f"no segment {key!r} in visit {slug!r}") from None
            if expected is not None:
                check_sequence(segment, expected)
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
            visit = visit_by_slug(session, slug)
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
