"""Reminder planning: which rows should exist for which follower, segment and offset, and when
they are due. Called inside the writing transaction, so a change and its plan land together."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, or_, select

from service.db import mark_plan_changed
from service.models import Reminder, Segment, Subscription, Visit
from service.schedules.catalog import LoadReport

LIVE = ("pending", "claimed")
DONE = ("sent", "failed", "missed")
# Catalog change kinds that followers are told about, and the notice each gets.
NOTICES = {"cancelled": "cancelled", "refined": "refined", "moved": "moved", "restored": "moved"}
# Rows that tell a follower of a segment rather than remind them of it; one is pending at most.
NOTICE_KINDS = ("moved", "refined", "cancelled", "invitation", "withdrawn")
# Notices whose calendar part is a REQUEST: after one of these the follower's calendar holds
# the event ("cancelled" carries a CANCEL, "withdrawn" the CANCEL of a segment made restricted).
REQUEST_KINDS = ("moved", "refined", "invitation")


def follows(subscription: Subscription, segment: Segment, visit: Visit) -> bool:
    """Whether a subscription covers a segment: confirmed subscriptions, public segments only
    (a restricted segment must reach no follower's channel)."""
    if not subscription.active or not subscription.confirmed or segment.visibility != "public":
        return False
    if subscription.visits and visit.slug not in subscription.visits:
        return False
    if subscription.kinds and segment.kind not in subscription.kinds:
        return False
    return not subscription.tags or bool(
        set(subscription.tags) & (set(segment.tags) | set(visit.tags))
    )


def _reminder(
    subscription: Subscription, segment: Segment, offset: int, now: datetime
) -> dict[str, Any] | None:
    """A new reminder row's values, or None when its segment has started (never sent, by rule).
    Values rather than a Reminder: a sign-up adds hundreds at once, inserted in one statement
    (building each as a model object cost more than planning it)."""
    assert segment.id is not None
    due = segment.start_at - timedelta(seconds=offset)
    if segment.start_at <= now:
        return None
    late = due < now
    return {
        "subscription_id": subscription.id,
        "segment_id": segment.id,
        "kind": "reminder",
        "offset_seconds": offset,
        "segment_start": segment.start_at,
        "segment_sequence": segment.sequence,
        "due_at": due,
        "next_attempt_at": now if late else due,
        "late": late,
        "created_at": now,
    }


def reconcile(
    session: Session,
    subscriptions: Sequence[Subscription],
    segments: Sequence[tuple[Segment, Visit]],
    now: datetime,
) -> None:
    """Make the reminder rows of these subscriptions and segments match what they ask for."""
    if not subscriptions or not segments:
        return
    # (subscription, segment) -> offset -> rows: each pair looks only at its own rows.
    rows: dict[tuple[str, int], dict[int, list[Reminder]]] = defaultdict(lambda: defaultdict(list))
    query = select(Reminder).where(col(Reminder.kind) == "reminder")
    if len(subscriptions) == 1:
        query = query.where(col(Reminder.subscription_id) == subscriptions[0].id)
    if len(segments) == 1:
        query = query.where(col(Reminder.segment_id) == segments[0][0].id)
    for row in session.exec(query):
        rows[(row.subscription_id, row.segment_id)][row.offset_seconds].append(row)
    changed = False
    fresh: list[dict[str, Any]] = []
    for subscription in subscriptions:
        for segment, visit in segments:
            assert segment.id is not None
            wanted = segment.status != "cancelled" and follows(subscription, segment, visit)
            offsets = set(subscription.offsets) if wanted else set()
            existing = rows.get((subscription.id, segment.id), {})
            for offset in offsets | set(existing):
                changed |= _settle(
                    session,
                    fresh,
                    existing.get(offset, []),
                    offset in offsets,
                    subscription,
                    segment,
                    offset,
                    now,
                )
    if fresh:
        session.execute(insert(Reminder), fresh)
    if changed:
        mark_plan_changed(session)


def _settle(
    session: Session,
    fresh_rows: list[dict[str, Any]],
    existing: list[Reminder],
    wanted: bool,
    subscription: Subscription,
    segment: Segment,
    offset: int,
    now: datetime,
) -> bool:
    """Settle one (subscription, segment, offset); True if a row was written (or is to be: new
    rows go to `fresh_rows`, for the caller to insert)."""
    pending = [r for r in existing if r.state == "pending"]
    if not wanted:
        for row in pending:
            row.state, row.result = "cancelled", "no longer followed or segment cancelled"
            session.add(row)
        return bool(pending)
    changed = False
    for row in pending:
        if row.segment_start != segment.start_at:
            fresh = _reminder(subscription, segment, offset, now)
            if fresh is None:
                row.state, row.result = "missed", "segment moved to a time already past"
            else:
                row.due_at, row.next_attempt_at = fresh["due_at"], fresh["next_attempt_at"]
                row.late, row.segment_start = fresh["late"], fresh["segment_start"]
            row.segment_sequence = segment.sequence
            session.add(row)
            changed = True
    # One row per start time: a reminder in flight or done for an earlier start (the segment
    # moved meanwhile) does not stand for the new one.
    if any(r.state in LIVE + DONE and r.segment_start == segment.start_at for r in existing):
        return changed
    fresh = _reminder(subscription, segment, offset, now)
    if fresh is None:
        return changed
    fresh_rows.append(fresh)
    return True


def _active_subscriptions(session: Session) -> list[Subscription]:
    return list(
        session.exec(
            select(Subscription).where(
                col(Subscription.active), col(Subscription.confirmed_at).is_not(None)
            )
        )
    )


def plan_subscription(session: Session, subscription: Subscription, now: datetime) -> None:
    """(Re)plan a new or changed subscription: against the segments not yet started that it
    follows, and those it has pending reminders for (to move or cancel them) — not every
    segment of every visit, so a sign-up costs what it follows (indexed by visit and start)."""
    assert subscription.id is not None
    planned = col(Segment.id).in_(
        select(Reminder.segment_id).where(
            col(Reminder.subscription_id) == subscription.id, col(Reminder.state) == "pending"
        )
    )
    query = (
        select(Segment, Visit)
        .join(Visit, col(Visit.id) == col(Segment.visit_id))
        .where(col(Segment.start_at) > now)
    )
    if subscription.active and subscription.confirmed:
        # What follows() would accept, as far as SQL can say (tags are JSON: checked after).
        followed = (col(Segment.visibility) == "public") & (col(Segment.status) != "cancelled")
        if subscription.visits:
            followed &= col(Visit.slug).in_(subscription.visits)
        if subscription.kinds:
            followed &= col(Segment.kind).in_(subscription.kinds)
        query = query.where(or_(followed, planned))
    else:  # an unconfirmed or ended subscription follows nothing: only cancel what it has
        query = query.where(planned)
    segments = [(segment, visit) for segment, visit in session.exec(query)]
    # Rows for segments that already started are left as they are.
    reconcile(session, [subscription], segments, now)
    plan_invitations(session, subscription, now)


def cancel_subscription(session: Session, subscription: Subscription) -> None:
    for row in session.exec(
        select(Reminder).where(
            col(Reminder.subscription_id) == subscription.id, col(Reminder.state) == "pending"
        )
    ):
        row.state, row.result = "cancelled", "unsubscribed"
        session.add(row)
    mark_plan_changed(session)


def plan_changes(
    session: Session, report: LoadReport, now: datetime, debounce: timedelta = timedelta(0)
) -> None:
    """Follow the catalog: re-plan changed segments and queue one notice per follower (and one
    calendar update per follower who takes invitations). Changes to one segment within
    `debounce` of the first become one notice."""
    if not report.changes:
        return
    subscriptions = _active_subscriptions(session)
    if not subscriptions:
        return
    for change in report.changes:
        segment = session.get(Segment, change.segment_id)
        if segment is None:
            continue
        visit = session.get(Visit, segment.visit_id)
        assert visit is not None
        reconcile(session, subscriptions, [(segment, visit)], now)
        if segment.visibility != "public":
            _queue_withdrawals(session, subscriptions, segment, now, debounce)
            continue
        # Tell followers only about segments that have not started (before or after the change).
        starts = [s for s in (change.before_start, change.after_start) if s is not None]
        if starts and max(starts) > now:
            notice = NOTICES.get(change.kind)
            _queue_notices(session, subscriptions, segment, visit, notice, now, debounce)


def _queue_notices(
    session: Session,
    subscriptions: Sequence[Subscription],
    segment: Segment,
    visit: Visit,
    notice: str | None,
    now: datetime,
    debounce: timedelta,
) -> None:
    """One pending notice per follower and segment: a change while one is pending joins it (it
    keeps its due instant, so a burst is told once, `debounce` after its first change), and a
    notice is never held past a reminder of the segment that falls due."""
    assert segment.id is not None
    pending = {
        row.subscription_id: row
        for row in session.exec(
            select(Reminder).where(
                col(Reminder.segment_id) == segment.id,
                col(Reminder.state) == "pending",
                col(Reminder.kind).in_(NOTICE_KINDS),
            )
        )
    }
    # A burst of edits across a visit is told in one message: a follower's notices about one
    # visit share the first one's due instant (the worker sends those due together as one).
    visit_due: dict[str, datetime] = {}
    for other in session.exec(
        select(Reminder)
        .join(Segment, col(Segment.id) == col(Reminder.segment_id))
        .where(
            col(Segment.visit_id) == visit.id,
            col(Reminder.state) == "pending",
            col(Reminder.kind).in_(NOTICE_KINDS),
        )
    ):
        known = visit_due.get(other.subscription_id)
        if known is None or other.due_at < known:
            visit_due[other.subscription_id] = other.due_at
    soonest: dict[str, datetime] = {}
    for planned in session.exec(
        select(Reminder).where(
            col(Reminder.segment_id) == segment.id,
            col(Reminder.state) == "pending",
            col(Reminder.kind) == "reminder",
        )
    ):
        known = soonest.get(planned.subscription_id)
        if known is None or planned.due_at < known:
            soonest[planned.subscription_id] = planned.due_at
    queued = False
    for subscription in subscriptions:
        # Followers with invitations hear of every change (their calendar's copy is updated);
        # the others of the changes a notice is for.
        kind = notice or ("invitation" if subscription.invitations else None)
        if kind is None or not follows(subscription, segment, visit):
            continue
        due = now + debounce
        if subscription.id in soonest:
            due = max(now, min(due, soonest[subscription.id]))
        if subscription.id in visit_due:
            due = min(due, visit_due[subscription.id])
        row: Reminder | None = pending.get(subscription.id)
        if row is None:
            row = Reminder(
                subscription_id=subscription.id,
                segment_id=segment.id,
                kind=kind,
                offset_seconds=0,
                due_at=due,
                next_attempt_at=due,
                segment_start=segment.start_at,
                segment_sequence=segment.sequence,
                created_at=now,
            )
        else:
            # A notice to read outranks a silent calendar update; a withdrawal not yet sent of
            # a segment public again becomes the REQUEST that puts it back.
            if kind != "invitation" or row.kind == "withdrawn":
                row.kind = kind
            row.due_at = min(row.due_at, due)
            row.next_attempt_at = min(row.next_attempt_at, due)
            row.segment_start, row.segment_sequence = segment.start_at, segment.sequence
        session.add(row)
        queued = True
    if queued:
        mark_plan_changed(session)


def _queue_withdrawals(
    session: Session,
    subscriptions: Sequence[Subscription],
    segment: Segment,
    now: datetime,
    debounce: timedelta,
) -> None:
    """A segment no longer public is withdrawn from the calendars that got a REQUEST for it: one
    "withdrawn" row (a CANCEL) for each follower with invitations whose last calendar mail about
    it was a REQUEST, for an event still to come as they were told it. A REQUEST still pending
    becomes that row, or nothing when they never had one. Its SEQUENCE is the segment's at the
    withdrawal, one above the last public one: later restricted edits are not counted in it."""
    assert segment.id is not None
    inviting = {s.id: s for s in subscriptions if s.invitations}
    if not inviting:
        return
    told: dict[str, Reminder] = {}  # the last calendar mail each follower got
    pending: dict[str, Reminder] = {}
    for row in session.exec(
        select(Reminder)
        .where(
            col(Reminder.segment_id) == segment.id,
            col(Reminder.kind).in_(NOTICE_KINDS),
            col(Reminder.state).in_(("pending", "claimed", "sent")),
            col(Reminder.subscription_id).in_(list(inviting)),
        )
        .order_by(col(Reminder.id))
    ):
        if row.state == "pending":
            pending[row.subscription_id] = row
        else:  # sent, or being sent (a REQUEST in flight may well arrive: withdraw it too)
            told[row.subscription_id] = row
    queued = False
    for subscription_id, last in told.items():
        if last.kind not in REQUEST_KINDS or last.segment_start <= now:
            continue
        withdrawal = pending.get(subscription_id)
        if withdrawal is None:
            withdrawal = Reminder(
                subscription_id=subscription_id,
                segment_id=segment.id,
                kind="withdrawn",
                offset_seconds=0,
                due_at=now + debounce,
                next_attempt_at=now + debounce,
                created_at=now,
            )
        elif withdrawal.kind == "withdrawn":
            continue
        withdrawal.kind = "withdrawn"
        withdrawal.segment_start = last.segment_start
        withdrawal.segment_sequence = segment.sequence
        session.add(withdrawal)
        queued = True
    if queued:
        mark_plan_changed(session)


def plan_invitations(session: Session, subscription: Subscription, now: datetime) -> None:
    """A confirmed follower with invitations gets one for each segment it follows that has not
    started (unless one for the segment as it is now was already queued or sent)."""
    if not (subscription.active and subscription.confirmed and subscription.invitations):
        return
    query = (
        select(Segment, Visit)
        .join(Visit, col(Visit.id) == col(Segment.visit_id))
        .where(
            col(Segment.start_at) > now,
            col(Segment.visibility) == "public",
            col(Segment.status) != "cancelled",
        )
    )
    if subscription.visits:
        query = query.where(col(Visit.slug).in_(subscription.visits))
    invited = {
        (row.segment_id, row.segment_sequence)
        for row in session.exec(
            select(Reminder).where(
                col(Reminder.subscription_id) == subscription.id,
                col(Reminder.kind).in_(NOTICE_KINDS),
                col(Reminder.state).in_(("pending", "claimed", "sent")),
            )
        )
    }
    queued = False
    for segment, visit in session.exec(query):
        assert segment.id is not None
        if (segment.id, segment.sequence) in invited or not follows(subscription, segment, visit):
            continue
        session.add(
            Reminder(
                subscription_id=subscription.id,
                segment_id=segment.id,
                kind="invitation",
                offset_seconds=0,
                due_at=now,
                next_attempt_at=now,
                segment_start=segment.start_at,
                segment_sequence=segment.sequence,
                created_at=now,
            )
        )
        queued = True
    if queued:
        mark_plan_changed(session)
