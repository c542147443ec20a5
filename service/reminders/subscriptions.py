"""Followers' subscriptions: create, read, change and end them, with a manage token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import delete
from sqlmodel import Session, col, select

from service.db import Database
from service.errors import InputError, NotFound, Unauthorized
from service.input_rules import Item, Line, one_line
from service.localtime import zone
from service.metrics import CONFIRMATIONS, SIGN_UPS
from service.models import Reminder, Segment, Subscription, Visit
from service.offsets import parse_offsets
from service.reminders.channel_policy import ChannelPolicy
from service.reminders.channels import check_channel, redact
from service.reminders.email_address import is_email_channel
from service.reminders.planner import cancel_subscription, plan_subscription
from service.settings import Settings
from service.signing import new_token, token_hash, token_matches

Language = Literal["en", "ja", "ko", "it"]  # service.i18n.LANGUAGES (a test holds them equal)
Slug = Annotated[str, StringConstraints(max_length=120), AfterValidator(one_line)]
Offset = Annotated[str, StringConstraints(max_length=20), AfterValidator(one_line)]
Kind = Literal[
    "arrival", "meeting", "meal", "ceremony", "exchange", "community", "press", "departure", "other"
]


class SubscriptionRequest(BaseModel):
    """What a follower asks for. Nothing to follow means every public segment."""

    model_config = ConfigDict(extra="forbid")
    channel: Line = Field(
        max_length=2000,
        description="An email address, or an Apprise URL (ntfy://, json://, slack://, ...)",
    )
    visits: list[Slug] = Field(default_factory=list, max_length=100)
    kinds: list[Kind] = Field(default_factory=list, max_length=20)
    tags: list[Item] = Field(default_factory=list, max_length=50)
    offsets: list[Offset] | None = Field(
        default=None, max_length=10, description='e.g. ["1d", "1h", "15m"] or ISO 8601 ("PT15M")'
    )
    timezone: Line = Field(default="UTC", max_length=64, description="The follower's IANA zone")
    language: Language = Field(default="en", description="Reminders and notices in: en, ja, ko, it")
    label: Line = Field(default="", max_length=200)
    invitations: bool = Field(
        default=False,
        description="Email only: each segment also arrives as a calendar invitation (iMIP) "
        "that later mails update or cancel",
    )


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Line | None = Field(default=None, max_length=2000)
    visits: list[Slug] | None = Field(default=None, max_length=100)
    kinds: list[Kind] | None = Field(default=None, max_length=20)
    tags: list[Item] | None = Field(default=None, max_length=50)
    offsets: list[Offset] | None = Field(default=None, max_length=10)
    timezone: Line | None = Field(default=None, max_length=64)
    language: Language | None = None
    label: Line | None = Field(default=None, max_length=200)
    invitations: bool | None = None


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    token: str  # shown once; only its hash is kept


def _field_error(name: str, error: ValueError) -> InputError:
    return InputError(name, str(error))


def _validated(db: Database, settings: Settings, values: dict[str, Any]) -> dict[str, Any]:
    """Check every field that the schema cannot; InputError names the first bad one."""
    out: dict[str, Any] = {}
    if values.get("channel") is not None:
        try:
            policy = ChannelPolicy.from_settings(settings)
            out["channel"] = check_channel(values["channel"], policy)
        except ValueError as error:
            raise _field_error("channel", error) from None
        out["channel_redacted"] = redact(out["channel"])
    if values.get("timezone") is not None:
        try:
            zone(values["timezone"])
        except ValueError as error:
            raise _field_error("timezone", error) from None
        out["timezone"] = values["timezone"]
    if "offsets" in values:
        raw = values["offsets"]
        try:
            out["offsets"] = parse_offsets(raw if raw is not None else settings.reminder_offsets)
        except ValueError as error:
            raise _field_error("offsets", error) from None
    if values.get("visits") is not None:
        slugs = list(dict.fromkeys(values["visits"]))
        with db.session() as session:
            known = set(session.exec(select(Visit.slug).where(col(Visit.slug).in_(slugs))))
        unknown = [slug for slug in slugs if slug not in known]
        if unknown:
            raise InputError("visits", f"unknown visit {unknown[0]!r}")
        out["visits"] = slugs
    if values.get("invitations") is not None:
        out["invitations"] = bool(values["invitations"])
    if values.get("language") is not None:
        out["language"] = values["language"]
    for name in ("kinds", "tags", "label"):
        if values.get(name) is not None:
            out[name] = list(dict.fromkeys(values[name])) if name != "label" else values[name]
    return out


def request_from(data: dict[str, Any], model: type[BaseModel]) -> Any:
    """Validate CLI input with the API's schema; the first error becomes an InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "request"
        raise InputError(field, str(first["msg"])) from None


def create_subscription(
    db: Database,
    settings: Settings,
    request: SubscriptionRequest,
    now: datetime,
    confirmed: bool = False,
) -> Created:
    """A new subscription. Unless `confirmed` (an operator vouches for the channel, as
    `visitcal subscribe` does), nothing is planned for it until it is confirmed."""
    values = _validated(db, settings, request.model_dump())
    _check_invitations(values["channel"], values.get("invitations", False))
    token = new_token()
    subscription = Subscription(
        id=secrets.token_hex(8),
        token_hash=token_hash(token),
        created_at=now,
        changed_at=now,
        confirmed_at=now if confirmed else None,
        **values,
    )
    with db.write() as session:
        _forget_unconfirmed(session, settings, now)
        session.add(subscription)
        session.flush()
        plan_subscription(session, subscription, now)
    SIGN_UPS.inc()
    return Created(subscription, token)


