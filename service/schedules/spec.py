"""A visit's schedule as validated input: local dates and times resolved to aware instants."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.input_rules import (
    TEXT,
    TITLE,
    Day,
    Item,
    Line,
    LocalTime,
    Name,
    Text,
    multi_line,
    one_line,
)
from service.localtime import local_instant, start_of_day, zone

# The one pattern for slugs and segment ids: they appear in URLs and UIDs as they are.
NAME = r"[a-z0-9][a-z0-9-]{0,119}"
SLUG = re.compile(rf"^{NAME}$")


def check_name(value: str) -> str:
    """A slug, segment id or token name as it is, or ValueError with the rule."""
    if not SLUG.match(value):
        raise ValueError("use lowercase letters, digits and hyphens (at most 120)")
    return value


Kind = Literal[
    "arrival", "meeting", "meal", "ceremony", "exchange", "community", "press", "departure", "other"
]
PartOfDay = Literal["morning", "afternoon", "evening"]
Windows = dict[str, tuple[time, time]]

# The texts a schedule may give in other languages than its default one, and their limits.
# A visit's guest and host are names, offices and countries: in another language they are one
# line each as that language says who they are ("大韓民国 李在明大統領").
VISIT_TEXTS = {"title": TITLE, "place": TITLE, "description": TEXT, "guest": TITLE, "host": TITLE}
SEGMENT_TEXTS = {"title": TITLE, "location": TITLE, "description": TEXT}
Translations = dict[str, dict[str, str]]  # {"ja": {"title": "首脳会談", "location": "奈良"}}


def check_translations(value: Translations, texts: Mapping[str, int]) -> Translations:
    """`translations.<lang>.<field>`: a language we serve other than the default (whose texts
    are the plain fields), a field that is a text, within its limit; empty texts dropped."""
    others = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
    checked: Translations = {}
    for lang, given in value.items():
        if lang not in others:
            raise ValueError(
                f"translations: {lang[:20]!r} is not one of {', '.join(others)} "
                f"(the plain fields are the {DEFAULT_LANGUAGE} texts)"
            )
        kept = {}
        for name, text in given.items():
            if name not in texts:
                raise ValueError(
                    f"translations: {lang}.{name[:40]} is not a text that has translations "
                    f"({', '.join(texts)})"
                )
            if len(text) > texts[name]:
                raise ValueError(f"translations: {lang}.{name} is longer than {texts[name]}")
            rule = multi_line if name == "description" else one_line
            try:
                rule(text)
            except ValueError as error:
                raise ValueError(f"translations: {lang}.{name} {error}") from None
            if text.strip():
                kept[name] = _newlines(text)
        if kept:
            checked[lang] = kept
    return checked


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(default="", max_length=TITLE)
    office: Line = Field(default="", max_length=TITLE)
    country: Line = Field(default="", max_length=TITLE)


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(default="", max_length=TITLE)
    date: Day | None = None
    url: Line = Field(default="", max_length=2000)


class VisitSpec(BaseModel):
    """The [visit] table of a schedule file (and the body of the visit API)."""

    model_config = ConfigDict(extra="forbid")
    slug: str = Field(max_length=120)
    title: Line = Field(min_length=1, max_length=TITLE)
    timezone: str = Field(default="Asia/Tokyo", max_length=64)
    first_day: Day
    last_day: Day
    status: Literal["announced", "confirmed", "postponed", "cancelled"] = "announced"
    guest: Person
    host: Person = Person()
    place: Line = Field(default="", max_length=TITLE)
    description: Text = Field(default="", max_length=TEXT)
    source: Source = Source()
    tags: list[Item] = Field(default_factory=list, max_length=50)
    translations: Translations = Field(default_factory=dict)

    _slug = field_validator("slug")(check_name)

    @field_validator("translations")
    @classmethod
    def _translations(cls, value: Translations) -> Translations:
        return check_translations(value, VISIT_TEXTS)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _days(self) -> VisitSpec:
        if self.last_day < self.first_day:
            raise ValueError(f"last_day: {self.last_day} is before first_day {self.first_day}")
        return self


def _newlines(value: Any) -> Any:
    """CRLF and CR as LF: iCalendar text has one kind of line break, so a text keeps its bytes
    through a feed and an import only if it is stored that way."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class SegmentSpec(BaseModel):
    """One [[segment]] of a schedule file: local date and times in the visit's zone."""

    model_config = ConfigDict(extra="forbid")
    _text = field_validator("title", "location", "description", mode="before")(_newlines)
    id: str = Field(max_length=120)
    title: Line = Field(min_length=1, max_length=TITLE)
    kind: Kind
    date: Day
    end_date: Day | None = None
    start: LocalTime | None = None
    end: LocalTime | None = None
    part_of_day: PartOfDay | None = None
    location: Line = Field(default="", max_length=TITLE)
    participants: list[Name] = Field(default_factory=list, max_length=100)
    status: Literal["tentative", "confirmed", "cancelled"] | None = None
    visibility: Literal["public", "restricted"] = "public"
    description: Text = Field(default="", max_length=TEXT)
    tags: list[Item] = Field(default_factory=list, max_length=50)
    translations: Translations = Field(default_factory=dict)

    @field_validator("translations")
    @classmethod
    def _translations(cls, value: Translations) -> Translations:
        return check_translations(value, SEGMENT_TEXTS)

    _id = field_validator("id")(check_name)

    @model_validator(mode="after")
    def _shape(self) -> SegmentSpec:
        if self.start is not None and self.part_of_day is not None:
            raise ValueError("part_of_day: give either start or part_of_day, not both")
        if self.end is not None and self.start is None:
            raise ValueError("end: an end time needs a start time")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end: {self.end:%H:%M} is not after start {self.start:%H:%M}")
        if self.end_date is not None and self.end_date < self.date:
            raise ValueError(f"end_date: {self.end_date} is before date {self.date}")
        if self.end_date is not None and (self.start is not None or self.part_of_day):
            raise ValueError("end_date: only a whole-day segment spans several days")
        return self


