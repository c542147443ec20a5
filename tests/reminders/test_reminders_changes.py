"""Pending reminders follow the schedule: a segment moved, cancelled or refined changes what
arrives (old reminders never, new ones on time, one notice each); a worker that was down sends
what is still useful (late) and drops what is not (missed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.clock import utc_now
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.receivers import HttpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, whole_second
from tests.helpers.workers import reminders, wait_until, worker_in_process

SLUG = "changing-visit"
ON_TIME = timedelta(seconds=1)


def clock(instant: datetime, tz: str) -> str:
    local = instant.astimezone(ZoneInfo(tz))
    return f"{local:%H:%M} {local.tzname()}"


def local_time(instant: datetime, tz: str) -> time:
    return instant.astimezone(ZoneInfo(tz)).time()


def test_moved_cancelled_and_refined_segments_old_reminders_never_new_ones_on_time(
    services_with: Callable[..., Services],
) -> None:
    first = whole_second(8)
    moved_to = first + timedelta(seconds=4)
    refined_to = first + timedelta(seconds=3)
    tz = daytime_zone(first, first + timedelta(hours=1))
    # "afternoon" opens at `first` here, so that a part-of-day segment starts seconds from now.
    window = (local_time(first, tz), local_time(first + timedelta(hours=1), tz))
    services = services_with(
        part_of_day={"morning": window, "afternoon": window, "evening": window}
    )
    follower = "Europe/Rome"
    talks, lunch, press = "Talks between the leaders", "Working lunch", "Joint press conference"
    day = first.astimezone(ZoneInfo(tz)).date()
    before = [
        Seg("talks", talks, start=first),
        Seg("lunch", lunch, start=first, kind="meal"),
        Seg("press", press, part_of_day="afternoon", day=day, kind="press"),
    ]
    apply(services, SLUG, before, tz)
    with HttpReceiver() as http, worker_in_process(services):
        subscription = create_subscription(
            services.db,
            services.settings,
            SubscriptionRequest(
                channel=http.url("hook"), visits=[SLUG], offsets=["4s"], timezone=follower
            ),
            utc_now(),
            confirmed=True,
        ).subscription
        planned = {r.segment_id: r.due_at for r in reminders(services)}
        assert sorted(planned.values()) == [first - timedelta(seconds=4)] * 3
        # The organizer moves the talks 4 s later, cancels the lunch (it leaves the schedule)
        # and gives the press conference its exact time, while all three reminders are pending.
        changed_at = utc_now()
        assert changed_at < first - timedelta(seconds=4), "too slow to change before due"
        after = [
            Seg("talks", talks, start=moved_to),
            Seg("press", press, start=refined_to, kind="press"),
        ]
        apply(services, SLUG, after, tz)
        last_due = moved_to - timedelta(seconds=4)
        assert wait_until(lambda: utc_now() > last_due + ON_TIME, timeout=20)
        assert wait_until(
            lambda: not {r.state for r in reminders(services)} & {"pending", "claimed"}, 10
        )
        arrived = list(http.accepted)

    titles = [a.title for a in arrived]
    now_talks, now_press = clock(moved_to, tz), clock(refined_to, tz)
    was_lunch = clock(first, tz)
    rome = {key: clock(at, follower) for key, at in (("t", moved_to), ("p", refined_to))}
    rome["l"] = clock(first, follower)
    head = "— A Guest and A Host — Nara"
    notices = {
        f"Changed: {talks} {head} — now {now_talks} / {rome['t']}",
        f"Cancelled: {lunch} {head} (was {was_lunch} / {rome['l']})",
        f"Time confirmed: {press} {head} — {now_press} / {rome['p']}",
    }
    # One edit that touches three segments of the visit is told in one message.
    digest = f"3 changes: Test visit {SLUG}"
    expected = {
        digest,
        f"{talks} {head} — in 4 seconds: {now_talks} / {rome['t']}",
        f"{press} {head} — in 4 seconds: {now_press} / {rome['p']}",
    }
    assert sorted(titles) == sorted(expected), titles  # each once, nothing else
    by_title = {a.title: a for a in arrived}
    assert by_title[digest].at >= changed_at  # told at once, not at the old due instant
    assert {f"- {notice}" for notice in notices} <= set(by_title[digest].body.splitlines())
    for title, start in ((talks, moved_to), (press, refined_to)):
        reminder = next(a for a in arrived if a.title.startswith(f"{title} {head} — in"))
        due = start - timedelta(seconds=4)
        assert due <= reminder.at < due + ON_TIME, f"{title}: {reminder.at - due} after due"
        assert "Status: confirmed" in reminder.body
        assert "time to be confirmed" not in reminder.body

    rows = reminders(services, subscription.id)
    kinds = sorted((r.kind, r.state) for r in rows)
    assert kinds == [
        ("cancelled", "sent"),
        ("moved", "sent"),
        ("refined", "sent"),
        ("reminder", "cancelled"),
        ("reminder", "sent"),
        ("reminder", "sent"),
    ]
    sent = {r.due_at for r in rows if r.kind == "reminder" and r.state == "sent"}
    assert sent == {moved_to - timedelta(seconds=4), refined_to - timedelta(seconds=4)}
    assert all(r.attempts <= 1 for r in rows)


def test_worker_down_across_due_instant_sends_late_what_has_not_started_and_misses_the_rest(
    services_with: Callable[..., Services],
) -> None:
    services = services_with(late_after_seconds=1)
    started = whole_second(3)  # begins while the worker is down
    due_late = started + timedelta(seconds=1)
    upcoming = due_late + timedelta(seconds=6)  # still ahead when the worker is back
    tz = daytime_zone(started, upcoming + timedelta(hours=1))
    apply(
        services,
        SLUG,
        [
            Seg("talks", "Talks", start=upcoming),
            Seg("breakfast", "Breakfast", start=started, kind="meal"),
        ],
        tz,
    )
    with HttpReceiver() as http:
        for kind, offset in (("meeting", "6s"), ("meal", "2s")):
            create_subscription(
                services.db,
                services.settings,
                SubscriptionRequest(
                    channel=http.url(kind), visits=[SLUG], kinds=[kind], offsets=[offset]
                ),
                utc_now(),
                confirmed=True,
            )
        with worker_in_process(services) as worker:
            assert worker.scheduler.get_job("due") is not None  # armed for the first due
        # Down across both due instants and the breakfast's start.
        assert wait_until(lambda: utc_now() > due_late + timedelta(seconds=1.5), timeout=20)
        assert http.requests == []
        assert {r.state for r in reminders(services)} == {"pending"}
        with worker_in_process(services):
            assert wait_until(
                lambda: not {r.state for r in reminders(services)} & {"pending", "claimed"}, 10
            )
            back_at = utc_now()
            arrived = list(http.requests)

    assert back_at < upcoming
    (late,) = arrived
    assert late.path == "/meeting"
    assert late.title.startswith("Talks — A Guest and A Host — Nara — in ")
    assert late.title.endswith(" (sent late)")
    # It says how long is really left, not the planned 6 seconds.
    assert " in 6 seconds" not in late.title
    rows = {r.kind + ":" + str(r.offset_seconds): r for r in reminders(services)}
    talks, breakfast = rows["reminder:6"], rows["reminder:2"]
    assert (talks.state, talks.late, talks.attempts) == ("sent", True, 1)
    assert talks.sent_at is not None and talks.sent_at > talks.due_at + timedelta(seconds=1)
    assert (breakfast.state, breakfast.sent_at) == ("missed", None)
    assert breakfast.result == "segment had started"
