"""Feeds whose local times are hard to read right, shared by the format and the parser tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.publishing.feed_store import FeedKey
from service.schedules.files import read_schedules
from tests.helpers.services import FIXTURES, SEED_VISITS, open_services

# Europe/Rome across both DST changes and New Year's Eve, with text that needs escaping.
ROME = "2026-rome"
# America/Los_Angeles on 31 December: already 1 January 2027 in UTC.
LOS_ANGELES = "2026-los-angeles"


@pytest.fixture(scope="package")
def zone_feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The feeds of the Rome and Los Angeles visits and the all feed, loaded next to the seed."""
    url = f"sqlite:///{tmp_path_factory.mktemp('zones') / 'visitcal.db'}"
    visits = [SEED_VISITS, FIXTURES / "visits"]
    keys = {
        "rome": FeedKey("visit", ROME),
        "los-angeles": FeedKey("visit", LOS_ANGELES),
        "all": FeedKey("all"),
    }
    with open_services(url) as services:
        schedules = read_schedules(visits, services.settings.part_of_day)
        services.catalog.apply(schedules, datetime(2026, 1, 9, 12, tzinfo=UTC))
        services.feeds.invalidate()
        feeds = {name: services.feeds.get(key) for name, key in keys.items()}
    return {name: feed.body for name, feed in feeds.items() if feed is not None}
