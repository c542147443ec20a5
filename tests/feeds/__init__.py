"""Tests of the iCalendar layer (feeds/): events and calendars as bytes."""
