"""Links that hand a feed or one segment to Google Calendar and Outlook."""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urlencode

from service.models import Segment
from service.schedules.when import Timing


def google_subscribe(webcal_url: str) -> str:
    """Google Calendar's "add by URL", opened on the feed's webcal:// address."""
    return "https://calendar.google.com/calendar/r?" + urlencode({"cid": webcal_url})


def outlook_subscribe(feed_url: str, name: str) -> str:
    """Outlook on the web's "subscribe from web" with the feed and the calendar's name."""
    query = urlencode({"url": feed_url, "name": name})
    return "https://outlook.live.com/calendar/0/addfromweb?" + query


def _google_dates(segment: Segment) -> str:
    if segment.precision == "day":
        # Whole days as the visit's zone counts them; the end date is exclusive, as in iCalendar.
        first, last = Timing.of(segment).days()
        return f"{first:%Y%m%d}/{last + timedelta(days=1):%Y%m%d}"
    start, end = (instant.astimezone(UTC) for instant in (segment.start_at, segment.end_at))
    return f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"


def google_event(segment: Segment, details: str, page_url: str) -> str:
    """Google Calendar's event template for one segment (a copy: it does not follow changes)."""
    text = [details] if details else []
    text.append(page_url)
    query = {
        "action": "TEMPLATE",
        "text": segment.title,
        "dates": _google_dates(segment),
        "details": "\n\n".join(text),
        "location": segment.location,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