def _check_invitations(channel: str, invitations: bool) -> None:
    if invitations and not is_email_channel(channel):
        raise InputError("invitations", "calendar invitations come by email: give an email address")


def _forget_unconfirmed(session: Session, settings: Settings, now: datetime) -> None:
    """Delete sign-ups left unconfirmed past confirm_within_hours (they have no reminders)."""
    expired = now - timedelta(hours=settings.confirm_within_hours)
    session.execute(
        delete(Subscription).where(
            col(Subscription.confirmed_at).is_(None), col(Subscription.changed_at) < expired
        )
    )


def _active(session: Session, subscription_id: str) -> Subscription:
    """The active subscription with this id, or NotFound."""
    # Ids are 16 hex digits; anything else (a NUL, a long string) is not worth a query.
    known = len(subscription_id) == 16 and all(c in "0123456789abcdef" for c in subscription_id)
    subscription = session.get(Subscription, subscription_id) if known else None
    if subscription is None or not subscription.active:
        raise NotFound(f"no subscription {subscription_id!r}")
    return subscription


def current_channel(db: Database, subscription_id: str) -> str:
    """The channel an active subscription sends to now; "" when there is no such subscription."""
    with db.session() as session:
        try:
            return _active(session, subscription_id).channel
        except NotFound:
            return ""


def confirm_subscription(
    db: Database,
    settings: Settings,
    subscription_id: str,
    now: datetime,
    channel: str | None = None,
) -> Subscription:
    """Confirm a sign-up (its link was followed): from now on its reminders are planned.
    Confirming twice changes nothing; an expired sign-up is NotFound, and so is one whose
    channel is no longer `channel` (the one the followed link was sent to)."""
    expired = now - timedelta(hours=settings.confirm_within_hours)
    confirmed = False
    with db.write() as session:
        subscription = _active(session, subscription_id)
        if channel is not None and subscription.channel != channel:
            raise NotFound("this confirmation link was sent to another channel")
        if subscription.confirmed_at is None:
            if subscription.changed_at < expired:
                raise NotFound("this confirmation link has expired: sign up again")
            subscription.confirmed_at = now
            session.add(subscription)
            session.flush()
            plan_subscription(session, subscription, now)
            confirmed = True
    if confirmed:  # now that it is committed
        CONFIRMATIONS.inc()
    return subscription


def authorize(db: Database, subscription_id: str, token: str | None) -> Subscription:
    with db.session() as session:
        subscription = _active(session, subscription_id)
    if not token_matches(token, subscription.token_hash):
        raise Unauthorized("a valid manage token is required (Authorization: Bearer <token>)")
    return subscription


def change_subscription(
    db: Database,
    settings: Settings,
    subscription_id: str,
    token: str | None,
    change: SubscriptionChange,
    now: datetime,
) -> Subscription:
    current = authorize(db, subscription_id, token)
    before = current.channel
    values = _validated(db, settings, change.model_dump(exclude_unset=True))
    _check_invitations(
        values.get("channel", before), values.get("invitations", current.invitations)
    )
    with db.write() as session:
        subscription = session.get(Subscription, subscription_id)
        assert subscription is not None
        for name, value in values.items():
            setattr(subscription, name, value)
        if "channel" in values and values["channel"] != before:
            # A new channel is confirmed anew, or a stranger could confirm their own and then
            # point the subscription at someone else's.
            subscription.confirmed_at = None
        subscription.changed_at = now
        session.add(subscription)
        session.flush()
        plan_subscription(session, subscription, now)
    return subscription


def end_subscription(db: Database, subscription_id: str, now: datetime) -> None:
    """Deactivate a subscription (kept for its deliveries history) and cancel what is pending."""
    with db.write() as session:
        subscription = _active(session, subscription_id)
        subscription.active = False
        subscription.changed_at = now
        session.add(subscription)
        cancel_subscription(session, subscription)


def list_subscriptions(db: Database) -> list[Subscription]:
    with db.session() as session:
        return list(
            session.exec(
                select(Subscription)
                .where(col(Subscription.active))
                .order_by(col(Subscription.created_at))
            )
        )


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    subscription_id: str
    kind: str
    segment: str
    visit: str
    offset_seconds: int
    due_at: datetime
    state: str
    late: bool
    attempts: int
    sent_at: datetime | None
    lateness_seconds: float | None
    result: str


def deliveries(
    db: Database, subscription_id: str | None = None, limit: int = 200, public_only: bool = False
) -> list[DeliveryRow]:
    """The latest deliveries; `public_only` (what a follower sees of their own) leaves out the
    title of a segment that is no longer public (a withdrawal's row, or earlier ones)."""
    query = (
        select(Reminder, Segment, Visit)
        .join(Segment, col(Segment.id) == col(Reminder.segment_id))
        .join(Visit, col(Visit.id) == col(Segment.visit_id))
        .order_by(col(Reminder.due_at).desc(), col(Reminder.id).desc())
        .limit(limit)
    )
    if subscription_id is not None:
        query = query.where(col(Reminder.subscription_id) == subscription_id)
    with db.session() as session:
        rows = session.exec(query).all()
    return [
        DeliveryRow(
            id=reminder.id or 0,
            subscription_id=reminder.subscription_id,
            kind=reminder.kind,
            segment=segment.title if segment.visibility == "public" or not public_only else "",
            visit=visit.slug,
            offset_seconds=reminder.offset_seconds,
            due_at=reminder.due_at,
            state=reminder.state,
            late=reminder.late,
            attempts=reminder.attempts,
            sent_at=reminder.sent_at,
            lateness_seconds=(reminder.sent_at - reminder.due_at).total_seconds()
            if reminder.sent_at
            else None,
            result=reminder.result,
        )
        for reminder, segment, visit in rows
    ]
