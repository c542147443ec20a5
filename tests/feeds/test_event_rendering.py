"""render_event writes VEVENTs directly; it must give exactly the bytes icalendar gives."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from feeds.event import EventData, build_event, render_event

# Pieces that exercise escaping (TEXT, RFC 6868 parameters), quoting and folding: delimiters,
# backslashes and carets (which folding keeps with what follows), line breaks of every kind,
# multi-byte UTF-8 (never split by a fold) and control characters. Not a backslash before "N":
# icalendar turns that into a line break, we keep the text (tested below).
PIECES = [
    *"abcdefgh XYZ0123",
    ",",
    ";",
    ":",
    "\\",
    "^",
    '"',
    "'",
    "\n",
    "\r",
    "\r\n",
    "N",
    "\u2019",
    "é",
    "—",
    "한",
    "日本",
    "😀",
    "\t",
    "\x01",
    "\\n",
    "^n",
]
ZONES = [
    "Asia/Tokyo",
    "UTC",
    "Etc/UTC",
    "GMT",
    "Europe/Rome",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Etc/GMT+5",
]


def _text(rng: random.Random, size: int | None = None) -> str:
    if size is None:
        size = rng.choice([0, 1, 5, 40, 73, 74, 75, 76, 150, 400])
    text = "".join(rng.choice(PIECES) for _ in range(size))
    return text.replace("\\N", "\\M")  # where icalendar and we differ on purpose


def _instant(rng: random.Random) -> datetime:
    seconds = rng.randrange(-(10**9), 10**9)
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        seconds=seconds, microseconds=rng.randrange(10**6)
    )


def random_event(rng: random.Random) -> EventData:
    start = _instant(rng)
    end = start + timedelta(minutes=rng.choice([-60, 0, 30, 600, 3000, 100000]))
    return EventData(
        uid=_text(rng, rng.choice([10, 70, 90])),
        title=_text(rng),
        kind=rng.choice(["meeting", "meal", "other", "straße"]),
        start=start.astimezone(ZoneInfo(rng.choice(ZONES))) if rng.random() < 0.5 else start,
        end=end,
        timezone=rng.choice(ZONES),
        precision=rng.choice(["exact", "part_of_day", "day"]),
        status=rng.choice(["tentative", "confirmed", "cancelled"]),
        sequence=rng.randrange(0, 1000),
        created=_instant(rng),
        last_modified=_instant(rng),
        part_of_day=rng.choice([None, "morning", "evening"]),
        location=_text(rng),
        participants=tuple(_text(rng, 8) for _ in range(rng.randrange(3))),
        description=_text(rng),
        categories=tuple(_text(rng, rng.choice([0, 3, 30])) for _ in range(rng.randrange(4))),
        url=rng.choice(["", "http://x.test/a?b=c;d,e#f", "https://例え.jp/" + "x" * 90]),
        organizer_name=rng.choice(
            ["", _text(rng, 5), _text(rng, 80), "Gov", "O'Brien", "a^b", 'say "hi"', "x:y"]
        ),
        organizer_email=rng.choice(
            ["noreply@visitcal.invalid", "a" * rng.randrange(90) + "@x.test", "é@例え.jp"]
        ),
    )


@pytest.mark.parametrize("seed", range(4))
def test_render_event_writes_what_icalendar_writes(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(1500):
        event = random_event(rng)
        assert render_event(event) == build_event(event).to_ical(), event


def test_folds_keep_escapes_and_characters_whole_at_every_offset() -> None:
    event = random_event(random.Random(99))
    for offset in range(80):
        for tail in ("\\,;", "^^x", "한국어", "😀😀", "\\\\n"):
            changed = replace(event, title="x" * offset + tail * 30, organizer_name="^" * offset)
            assert render_event(changed) == build_event(changed).to_ical(), (offset, tail)


@pytest.mark.parametrize(
    "field, value", [("url", "http://a\nb"), ("organizer_email", "a\r@b.test")]
)
def test_a_line_break_in_a_uri_is_refused_as_icalendar_refuses_it(field: str, value: str) -> None:
    event = replace(random_event(random.Random(7)), **{field: value})
    with pytest.raises(ValueError):
        build_event(event).to_ical()
    with pytest.raises(ValueError, match=field):
        render_event(event)


def test_naive_datetimes_are_refused() -> None:
    event = replace(random_event(random.Random(8)), created=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="created: naive"):
        render_event(event)


@pytest.mark.parametrize("text", ["C:\\Notes", "a\\N b", "\\\\N", "x\\n"])
def test_a_backslash_before_n_stays_a_backslash_where_icalendar_would_break_the_line(
    text: str,
) -> None:
    event = replace(random_event(random.Random(7)), title=text)
    vevent = icalendar.Event.from_ical(render_event(event))
    assert str(vevent["SUMMARY"]).startswith(
        text + " ("
    )  # the label of an approximate time follows
