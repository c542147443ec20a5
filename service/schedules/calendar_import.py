"""Importing an `.ics` calendar into a visit: its events become the visit's segments.

An import is a complete schedule for the visit: events are matched to segments by UID (a new
UID becomes a new segment whose key derives from it), changed events are updates through the
catalog's rules (SEQUENCE kept at least as high as the calendar's), and public segments the
calendar no longer has are cancelled. Decisions:
- Events outside the visit's days are skipped with a warning (a calendar often holds more
  than one visit); recurring events are expanded within the visit's days only.
- What an iCalendar event cannot say is kept from the segment it updates: its visibility (an
  import never publishes a restricted segment), and its kind when CATEGORIES names none.
  Restricted segments the calendar does not have are kept, not cancelled: a public calendar
  cannot show them, so their absence says nothing.
- A dry run decides from what it reads, with the catalog's own rules (catalog.preview), and
  takes no write lock: a large dry run never holds up sign-ups or edits. A real run takes its
  diff the same way, inside its write transaction, so both report the same thing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from feeds.ical_import import CalendarFormatError, ImportedEvent, parse_calendar, read_decorations
from service.db import Database
from service.errors import InputError, PreconditionFailed
from service.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.input_rules import TAG, multi_line, one_line
from service.localtime import start_of_day, zone
from service.models import SEGMENT_KINDS, Segment, Visit
from service.schedules.catalog import Catalog, SegmentOutcome, preview
from service.schedules.fields import segment_as_input, visit_spec_data
from service.schedules.lookup import visit_by_slug
from service.schedules.remote_calendar import fetch_calendar
from service.schedules.spec import TEXT, TITLE, ScheduleInput, SegmentInput, VisitSpec, Windows
from service.settings import Settings

KEY_LENGTH = 120
UNTITLED = "Untitled event"
# CATEGORIES words that say which of our kinds an event is; our own feeds write the kind itself.
_KIND_WORDS = {kind: kind for kind in SEGMENT_KINDS} | {
    "arrive": "arrival",
    "arrivals": "arrival",
    "summit": "meeting",
    "talks": "meeting",
    "meetings": "meeting",
    "bilateral": "meeting",
    "breakfast": "meal",
    "lunch": "meal",
    "luncheon": "meal",
    "dinner": "meal",
    "banquet": "meal",
    "ceremonies": "ceremony",
    "wreath": "ceremony",
    "exchanges": "exchange",
    "diaspora": "community",
    "media": "press",
    "depart": "departure",
    "departures": "departure",
}


class CalendarInputError(InputError):
    """Bad calendar input, with the line of the calendar it is on (when there is one)."""

    def __init__(self, field: str, reason: str, source: str, line: int | None) -> None:
        self.line = line
        super().__init__(field, reason, f"{source}:{line}" if line else source)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class SegmentDiff:
    """What an import does (or would do) to one segment."""

    key: str
    uid: str
    title: str
    change: str  # added, changed, moved, refined, restored, cancelled, unchanged
    start: datetime
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    visit: str
    timezone: str
    dry_run: bool
    segments: tuple[SegmentDiff, ...]
    warnings: tuple[str, ...] = ()

    def of(self, *changes: str) -> list[SegmentDiff]:
        return [s for s in self.segments if s.change in changes]

    @property
    def added(self) -> list[SegmentDiff]:
        return self.of("added")

    @property
    def changed(self) -> list[SegmentDiff]:
        return self.of("changed", "moved", "refined", "restored")

    @property
    def cancelled(self) -> list[SegmentDiff]:
        return self.of("cancelled")

    @property
    def unchanged(self) -> list[SegmentDiff]:
        return self.of("unchanged")


@dataclass(frozen=True)
class ImportPlan:
    schedule: ScheduleInput
    lines: dict[str, int]  # segment key -> the line of its event
    warnings: tuple[str, ...] = ()


# --- events to segments (no database) ---


def segment_key(uid: str, taken: set[str]) -> str:
    """A segment key for a new UID: lowercase letters, digits and hyphens from the part before
    the @, with a short hash of the whole UID added when that is empty, too long or taken."""
    local = uid.rpartition("@")[0] or uid
    slug = re.sub(r"[^a-z0-9]+", "-", local.lower()).strip("-")
    digest = hashlib.sha256(uid.encode()).hexdigest()[:8]
    if slug and len(slug) <= KEY_LENGTH and slug not in taken:
        return slug
    base = (slug[: KEY_LENGTH - 9].rstrip("-") or "event") + "-" + digest
    key, count = base, 1
    while key in taken:  # two UIDs with the same hash prefix: not expected, still handled
        count += 1
        key = f"{base[: KEY_LENGTH - len(str(count)) - 1]}-{count}"
    return key


def guess_kind(categories: Sequence[str]) -> tuple[str | None, int | None]:
    """The kind the categories name (and the index of the category that is the kind's own
    name, which is not kept as a tag), or None."""
    for index, category in enumerate(categories):
        name = category.strip().lower()
        if name in SEGMENT_KINDS:
            return name, index
        if name in _KIND_WORDS:
            return _KIND_WORDS[name], None
        for word in re.findall(r"[a-z]+", name):
            if word in _KIND_WORDS:
                return _KIND_WORDS[word], None
    return None, None


def _tags(categories: Sequence[str], skip: int | None) -> tuple[str, ...]:
    tags: list[str] = []
    for index, category in enumerate(categories):
        tag = category.strip()
        if index != skip and tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _local_days(event: ImportedEvent, tz_name: str) -> tuple[date, date]:
    """The days an event is on for the visit: its start's local day, or an all-day event's
    dates (DTEND is the day after the last)."""
    if isinstance(event.start, datetime):
        day = event.start.astimezone(zone(tz_name)).date()
        return day, day
    assert not isinstance(event.end, datetime)
    return event.start, max(event.start, event.end - timedelta(days=1))


def _describe_when(event: ImportedEvent, tz_name: str) -> str:
    if isinstance(event.start, datetime):
        return f"{event.start.astimezone(zone(tz_name)):%Y-%m-%d %H:%M} ({tz_name})"
    return f"{event.start:%Y-%m-%d}"


def _checked_text(
    value: str, limit: int, name: str, event: ImportedEvent, source: str, lines: bool = False
) -> str:
    """The text within its limit and the input rules: a one-line field's line breaks and tabs
    are read as spaces (calendars put addresses on several lines), any other control
    character is refused, as it is everywhere else."""
    if not lines:
        value = " ".join(value.replace("\t", " ").splitlines())
    if len(value) > limit:
        raise CalendarInputError(
            f"VEVENT {event.uid}.{name}",
            f"is {len(value):,} characters, over the limit of {limit:,}",
            source,
            event.line,
        )
    try:
        (multi_line if lines else one_line)(value)
    except ValueError as error:
        raise CalendarInputError(
            f"VEVENT {event.uid}.{name}", str(error), source, event.line
        ) from None
    return value


def _translations(
    existing: Segment | None, event: ImportedEvent, title: str, description: str
) -> dict[str, dict[str, str]]:
    """The segment's translations: those it has (a calendar carries one text per property), and
    the event's own texts under the language they say they are in (SUMMARY;LANGUAGE=ja), when
    that is one of ours besides the default."""
    kept = {
        lang: dict(texts) for lang, texts in (existing.translations if existing else {}).items()
    }
    texts = {"SUMMARY": ("title", title), "LOCATION": ("location", event.location)}
    texts["DESCRIPTION"] = ("description", description)
    for name, lang in event.languages:
        field, text = texts[name]
        if lang in LANGUAGES and lang != DEFAULT_LANGUAGE and text.strip():
            kept.setdefault(lang, {})[field] = text
    return kept


def _segment_input(
    event: ImportedEvent,
    key: str,
    visit: Visit,
    existing: Segment | None,
    windows: Windows,
    source: str,
) -> SegmentInput:
    decorated = read_decorations(event.summary, event.description, event.all_day)
    tz_name = event.zone or (existing.timezone if existing else visit.timezone)
    tz = zone(tz_name)
    part: str | None = None
    if isinstance(event.start, datetime) and isinstance(event.end, datetime):
        start_at, end_at = event.start.astimezone(UTC), event.end.astimezone(UTC)
        precision = "exact"
        if decorated.part_of_day is not None:
            # Our own label read back: still a part of the day only if the times are its window.
            opens, closes = windows[decorated.part_of_day]
            local_start, local_end = event.start.astimezone(tz), event.end.astimezone(tz)
            if (
                local_start.time() == opens
                and local_end.time() == closes
                and local_start.date() == local_end.date()
            ):
                precision, part = "part_of_day", decorated.part_of_day
    else:
        assert isinstance(event.start, date) and isinstance(event.end, date)
        precision = "day"
        end_day = max(event.end, event.start + timedelta(days=1))
        start_at, end_at = start_of_day(event.start, tz), start_of_day(end_day, tz)
    status = event.status.lower() or ("confirmed" if precision == "exact" else "tentative")
    if precision != "exact" and status == "confirmed":
        status = "tentative"  # our rule: a segment without a clock time is not confirmed
    kind, kind_index = guess_kind(event.categories)
    title = decorated.title.strip() or UNTITLED
    participants = decorated.participants
    tags = _tags(event.categories, kind_index)
    if len(participants) > 100 or len(tags) > 50:
        raise CalendarInputError(
            f"VEVENT {event.uid}",
            "too many participants (over 100) or categories (over 50)",
            source,
            event.line,
        )
    participants = tuple(
        _checked_text(p, TITLE, "participant", event, source) for p in participants
    )
    tags = tuple(_checked_text(t, TAG, "CATEGORIES", event, source) for t in tags)
    return SegmentInput(
        key=key,
        kind=kind or (existing.kind if existing else "other"),
        title=_checked_text(title, TITLE, "SUMMARY", event, source),
        start_at=start_at,
        end_at=end_at,
        timezone=tz_name,
        precision=precision,
        part_of_day=part,
        location=_checked_text(event.location, TITLE, "LOCATION", event, source),
        participants=participants,
        status=status,
        visibility=existing.visibility if existing else "public",
        description=_checked_text(
            decorated.description, TEXT, "DESCRIPTION", event, source, lines=True
        ),
        tags=tags,
        translations=_translations(existing, event, title, decorated.description),
        uid=event.uid,
        sequence=event.sequence,
    )


def visit_spec(visit: Visit) -> VisitSpec:
    """The visit as stored: an import changes its segments, never the visit itself."""
    return VisitSpec.model_validate(visit_spec_data(visit))


def plan_import(
    events: Sequence[ImportedEvent],
    visit: Visit,
    segments: Sequence[Segment],
    windows: Windows,
    source: str,
) -> ImportPlan:
    """The complete schedule an import makes of a visit's current segments and the events."""
    by_uid = {segment.uid: segment for segment in segments}
    taken = {segment.key for segment in segments}
    seen: dict[str, int] = {}
    inputs: list[SegmentInput] = []
    lines: dict[str, int] = {}
    warnings: list[str] = []
    for event in events:
        if event.uid in seen:
            raise CalendarInputError(
                f"VEVENT {event.uid}",
                f"UID also used by the event at line {seen[event.uid]}",
                source,
                event.line,
            )
        seen[event.uid] = event.line
        first, last = _local_days(event, visit.timezone)
        if first < visit.first_day or last > visit.last_day:
            warnings.append(
                f"{source}:{event.line}: VEVENT {event.uid} ({event.summary.strip()!r}) on "
                f"{_describe_when(event, visit.timezone)} is outside the visit "
                f"({visit.first_day} to {visit.last_day}); skipped"
            )
            continue
        existing = by_uid.get(event.uid)
        if existing is not None:
            key = existing.key
        else:
            key = segment_key(event.uid, taken)
            taken.add(key)
        inputs.append(_segment_input(event, key, visit, existing, windows, source))
        lines[key] = event.line
    if not inputs:
        # Importing the wrong file would otherwise cancel every segment of the visit.
        raise CalendarInputError(
            "calendar",
            f"no event falls within the visit's days ({visit.first_day} to {visit.last_day}); "
            "to cancel the visit's segments, cancel them (or the visit) instead",
            source,
            None,
        )
    imported = {segment_input.key for segment_input in inputs}
    for segment in segments:
        if segment.key not in imported and segment.visibility == "restricted":
            inputs.append(
                segment_as_input(segment)
            )  # kept as it is: the calendar cannot know of it
    schedule = ScheduleInput(visit_spec(visit), tuple(inputs), origin=source, complete=True)
    return ImportPlan(schedule, lines, tuple(warnings))


