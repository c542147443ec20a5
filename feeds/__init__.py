"""The iCalendar layer: pure functions from plain data to feed bytes (no database, HTTP, clock)."""

from feeds.calendar import CalendarMeta, render_calendar
from feeds.event import EventData, render_event

__all__ = ["CalendarMeta", "EventData", "render_calendar", "render_event"]
