"""Table models: visits, their segments, and the catalog's change counter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from service.timetypes import UTCDateTime

VISIT_STATUSES = ("announced", "confirmed", "postponed", "cancelled")
SEGMENT_KINDS = (
    "arrival",
    "meeting",
    "meal",
    "ceremony",
    "exchange",
    "community",
    "press",
    "departure",
    "other",
)
SEGMENT_STATUSES = ("tentative", "confirmed", "cancelled")
PRECISIONS = ("exact", "part_of_day", "day")
VISIBILITIES = ("public", "restricted")


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))


def _instant(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=False, **kwargs))


class Visit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=120)
    title: str
    guest_name: str
    guest_office: str = ""
    guest_country: str = ""
    host_name: str = ""
    host_office: str = ""
    host_country: str = ""
    place: str = ""
    timezone: str = "Asia/Tokyo"
    first_day: date
    last_day: date
    status: str = "announced"
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source_name: str = ""
    source_date: date | None = None
    source_url: str = ""
    tags: list[str] = _json_list()
    # Texts in other languages than the default: {"ja": {"title": "...", "place": "..."}}.
    translations: dict[str, dict[str, str]] = _json_dict()
    content_hash: str = ""
    created_at: datetime = _instant()
    changed_at: datetime = _instant()


class Segment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("visit_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    key: str = Field(max_length=120)  # the segment's id inside its visit
    uid: str = Field(unique=True)
    kind: str
    title: str
    start_at: datetime = _instant(index=True)
    end_at: datetime = _instant()
    timezone: str = "Asia/Tokyo"
    precision: str = "exact"
    part_of_day: str | None = None
    location: str = ""
    participants: list[str] = _json_list()
    status: str = "confirmed"
    visibility: str = "public"
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: list[str] = _json_list()
    # Texts in other languages than the default: {"ja": {"title": "...", "location": "..."}}.
    translations: dict[str, dict[str, str]] = _json_dict()
    sequence: int = 0
    content_hash: str = ""
    created_at: datetime = _instant()
    changed_at: datetime = _instant()
    # The last change public feeds show (its own while public; entering or leaving them): a
    # public feed's Last-Modified, which must not move when only a restricted segment changes.
    public_changed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # The segment's VEVENT, rendered when the segment is written, so that a feed is assembled
    # from stored bytes rather than rendered on every change or restart.
    ics: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class CatalogState(SQLModel, table=True):
    """Named values shared by every process: the change counter and the render key."""

    __tablename__ = "catalog_state"

    name: str = Field(primary_key=True)
    value: str


class Subscription(SQLModel, table=True):
    """A follower's request for reminders: a channel, what to follow, offsets and a zone."""

    # Sign-ups left unconfirmed, by age: each sign-up deletes the expired ones (0006).
    __table_args__ = (
        Index(
            "ix_subscription_unconfirmed",
            "changed_at",
            postgresql_where=text("confirmed_at IS NULL"),
            sqlite_where=text("confirmed_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    # The Apprise URL must be kept to deliver; it is never shown back except redacted.
    channel: str = Field(sa_column=Column(Text, nullable=False))
    channel_redacted: str = Field(sa_column=Column(Text, nullable=False))
    visits: list[str] = _json_list()
    kinds: list[str] = _json_list()
    tags: list[str] = _json_list()
    offsets: list[int] = _json_list()  # seconds before the segment's start
    timezone: str = "UTC"
    language: str = "en"  # the reminders' and notices' language (service/i18n)
    label: str = ""
    token_hash: str = Field(max_length=64)
    active: bool = True
    # Email only: every followed segment also arrives as a calendar invitation (iMIP), updated
    # by a new one at each change and withdrawn by a CANCEL.
    invitations: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    # A visit's broadcast channel, set by an operator (`visitcal broadcast add`): one channel
    # (an ntfy topic, a Telegram or Matrix channel) that any number of people follow; the
    # visit page shows `follow_url` and `label` to tell readers how.
    broadcast: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    follow_url: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # Nothing but the confirmation message goes to the channel until whoever reads it confirms
    # (double opt-in): a stranger cannot aim reminders at someone else's mailbox or webhook.
    confirmed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = _instant()
    changed_at: datetime = _instant()

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


REMINDER_STATES = ("pending", "claimed", "sent", "failed", "missed", "cancelled")
# "reminder" is the ordinary one; "invitation" puts the segment in an email follower's calendar
# (iMIP) and "withdrawn" takes it out again when it is made restricted; the others are notices
# about a change to the segment.
REMINDER_KINDS = ("reminder", "moved", "refined", "cancelled", "changed", "invitation", "withdrawn")


class Reminder(SQLModel, table=True):
    """One message to one follower about one segment, with its due instant and its fate."""

    # What a worker asks for on every wake-up: the claimable rows in due order.
    __table_args__ = (Index("ix_reminder_claimable", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(foreign_key="subscription.id", index=True, max_length=32)
    segment_id: int = Field(foreign_key="segment.id", index=True)
    kind: str = "reminder"
    offset_seconds: int = 0
    # The segment start (and sequence) this row was planned for; a move re-plans it.
    segment_start: datetime = _instant()
    segment_sequence: int = 0
    due_at: datetime = _instant()
    # When a worker may take it next: the due instant, then later for each retry.
    next_attempt_at: datetime = _instant(index=True)
    state: str = Field(default="pending", index=True, max_length=16)
    late: bool = False
    attempts: int = 0
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    claimed_by: str = ""
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    result: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _instant()


class OrganizerToken(SQLModel, table=True):
    """A named bearer token for the write API; only its hash is kept."""

    __tablename__ = "organizer_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _instant()
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class PrivateFeed(SQLModel, table=True):
    """A saved feed behind an unguessable URL, possibly with restricted segments."""

    __tablename__ = "private_feed"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    visits: list[str] = _json_list()
    kinds: list[str] = _json_list()
    tags: list[str] = _json_list()
    include_restricted: bool = False
    created_at: datetime = _instant()
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class Change(SQLModel, table=True):
    """One change to a visit or segment: who, when, what, before and after."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    segment_key: str = Field(default="", max_length=120)  # empty: the visit itself
    kind: str = Field(max_length=16)  # added, changed, moved, refined, cancelled, restored, deleted
    actor: str = Field(default="", max_length=100)
    at: datetime = _instant()
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class WorkerProcess(SQLModel, table=True):
    """A reminder worker process and its last heartbeat: what `visitcal status` and /metrics
    show as alive. A worker removes its row when it stops; a row whose heartbeat is old is a
    worker that died."""

    __tablename__ = "worker"

    id: str = Field(primary_key=True, max_length=200)
    host: str = Field(default="", max_length=255)
    pid: int = 0
    concurrency: int = 0
    started_at: datetime = _instant()
    heartbeat_at: datetime = _instant()
    handled: int = 0  # reminders it has handled since it started


class ChannelError(SQLModel, table=True):
    """The last delivery error per channel kind (the Apprise scheme: json, mailto, ntfy...)."""

    __tablename__ = "channel_error"

    kind: str = Field(primary_key=True, max_length=40)
    at: datetime = _instant()
    worker_id: str = Field(default="", max_length=200)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
