"""Change rules of the catalog, seen in the feeds: stable UIDs, SEQUENCE, LAST-MODIFIED, cancels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from service.publishing.feed_store import FeedKey, FeedStore, RenderedFeed
from service.schedules.catalog import LoadReport
from service.schedules.files import read_schedules
from service.services import Services
from tests.helpers.services import LEE, MELONI

T1 = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 10, 8, 30, tzinfo=UTC)
T3 = datetime(2026, 1, 11, 9, 45, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
SUMMIT_UID = f"{LEE}.summit@visitcal"
DINNER_UID = f"{LEE}.dinner@visitcal"


def load(services: Services, visits_dir: Path, now: datetime) -> LoadReport:
    schedules = read_schedules([visits_dir], services.settings.part_of_day)
    return services.catalog.apply(schedules, now)


def feed(services: Services, key: FeedKey) -> RenderedFeed:
    """The feed as a new process would assemble it (no cache from before the change)."""
    rendered = FeedStore(services.db, services.settings).get(key)
    assert rendered is not None
    return rendered


def events(services: Services, slug: str = LEE) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(feed(services, FeedKey("visit", slug)).body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def edit_segment(visits_dir: Path, segment_id: str, old: str, new: str) -> None:
    """Replace `old` by `new` inside one [[segment]] of the Lee schedule file."""
    path = visits_dir / f"{LEE}.toml"
    head, *blocks = path.read_text(encoding="utf-8").split("[[segment]]")
    edited = 0
    for number, block in enumerate(blocks):
        if f'id = "{segment_id}"\n' in block:
            assert old in block
            blocks[number] = block.replace(old, new)
            edited += 1
    assert edited == 1
    path.write_text("[[segment]]".join([head, *blocks]), encoding="utf-8")


def remove_segment(visits_dir: Path, segment_id: str) -> None:
    path = visits_dir / f"{LEE}.toml"
    head, *blocks = path.read_text(encoding="utf-8").split("[[segment]]")
    kept = [block for block in blocks if f'id = "{segment_id}"\n' not in block]
    assert len(kept) == len(blocks) - 1
    path.write_text("[[segment]]".join([head, *kept]), encoding="utf-8")


def all_feeds(services: Services) -> list[RenderedFeed]:
    keys = [FeedKey("all"), FeedKey("visit", LEE), FeedKey("visit", MELONI)]
    keys += [FeedKey("segment", LEE, "summit"), FeedKey("segment", MELONI, "summit")]
    return [feed(services, key) for key in keys]


def test_loading_the_same_files_twice_changes_no_feed_byte_or_etag(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    before = all_feeds(services)
    version = services.db.catalog_version()

    report = load(services, visits_dir, T2)

    assert not report.changed_anything
    assert report.unchanged == 7
    assert services.db.catalog_version() == version
    after = all_feeds(services)
    assert [f.body for f in after] == [f.body for f in before]
    assert [f.etag for f in after] == [f.etag for f in before]
    assert [f.last_modified for f in after] == [f.last_modified for f in before]


def test_changed_segment_keeps_uid_and_gets_next_sequence_and_new_last_modified(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    etag_before = feed(services, FeedKey("visit", LEE)).etag
    edit_segment(visits_dir, "summit", 'location = "Nara"', 'location = "Nara Hotel"')

    report = load(services, visits_dir, T2)

    assert [(c.uid, c.kind) for c in report.changes] == [(SUMMIT_UID, "changed")]
    summit = events(services)[SUMMIT_UID]
    assert str(summit["LOCATION"]) == "Nara Hotel"
    assert summit["SEQUENCE"] == 1
    assert summit["LAST-MODIFIED"].dt == T2
    assert summit["DTSTAMP"].dt == T2
    assert summit["CREATED"].dt == T1
    dinner = events(services)[DINNER_UID]
    assert dinner["SEQUENCE"] == 0
    assert dinner["LAST-MODIFIED"].dt == T1
    changed = feed(services, FeedKey("visit", LEE))
    assert changed.etag != etag_before
    assert changed.last_modified == T2


def test_segment_removed_from_its_file_stays_in_the_feed_as_cancelled(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    remove_segment(visits_dir, "dinner")

    report = load(services, visits_dir, T2)

    assert [(c.uid, c.kind) for c in report.changes] == [(DINNER_UID, "cancelled")]
    dinner = events(services)[DINNER_UID]
    assert dinner["STATUS"] == "CANCELLED"
    assert dinner["SEQUENCE"] == 1
    assert dinner["LAST-MODIFIED"].dt == T2
    everything = icalendar.Calendar.from_ical(feed(services, FeedKey("all")).body)
    assert DINNER_UID in {str(e["UID"]) for e in everything.walk("VEVENT")}

    # Loading the same files again does not cancel it a second time.
    again = load(services, visits_dir, T3)
    assert not again.changed_anything
    assert events(services)[DINNER_UID]["SEQUENCE"] == 1


def test_cancelled_segment_put_back_is_restored_with_a_higher_sequence(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    original = (visits_dir / f"{LEE}.toml").read_text(encoding="utf-8")
    remove_segment(visits_dir, "dinner")
    load(services, visits_dir, T2)
    (visits_dir / f"{LEE}.toml").write_text(original, encoding="utf-8")

    report = load(services, visits_dir, T3)

    assert [(c.uid, c.kind) for c in report.changes] == [(DINNER_UID, "restored")]
    dinner = events(services)[DINNER_UID]
    assert dinner["STATUS"] == "TENTATIVE"
    assert dinner["SEQUENCE"] == 2


def test_afternoon_given_a_clock_time_is_reported_as_refined(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    edit_segment(visits_dir, "summit", 'part_of_day = "afternoon"', 'start = "15:00"')

    report = load(services, visits_dir, T2)

    (change,) = report.changes
    assert (change.uid, change.kind) == (SUMMIT_UID, "refined")
    assert change.before_start == datetime(2026, 1, 13, 13, 0, tzinfo=TOKYO)
    assert change.after_start == datetime(2026, 1, 13, 15, 0, tzinfo=TOKYO)
    summit = events(services)[SUMMIT_UID]
    assert summit["DTSTART"].dt == datetime(2026, 1, 13, 15, 0, tzinfo=TOKYO)
    assert summit["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert summit["STATUS"] == "CONFIRMED"
    assert summit["SEQUENCE"] == 1


def test_clock_time_changed_to_another_is_reported_as_moved(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    edit_segment(visits_dir, "summit", 'part_of_day = "afternoon"', 'start = "15:00"')
    load(services, visits_dir, T2)
    edit_segment(visits_dir, "summit", 'start = "15:00"', 'start = "16:30"')

    report = load(services, visits_dir, T3)

    (change,) = report.changes
    assert (change.uid, change.kind) == (SUMMIT_UID, "moved")
    assert change.before_start == datetime(2026, 1, 13, 15, 0, tzinfo=TOKYO)
    assert change.after_start == datetime(2026, 1, 13, 16, 30, tzinfo=TOKYO)
    summit = events(services)[SUMMIT_UID]
    assert summit["DTSTART"].dt == datetime(2026, 1, 13, 16, 30, tzinfo=TOKYO)
    assert summit["SEQUENCE"] == 2
    assert summit["LAST-MODIFIED"].dt == T3


def test_second_change_within_the_same_second_still_gets_a_later_last_modified(
    services: Services, visits_dir: Path
) -> None:
    load(services, visits_dir, T1)
    edit_segment(visits_dir, "summit", 'location = "Nara"', 'location = "Nara Hotel"')
    load(services, visits_dir, T2)
    first = events(services)[SUMMIT_UID]["LAST-MODIFIED"].dt
    edit_segment(visits_dir, "summit", 'location = "Nara Hotel"', 'location = "Todai-ji"')

    load(services, visits_dir, T2 + timedelta(milliseconds=400))

    summit = events(services)[SUMMIT_UID]
    assert summit["SEQUENCE"] == 2
    assert summit["LAST-MODIFIED"].dt > first


def test_reloading_unchanged_files_keeps_what_organizers_changed_through_the_api(
    seeded: Services, visits_dir: Path
) -> None:
    from service.schedules.editing import change_segment

    load(seeded, visits_dir, T1)
    change_segment(seeded.catalog, LEE, "summit", {"start": "15:00"}, "press-office", T2)
    load(seeded, visits_dir, T3)  # what every `visitcal up` does
    summit = events(seeded)[SUMMIT_UID]
    assert int(summit["SEQUENCE"]) == 1
    assert summit.decoded("DTSTART") == datetime(2026, 1, 13, 15, tzinfo=TOKYO)
    # A file that changes is applied again: the file speaks for the whole visit.
    edit_segment(visits_dir, "summit", 'title = "Summit meeting"', 'title = "Summit"')
    load(seeded, visits_dir, T3)
    summit = events(seeded)[SUMMIT_UID]
    assert str(summit["SUMMARY"]).startswith("Summit (afternoon")


def test_a_hard_deleted_visit_comes_back_from_its_unchanged_file(
    seeded: Services, visits_dir: Path
) -> None:
    load(seeded, visits_dir, T1)
    seeded.catalog.delete_visit(LEE)
    load(seeded, visits_dir, T2)
    assert SUMMIT_UID in events(seeded)
