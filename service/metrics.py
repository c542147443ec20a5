"""Prometheus metrics: what the processes count (reminders, feeds, sign-ups) and, read from the
database at each scrape, the reminder queue and the workers alive.

Several processes of one machine (`visitcal serve --workers N`, and workers run with the same
PROMETHEUS_MULTIPROC_DIR) write their counts to files in that directory, and any of them
answers /metrics with the sum; without it, a process answers with its own counts."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST

# -- reminders (the worker) ---------------------------------------------------------------------

REMINDERS_DUE = Counter(
    "visitcal_reminders_due", "Reminders and notices that came due and were claimed (first try)"
)
REMINDERS_SENT = Counter("visitcal_reminders_sent", "Reminders and notices the channel accepted")
REMINDERS_LATE = Counter(
    "visitcal_reminders_late", "Sent later than late_after_seconds after their due instant"
)
REMINDERS_MISSED = Counter(
    "visitcal_reminders_missed", "Not sent: their segment had started when a worker got to them"
)
REMINDERS_FAILED = Counter("visitcal_reminders_failed", "Given up on after retry_limit retries")
REMINDERS_RETRIED = Counter(
    "visitcal_reminders_retried", "Deliveries that failed and were put back to try again"
)
REMINDERS_CANCELLED = Counter(
    "visitcal_reminders_cancelled", "Claimed but not sent: unsubscribed, unconfirmed, cancelled"
)
LATENESS = Histogram(
    "visitcal_reminder_lateness_seconds",
    "From a reminder's due instant to the channel's acceptance",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
)

# -- feeds and sign-ups (serve) -----------------------------------------------------------------

_FEED_RESPONSES = Counter(
    "visitcal_feed_responses", "Feed and .ics download requests, by status", ["status"]
)
# Bound once: the feed path pays one increment, not a label lookup.
FEED_OK = _FEED_RESPONSES.labels(status="200")
FEED_NOT_MODIFIED = _FEED_RESPONSES.labels(status="304")
FEED_OTHER = _FEED_RESPONSES.labels(status="other")
FEED_CACHE_HITS = Counter(
    "visitcal_feed_cache_hits", "Feeds answered from the rendered-feed cache (no database)"
)
SIGN_UPS = Counter("visitcal_sign_ups", "Subscriptions made (before confirmation)")
CONFIRMATIONS = Counter("visitcal_sign_up_confirmations", "Subscriptions confirmed")


def count_feed(status: int) -> None:
    (FEED_OK if status == 200 else FEED_NOT_MODIFIED if status == 304 else FEED_OTHER).inc()


# -- the exposition -------------------------------------------------------------------------------


class QueueCollector(Collector):
    """The queue and the workers, read from the database when scraped (a few index reads)."""

    def __init__(self, read: Iterable[tuple[str, str, float]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        for name, documentation, value in self._read:
            yield GaugeMetricFamily(name, documentation, value=value)


def queue_gauges(
    due: int, claimed: int, oldest_wait: float, alive: int, dead: int, now: datetime
) -> list[tuple[str, str, float]]:
    return [
        ("visitcal_reminder_queue_due", "Reminders due now and not yet claimed", due),
        ("visitcal_reminder_queue_claimed", "Reminders claimed and being delivered", claimed),
        (
            "visitcal_reminder_queue_oldest_due_seconds",
            "How long the oldest due, unclaimed reminder has waited",
            oldest_wait,
        ),
        ("visitcal_workers_alive", "Reminder workers with a recent heartbeat", alive),
        ("visitcal_workers_silent", "Worker rows whose heartbeat stopped (died)", dead),
        ("visitcal_scrape_timestamp_seconds", "When these gauges were read", now.timestamp()),
    ]


def exposition(gauges: list[tuple[str, str, float]]) -> bytes:
    """The text format: every process's counts (or this one's), then the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    database = CollectorRegistry()
    database.register(QueueCollector(gauges))
    return generate_latest(registry) + generate_latest(database)
