"""Calendar invitations by email (iMIP): each public segment arrives as METHOD:REQUEST with the
feed's UID and SEQUENCE, a change as a new REQUEST with a higher SEQUENCE and a notice saying
what changed, a cancellation as METHOD:CANCEL, a restricted segment never; read by icalendar and
by the strict `ical` parser. Notices to one follower about one segment are debounced."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage

import icalendar
from ical.calendar_stream import IcsCalendarStream
from sqlmodel import col, select

from service.clock import utc_now
from service.models import Reminder, Segment
from service.reminders.subscriptions import SubscriptionRequest, create_subscription
from service.services import Services
from tests.helpers.receivers import Mail, SmtpReceiver
from tests.helpers.schedules import Seg, apply, daytime_zone, schedule, whole_second
from tests.helpers.workers import wait_until, worker_in_process

SLUG = "invite-visit"
FOLLOWER = "desk@example.test"


def _calendar_part(message: EmailMessage) -> tuple[str, bytes]:
    """The text/calendar alternative: its method parameter and its bytes."""
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_param("method")), payload


def _read(mail: Mail) -> dict[str, object]:
    """The invitation as icalendar and as ical (strict) read it; both must agree."""
    method, body = _calendar_part(mail.message)
    attached = [p for p in mail.message.walk() if p.get_content_type() == "application/ics"]
    assert len(attached) == 1 and attached[0].get_payload(decode=True) == body
    calendar = icalendar.Calendar.from_ical(body)
    [event] = calendar.walk("VEVENT")
    strict = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    [strict_event] = strict.events
    assert str(calendar["METHOD"]) == method == strict.method
    assert str(event["UID"]) == strict_event.uid
    assert int(event["SEQUENCE"]) == strict_event.sequence
    [attendee] = strict_event.attendees
    assert attendee.uri == f"mailto:{FOLLOWER}" and attendee.rsvp is False
    assert strict_event.organizer is not None
    assert strict_event.organizer.uri == "mailto:visits@example.test"
    return {
        "method": method,
        "uid": str(event["UID"]),
        "sequence": int(event["SEQUENCE"]),
        "status": str(event["STATUS"]),
        "start": event.decoded("DTSTART", None),  # none in a withdrawal's CANCEL
        "attendee": str(event["ATTENDEE"]),
        "partstat": event["ATTENDEE"].params["PARTSTAT"],
    }


def _segment(services: Services, key: str) -> Segment:
    with services.db.session() as session:
        [row] = session.exec(select(Segment).where(col(Segment.key) == key)).all()
    return row


def test_invitations_request_update_and_cancel_the_feed_event(
    services_with: Callable[..., Services],
) -> None:
    with SmtpReceiver() as smtp:
        services = services_with(smtp_url=smtp.relay_url(), organizer_email="visits@example.test")
        start = whole_second(60)
        tz = daytime_zone(start, start + timedelta(hours=3))
        talks = Seg("talks", "Talks between the leaders", start=start)
        private = Seg("briefing", "Closed briefing", start=start + timedelta(hours=1))
        made = schedule(services, SLUG, [talks, private], tz)
        restricted = dataclasses.replace(made.segments[1], visibility="restricted")
        made = dataclasses.replace(made, segments=(made.segments[0], restricted))
        services.catalog.apply([made], utc_now())
        request = SubscriptionRequest(
            channel=FOLLOWER,
            visits=[SLUG],
            offsets=["5s"],
            timezone="America/St_Johns",  # never the visit's zone (daytime_zone's choices)
            invitations=True,
        )
        create_subscription(services.db, services.settings, request, utc_now(), confirmed=True)
        with worker_in_process(services):
            [invitation] = smtp.wait_mails(1, timeout=10)
            # Moved by an hour: a notice with a new REQUEST for the same event.
            moved = Seg("talks", "Talks between the leaders", start=start + timedelta(hours=2))
            apply(services, SLUG, [moved], tz)
            assert wait_until(lambda: any("Changed" in m.subject for m in smtp.mails), 10)
            update = next(m for m in smtp.mails if "Changed" in m.subject)
            # Cancelled (gone from the schedule file: the catalog cancels it): a CANCEL.
            services.catalog.apply(
                [schedule(services, SLUG, [Seg("other", "Other", start=start)], tz)], utc_now()
            )
            # (The new segment "other" gets its own invitation.)
            assert wait_until(lambda: any("Cancelled" in m.subject for m in smtp.mails), 10)
            cancel = next(m for m in smtp.mails if "Cancelled" in m.subject)

    segment = _segment(services, "talks")
    first, second, third = _read(invitation), _read(update), _read(cancel)
    assert first["method"] == "REQUEST" and first["uid"] == segment.uid
    assert "RSVP" in invitation.message.as_string() or first["partstat"] == "NEEDS-ACTION"
    assert second["method"] == "REQUEST" and second["uid"] == segment.uid
    assert third["method"] == "CANCEL" and third["uid"] == segment.uid
    assert third["status"] == "CANCELLED"
    assert first["sequence"] < second["sequence"] < third["sequence"] == segment.sequence
    # The feed's own VEVENT says the same UID and SEQUENCE.
    assert f"UID:{segment.uid}" in segment.ics and f"SEQUENCE:{segment.sequence}" in segment.ics
    # The restricted segment never reached the follower, in any mail.
    assert all("Closed briefing" not in m.message.as_string() for m in smtp.mails)
    assert all(m.recipients == [FOLLOWER] for m in smtp.mails)
    # The notice of the move says what changed, before and after, in both zones.
    assert "What changed:" in update.body
    assert "  Time: " in update.body and "  Your time: " in update.body and " → " in update.body


def test_a_burst_of_edits_is_one_notice_never_held_past_a_due_reminder(
    services_with: Callable[..., Services],
) -> None:
    services = services_with(notice_debounce_seconds=120)
    start = whole_second(3600)
    tz = daytime_zone(start, start + timedelta(hours=3))
    apply(services, SLUG, [Seg("talks", "Talks", start=start)], tz)
    request = SubscriptionRequest(channel="json://127.0.0.1:9/hook", visits=[SLUG], offsets=["1h"])
    create_subscription(services.db, services.settings, request, utc_now(), confirmed=True)
    first_edit = utc_now()
    for minutes in (10, 20, 30):
        later = Seg("talks", "Talks", start=start + timedelta(minutes=minutes))
        apply(services, SLUG, [later], tz)
    with services.db.session() as session:
        rows = session.exec(select(Reminder).where(col(Reminder.state) == "pending")).all()
    notices = [r for r in rows if r.kind != "reminder"]
    [reminder] = [r for r in rows if r.kind == "reminder"]
    assert len(notices) == 1 and notices[0].kind == "moved"
    # Due one window after the first edit of the burst, not pushed back by the later ones.
    assert notices[0].due_at <= first_edit + timedelta(seconds=121)
    assert notices[0].due_at >= first_edit + timedelta(seconds=119)

    # A segment moved to start in 40 minutes: its 1 h reminder is due at once, and the notice
    # is not held behind it.
    soon = utc_now() + timedelta(minutes=40)
    apply(services, SLUG, [Seg("talks", "Talks", start=soon.replace(microsecond=0))], tz)
    with services.db.session() as session:
        rows = session.exec(select(Reminder).where(col(Reminder.state) == "pending")).all()
    [notice] = [r for r in rows if r.kind != "reminder"]
    due_reminders = [r.next_attempt_at for r in rows if r.kind == "reminder"]
    assert due_reminders and notice.next_attempt_at <= min(due_reminders) + timedelta(seconds=1)
    assert reminder.id is not None


def test_invitations_are_for_email_only(services_with: Callable[..., Services]) -> None:
    import pytest

    from service.errors import InputError

    services = services_with()
    request = SubscriptionRequest(channel="json://127.0.0.1:9/hook", invitations=True)
    with pytest.raises(InputError) as refused:
        create_subscription(services.db, services.settings, request, utc_now())
    assert refused.value.field == "invitations"


def test_a_burst_of_edits_across_a_visit_is_one_message(
    services_with: Callable[..., Services],
) -> None:
    from tests.helpers.receivers import HttpReceiver

    services = services_with(notice_debounce_seconds=4)  # wide enough for a loaded machine
    start = whole_second(3600)
    tz = daytime_zone(start, start + timedelta(hours=4))
    segments = [Seg("talks", "Talks", start=start), Seg("lunch", "Lunch", start=start, kind="meal")]
    apply(services, SLUG, segments, tz)
    with HttpReceiver() as http:
        request = SubscriptionRequest(channel=http.url("f"), visits=[SLUG], offsets=["1m"])
        create_subscription(services.db, services.settings, request, utc_now(), confirmed=True)
        with worker_in_process(services):
            later = [
                Seg(s.key, s.title, start=start + timedelta(hours=1), kind=s.kind) for s in segments
            ]
            apply(services, SLUG, later[:1], tz)  # one edit, then the other a moment later
            apply(services, SLUG, later, tz)
            [arrival] = http.wait_accepted(1, timeout=20)
            assert not wait_until(lambda: len(http.requests) > 1, 2)
    assert arrival.title.startswith("2 changes: ")
    assert "Changed: Talks" in arrival.body and "Changed: Lunch" in arrival.body
    with services.db.session() as session:
        notices = session.exec(select(Reminder).where(col(Reminder.kind) == "moved")).all()
    assert len(notices) == 2 and {n.state for n in notices} == {"sent"}


def test_a_segment_made_restricted_is_withdrawn_from_calendars_that_got_it(
    services_with: Callable[..., Services],
) -> None:
    latecomer = "late@example.test"
    with SmtpReceiver() as smtp:
        services = services_with(
            smtp_url=smtp.relay_url(),
            organizer_email="visits@example.test",
            notice_debounce_seconds=0,
        )
        start = whole_second(3600)
        tz = daytime_zone(start, start + timedelta(hours=2))
        talks = Seg("talks", "Talks between the leaders", start=start)
        apply(services, SLUG, [talks], tz)

        def follow(channel: str) -> None:
            request = SubscriptionRequest(
                channel=channel, visits=[SLUG], offsets=["5m"], invitations=True
            )
            create_subscription(services.db, services.settings, request, utc_now(), confirmed=True)

        def settled() -> bool:
            with services.db.session() as session:
                rows = session.exec(select(Reminder).where(col(Reminder.kind) != "reminder"))
                return all(r.state not in ("pending", "claimed") for r in rows)

        follow(FOLLOWER)
        with worker_in_process(services):
            [request] = smtp.wait_mails(1, timeout=10)
        follow(latecomer)  # its invitation is queued, not yet sent, when the segment is hidden
        # Made restricted, and in the same edit given a new title, place and time: none of
        # them may reach anyone.
        secret = Seg(
            "talks", "Secret accord", start=start + timedelta(minutes=30), location="Annex B7"
        )
        made = schedule(services, SLUG, [secret], tz)
        hidden = dataclasses.replace(made.segments[0], visibility="restricted")
        services.catalog.apply([dataclasses.replace(made, segments=(hidden,))], utc_now())
        withdrawn_at = _segment(services, "talks").sequence
        with worker_in_process(services):
            assert wait_until(settled, 10)
        mails = list(smtp.mails)
        # Public again (as it was): a REQUEST with a higher SEQUENCE puts the event back.
        apply(services, SLUG, [talks], tz)
        with worker_in_process(services):
            assert wait_until(settled, 10)
        readded = [m for m in smtp.mails[len(mails) :] if m.recipients == [FOLLOWER]]

    assert [m.recipients for m in mails] == [[FOLLOWER], [FOLLOWER]]  # the latecomer: nothing
    cancel = mails[1]
    first, withdrawal, again = _read(request), _read(cancel), _read(readded[0])
    assert first["method"] == "REQUEST" and withdrawal["method"] == "CANCEL"
    assert withdrawal["uid"] == first["uid"] == again["uid"] == _segment(services, "talks").uid
    assert withdrawal["status"] == "CANCELLED"
    assert first["sequence"] < withdrawal["sequence"] == withdrawn_at < again["sequence"]
    assert again["method"] == "REQUEST" and again["start"] == start
    # The CANCEL is UID, SEQUENCE, DTSTAMP, ORGANIZER, ATTENDEE, STATUS and a neutral SUMMARY.
    [event] = icalendar.Calendar.from_ical(_calendar_part(cancel.message)[1]).walk("VEVENT")
    assert sorted(event) == [
        "ATTENDEE", "DTSTAMP", "ORGANIZER", "SEQUENCE", "STATUS", "SUMMARY", "UID"
    ]  # fmt: skip
    whole = cancel.message.as_string()
    for held_back in ("Secret accord", "Annex B7", "Talks between", "Nara"):
        assert held_back not in whole
    assert all(held_back not in m.message.as_string() for m in mails for held_back in ("Annex",))