# --- reading, applying, and the diff ---


def _read_visit(db: Database, slug: str) -> tuple[Visit, list[Segment]]:
    with db.session() as session:
        visit = visit_by_slug(session, slug)
        segments = list(session.exec(select(Segment).where(Segment.visit_id == visit.id)))
    return visit, segments


def _check_uids_elsewhere(db: Database, visit: Visit, plan: ImportPlan, source: str) -> None:
    """A UID is unique across visits: one that belongs to another visit cannot come here."""
    uids = {s.uid: s.key for s in plan.schedule.segments if s.uid}
    if not uids:
        return
    with db.session() as session:
        rows = session.exec(
            select(Segment.uid, Visit.slug)
            .join(Visit, col(Visit.id) == col(Segment.visit_id))
            .where(col(Segment.uid).in_(list(uids)), col(Segment.visit_id) != visit.id)
        ).all()
    for uid, other in sorted(rows):
        raise CalendarInputError(
            f"VEVENT {uid}",
            f"this UID belongs to a segment of visit {other!r}",
            source,
            plan.lines.get(uids[uid]),
        )


# The order a diff lists fields in: when and what first, the rest after.
_FIELD_ORDER = (
    "title",
    "kind",
    "start_at",
    "end_at",
    "timezone",
    "precision",
    "part_of_day",
    "status",
    "location",
    "participants",
    "description",
    "tags",
    "visibility",
)


