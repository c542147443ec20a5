"""A segment's time in words is one wording: the page, the CLI table, reminder texts and Google
links agree on whole days, on an end that falls on another day, and on a DST change inside."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from service.publishing.calendar_links import google_event
from service.schedules.when import (
    Timing,
    dated_line,
    describe_when,
    when_in_zones,
    when_line,
    when_phrase,
)

# Meloni's visit as announced: Thu 15 - Sat 17 January 2026, whole days in Tokyo.
WHOLE_DAYS = Timing(
    datetime(2026, 1, 14, 15, tzinfo=UTC),  # 00:00 JST on the 15th
    datetime(2026, 1, 17, 15, tzinfo=UTC),  # 00:00 JST on the 18th, exclusive
    "day",
    None,
    "Asia/Tokyo",
)
# 18:00-22:00 JST is 23:00 on the 12th to 03:00 on the 13th in Honolulu.
EVENING = Timing(
    datetime(2026, 1, 13, 9, tzinfo=UTC),
    datetime(2026, 1, 13, 13, tzinfo=UTC),
    "part_of_day",
    "evening",
    "Asia/Tokyo",
)
# Clocks go forward in Rome at 02:00 on 29 March 2026: 01:30 CET to 04:00 CEST.
ACROSS_DST = Timing(
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 2, tzinfo=UTC),
    "exact",
    None,
    "Europe/Rome",
)


def test_whole_days_end_on_the_last_day_not_the_exclusive_end() -> None:
    assert WHOLE_DAYS.days() == (datetime(2026, 1, 15).date(), datetime(2026, 1, 17).date())
    assert describe_when(WHOLE_DAYS, "Asia/Tokyo").text == "Thu 15 Jan – Sat 17 Jan"
    assert when_line(WHOLE_DAYS, "UTC") == (
        "Thu 15 Jan – Sat 17 Jan (Asia/Tokyo), time to be confirmed"
    )
    assert when_in_zones(WHOLE_DAYS, ["Asia/Tokyo", "Europe/Rome"]) == (
        "Thu 15 Jan 2026 – Sat 17 Jan 2026 (Asia/Tokyo), time to be confirmed"
    )
    segment = SimpleNamespace(
        title="Summit", location="Tokyo", start_at=WHOLE_DAYS.start, end_at=WHOLE_DAYS.end,
        timezone=WHOLE_DAYS.timezone, precision="day", part_of_day=None,
    )  # fmt: skip
    link = google_event(segment, "", "https://visitcal.test/visits/x")
    assert parse_qs(urlsplit(link).query)["dates"] == ["20260115/20260118"]


def test_an_end_on_the_next_day_names_that_day_everywhere() -> None:
    honolulu = "23:00 – Tue 13 Jan 03:00 HST"
    assert describe_when(EVENING, "Pacific/Honolulu").text == honolulu
    assert when_line(EVENING, "Pacific/Honolulu") == (
        f"Mon 12 Jan {honolulu} (evening, time to be confirmed)"
    )
    assert when_in_zones(EVENING, ["Asia/Tokyo", "Pacific/Honolulu"]) == (
        f"evening (18:00–22:00 JST / {honolulu}), time to be confirmed"
    )
    assert dated_line(EVENING, "Pacific/Honolulu") == (
        f"Mon 12 Jan 2026 {honolulu} (Pacific/Honolulu), evening, time to be confirmed"
    )
    assert when_phrase(EVENING, "Asia/Tokyo") == "evening, Tue 13 Jan, 18:00–22:00 JST"


def test_a_dst_change_inside_a_segment_shows_both_abbreviations() -> None:
    assert when_line(ACROSS_DST, "Europe/Rome") == "Sun 29 Mar 01:30 CET–04:00 CEST"
    assert when_in_zones(ACROSS_DST, ["Europe/Rome"]) == "01:30 CET"
    assert dated_line(ACROSS_DST, "Europe/Rome") == "Sun 29 Mar 2026 01:30 CET (Europe/Rome)"