@dataclass(frozen=True)
class SegmentInput:
    """A segment ready to store: aware UTC instants and how precise they are."""

    key: str
    kind: str
    title: str
    start_at: datetime
    end_at: datetime
    timezone: str
    precision: str
    part_of_day: str | None
    location: str
    participants: tuple[str, ...]
    status: str
    visibility: str
    description: str
    tags: tuple[str, ...]
    translations: Translations = field(default_factory=dict)  # compare=True: part of content
    # From an imported calendar: its UID is kept, and its SEQUENCE is a floor for ours.
    uid: str | None = None
    sequence: int | None = None


@dataclass(frozen=True)
class ScheduleInput:
    """A visit as one unit of change: the visit and its segments.

    `complete`: the segments are all the visit has now, so any other segment is cancelled
    (a schedule file, a full re-import). Otherwise only the given segments change (the API).
    """

    visit: VisitSpec
    segments: tuple[SegmentInput, ...] = field(default=())
    origin: str = ""
    complete: bool = True
    # A schedule file's content hash: a file is applied when it changes, so that reloading the
    # same files (every `visitcal up`) keeps what organizers changed through the API since.
    file_digest: str = ""


DEFAULT_DURATION = timedelta(hours=1)


def resolve_segment(spec: SegmentSpec, visit: VisitSpec, windows: Windows) -> SegmentInput:
    """Turn a segment's local date and times into instants; ValueError names the field."""
    tz = zone(visit.timezone)
    last = spec.end_date or spec.date
    for name, day in (("date", spec.date), ("end_date", last)):
        if not visit.first_day <= day <= visit.last_day:
            raise _FieldError(
                name, f"{day} is outside the visit ({visit.first_day} to {visit.last_day})"
            )
    if spec.start is not None:
        precision, part = "exact", None
        try:
            start_at = local_instant(spec.date, spec.start, tz)
        except ValueError as error:
            raise _FieldError("start", str(error)) from None
        try:
            end_at = (
                local_instant(spec.date, spec.end, tz)
                if spec.end is not None
                else start_at + DEFAULT_DURATION
            )
        except ValueError as error:
            raise _FieldError("end", str(error)) from None
    elif spec.part_of_day is not None:
        precision, part = "part_of_day", spec.part_of_day
        opens, closes = windows[spec.part_of_day]
        try:
            start_at = local_instant(spec.date, opens, tz)
            end_at = local_instant(spec.date, closes, tz)
        except ValueError as error:  # the window opens or closes in a gap or fold of the zone
            raise _FieldError("part_of_day", str(error)) from None
    else:
        precision, part = "day", None
        start_at = start_of_day(spec.date, tz)
        end_at = start_of_day(last + timedelta(days=1), tz)
    status = spec.status or ("confirmed" if precision == "exact" else "tentative")
    if precision != "exact" and status == "confirmed":
        raise _FieldError("status", "a segment without a clock time cannot be confirmed")
    return SegmentInput(
        key=spec.id,
        kind=spec.kind,
        title=spec.title,
        start_at=start_at,
        end_at=end_at,
        timezone=visit.timezone,
        precision=precision,
        part_of_day=part,
        location=spec.location,
        participants=tuple(spec.participants),
        status=status,
        visibility=spec.visibility,
        description=spec.description,
        tags=tuple(spec.tags),
        translations=spec.translations,
    )


def field_and_reason(error: Mapping[str, Any]) -> tuple[tuple[Any, ...], str]:
    """Where a pydantic error is and why, as a user reads it.

    Our model validators say "field: reason" (a check across fields has no field of its own):
    the field moves into the location, like any other.
    """
    location = tuple(error["loc"])
    reason = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        reason = "unknown field"
    elif error["type"] == "missing":
        reason = "required field is missing"
    found = re.match(r"^([a-z_]+): (.*)$", reason, re.S)
    if found and error["type"] == "value_error":
        location, reason = (*location, found.group(1)), found.group(2)
    return location, reason


class _FieldError(ValueError):
    def __init__(self, field_name: str, reason: str) -> None:
        self.field_name = field_name
        self.reason = reason
        super().__init__(f"{field_name}: {reason}")


FieldError = _FieldError
