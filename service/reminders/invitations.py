"""What goes with a mail to a follower who takes invitations: the segment as an iTIP REQUEST
(or a CANCEL), made from the very VEVENT the feeds serve, so that the calendar app updates the
event it already holds (same UID, SEQUENCE as in the feed)."""

from __future__ import annotations

from datetime import datetime

from feeds.itip import itip_calendar, itip_method, itip_withdrawal
from service.i18n import DEFAULT_LANGUAGE
from service.models import Segment, Subscription, Visit
from service.reminders.email_address import address_of, is_email_channel
from service.reminders.mail_message import MailExtras
from service.schedules.vevents import render_segment
from service.settings import Settings


def mail_extras(
    settings: Settings,
    kind: str,
    subscription: Subscription,
    segment: Segment,
    unsubscribe: str,
    visit: Visit | None = None,
) -> MailExtras:
    """The unsubscribe header for every mail; the iTIP calendar with the invitation and with
    each change notice (a reminder itself carries none: the event is already in the calendar)."""
    wants = subscription.invitations and is_email_channel(subscription.channel)
    if not wants or kind == "reminder" or not segment.ics or segment.visibility != "public":
        return MailExtras(unsubscribe=unsubscribe)
    method = itip_method(segment.status)
    vevent = segment.ics
    if visit is not None and subscription.language != DEFAULT_LANGUAGE:
        # The same event (UID, SEQUENCE, instants) with its texts in the follower's language.
        vevent = render_segment(segment, visit, settings, subscription.language)
    calendar = itip_calendar(
        vevent.encode("utf-8"),
        method,
        organizer=settings.organizer_email,
        attendee=address_of(subscription.channel),
        organizer_name=settings.mail_from_name,
    )
    return MailExtras(unsubscribe=unsubscribe, calendar=calendar, method=method)


def withdrawal_extras(
    settings: Settings,
    subscription: Subscription,
    uid: str,
    sequence: int,
    stamp: datetime,
    unsubscribe: str,
) -> MailExtras:
    """The CANCEL for a segment made restricted after the follower's calendar got it: its UID
    and a SEQUENCE above the last REQUEST, nothing else of the segment."""
    calendar = itip_withdrawal(
        uid,
        sequence,
        stamp,
        organizer=settings.organizer_email,
        attendee=address_of(subscription.channel),
        organizer_name=settings.mail_from_name,
    )
    return MailExtras(unsubscribe=unsubscribe, calendar=calendar, method="CANCEL")