def _field_order(name: str) -> tuple[int, str]:
    return (_FIELD_ORDER.index(name) if name in _FIELD_ORDER else len(_FIELD_ORDER), name)


def _field_change(name: str, before: Any, after: Any) -> FieldChange:
    # Instants come back from their ISO text: a diff shows them in the visit's zone.
    if name in ("start_at", "end_at"):
        before = datetime.fromisoformat(before) if isinstance(before, str) else before
        after = datetime.fromisoformat(after) if isinstance(after, str) else after
    return FieldChange(name, before, after)


def _diff(outcomes: list[SegmentOutcome]) -> tuple[SegmentDiff, ...]:
    diffs = [
        SegmentDiff(
            outcome.key,
            outcome.uid,
            outcome.title,
            outcome.kind,
            outcome.start_at,
            tuple(
                _field_change(*change)
                for change in sorted(outcome.fields, key=lambda c: _field_order(c[0]))
            ),
        )
        for outcome in outcomes
    ]
    return tuple(sorted(diffs, key=lambda diff: (diff.start, diff.key)))


def import_calendar(
    catalog: Catalog,
    slug: str,
    data: bytes,
    *,
    source: str,
    actor: str,
    now: datetime,
    dry_run: bool = False,
) -> ImportResult:
    """Import `data` (an .ics) into the visit `slug`, or with `dry_run` only say what would
    change. Bad input raises InputError naming the line, and nothing is written."""
    visit, segments = _read_visit(catalog.db, slug)
    try:
        events = parse_calendar(
            data,
            zone=visit.timezone,
            first_day=visit.first_day,
            last_day=visit.last_day,
            max_bytes=catalog.settings.import_max_bytes,
        )
    except CalendarFormatError as error:
        raise CalendarInputError(error.component, error.reason, source, error.line) from None
    plan = plan_import(events, visit, segments, catalog.settings.part_of_day, source)
    _check_uids_elsewhere(catalog.db, visit, plan, source)
    uid_domain = catalog.settings.uid_domain
    if dry_run:  # decided from what was read: no write transaction, no lock
        outcomes = preview(plan.schedule, segments, uid_domain)
        return ImportResult(slug, visit.timezone, True, _diff(outcomes), plan.warnings)

    planned_against = {(segment.key, segment.sequence) for segment in segments}
    outcomes = []

    def edit(session: Session) -> list[ScheduleInput]:
        """Under the catalog's lock: refuse if anything the plan was made from has changed
        since (rather than undo it), and take the diff from the rows the write replaces."""
        current = visit_by_slug(session, slug)
        if visit_spec(current) != plan.schedule.visit:
            raise PreconditionFailed("the visit itself was changed")
        rows = list(session.exec(select(Segment).where(Segment.visit_id == current.id)))
        now_there = {(row.key, row.sequence) for row in rows}
        moved_on = sorted(key for key, _ in now_there ^ planned_against)
        if moved_on:
            raise PreconditionFailed(f"segment {moved_on[0]!r} was changed meanwhile")
        outcomes.extend(preview(plan.schedule, rows, uid_domain))
        return [plan.schedule]

    try:
        catalog.apply_edit(edit, now, actor=actor[:100])  # what the history keeps
    except PreconditionFailed as error:
        raise PreconditionFailed(
            f"visit {slug!r} changed while it was being imported ({error}); import again"
        ) from None
    return ImportResult(slug, visit.timezone, False, _diff(outcomes), plan.warnings)


def read_file(path: Path, max_bytes: int) -> bytes:
    """An .ics file's bytes, refusing one over the size limit before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                "file", f"is {size:,} bytes, over the limit of {max_bytes:,} bytes", str(path)
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file", "no such file", str(path)) from None
    except IsADirectoryError:
        raise InputError("file", "is a directory, not an .ics file", str(path)) from None
    except OSError as error:
        raise InputError("file", f"cannot be read: {error.strerror}", str(path)) from None


def read_source(source: str, settings: Settings) -> bytes:
    """The calendar an import names: an http(s) URL (anything with a scheme is taken as a URL,
    so that ftp:// or file:// are refused rather than read as file names), or a file."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source):
        return fetch_calendar(source, settings)
    return read_file(Path(source), settings.import_max_bytes)
