"""Reminders for the announced visits plan at the right UTC instants, written out by hand from
the announcement (JST is UTC+9, no DST; part-of-day windows 09:00, 13:00, 18:00)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from service.models import Reminder, Segment, Subscription, Visit
from service.reminders.planner import reconcile
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.services import LEE, MELONI

BEFORE_THE_VISITS = datetime(2026, 1, 10, tzinfo=UTC)

# (visit, segment) -> due instants for 1 day, 1 hour and 15 minutes before its start.
EXPECTED = {
    # 13th afternoon (13:00 JST = 04:00Z): arrival and summit.
    (LEE, "arrival"): ("2026-01-12T04:00:00Z", "2026-01-13T03:00:00Z", "2026-01-13T03:45:00Z"),
    (LEE, "summit"): ("2026-01-12T04:00:00Z", "2026-01-13T03:00:00Z", "2026-01-13T03:45:00Z"),
    # 13th evening (18:00 JST = 09:00Z): dinner.
    (LEE, "dinner"): ("2026-01-12T09:00:00Z", "2026-01-13T08:00:00Z", "2026-01-13T08:45:00Z"),
    # 14th morning (09:00 JST = 00:00Z): 1 hour before the exchange activities is 23:00Z on
    # the 13th.
    (LEE, "exchange"): ("2026-01-13T00:00:00Z", "2026-01-13T23:00:00Z", "2026-01-13T23:45:00Z"),
    # 14th afternoon (13:00 JST = 04:00Z): Korean community, then the return to Korea.
    (LEE, "korean-community"): (
        "2026-01-13T04:00:00Z",
        "2026-01-14T03:00:00Z",
        "2026-01-14T03:45:00Z",
    ),
    (LEE, "departure"): ("2026-01-13T04:00:00Z", "2026-01-14T03:00:00Z", "2026-01-14T03:45:00Z"),
    # Meloni's summit: some time 15-17 January, so from the start of the 15th in Tokyo
    # (00:00 JST = 15:00Z on the 14th).
    (MELONI, "summit"): (
        "2026-01-13T15:00:00Z",
        "2026-01-14T14:00:00Z",
        "2026-01-14T14:45:00Z",
    ),
}


def instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def planned(services: Services, subscription_id: str) -> dict[tuple[str, str], list[Reminder]]:
    query = (
        select(Reminder, Segment, Visit)
        .join(Segment, col(Segment.id) == col(Reminder.segment_id))
        .join(Visit, col(Visit.id) == col(Segment.visit_id))
        .where(col(Reminder.subscription_id) == subscription_id)
    )
    found: dict[tuple[str, str], list[Reminder]] = {}
    with services.db.session() as session:
        for reminder, segment, visit in session.exec(query):
            found.setdefault((visit.slug, segment.key), []).append(reminder)
    return found


def test_each_seed_segment_plans_its_reminders_at_the_right_utc_instants(seeded: Services) -> None:
    # The follower's zone changes how a reminder reads, never when it is due.
    request = SubscriptionRequest(
        channel="json://127.0.0.1:9/hook", offsets=["1d", "1h", "15m"], timezone="Europe/Rome"
    )
    created = create_subscription(
        seeded.db, seeded.settings, request, BEFORE_THE_VISITS, confirmed=True
    )
    found = planned(seeded, created.subscription.id)
    assert set(found) == set(EXPECTED)
    for key, dues in EXPECTED.items():
        rows = sorted(found[key], key=lambda r: r.due_at)
        assert [r.due_at for r in rows] == [instant(d) for d in dues], key
        assert [r.offset_seconds for r in rows] == [86400, 3600, 900]
        for row in rows:
            assert row.next_attempt_at == row.due_at
            assert (row.state, row.kind, row.late, row.attempts) == (
                "pending",
                "reminder",
                False,
                0,
            )
            assert row.segment_start == instant(dues[1]) + timedelta(hours=1)


def test_reconcile_on_the_seeded_database_is_idempotent_and_matches_the_hand_written_plan(
    seeded: Services,
) -> None:
    request = SubscriptionRequest(channel="json://127.0.0.1:9/hook", offsets=["1h"])
    created = create_subscription(
        seeded.db, seeded.settings, request, BEFORE_THE_VISITS, confirmed=True
    )
    with seeded.db.write() as session:
        subscription = session.get(Subscription, created.subscription.id)
        assert subscription is not None
        segments = list(
            session.exec(
                select(Segment, Visit).join(Visit, col(Visit.id) == col(Segment.visit_id))
            ).all()
        )
        reconcile(session, [subscription], [(s, v) for s, v in segments], BEFORE_THE_VISITS)
    found = planned(seeded, created.subscription.id)
    assert {key: [r.due_at for r in rows] for key, rows in found.items()} == {
        key: [instant(dues[1])] for key, dues in EXPECTED.items()
    }


def test_a_segment_moved_while_its_reminder_is_in_flight_gets_one_for_the_new_time(
    services: Services,
) -> None:
    from datetime import UTC, datetime, timedelta

    from service.models import Reminder
    from service.reminders.subscriptions import SubscriptionRequest, create_subscription
    from tests.helpers.schedules import Seg, apply
    from tests.helpers.workers import reminders

    start = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0, second=0)
    apply(services, "in-flight", [Seg("talks", "Talks", start=start)], "UTC")
    created = create_subscription(
        services.db,
        services.settings,
        SubscriptionRequest(channel="json://127.0.0.1:9/", visits=["in-flight"], offsets=["1h"]),
        datetime.now(UTC),
        confirmed=True,
    )
    (row,) = reminders(services, created.subscription.id)
    with services.db.write() as session:  # a worker has claimed it and is sending
        claimed = session.get(Reminder, row.id)
        assert claimed is not None
        claimed.state, claimed.claimed_by = "claimed", "another-worker"
        claimed.lease_until = datetime.now(UTC) + timedelta(minutes=1)
        session.add(claimed)
    apply(services, "in-flight", [Seg("talks", "Talks", start=start + timedelta(hours=1))], "UTC")
    rows = [r for r in reminders(services, created.subscription.id) if r.kind == "reminder"]
    assert [(r.state, r.due_at) for r in rows] == [
        ("claimed", start - timedelta(hours=1)),
        ("pending", start),
    ]
