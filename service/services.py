"""The composition root: the running service's parts, built once from settings and handed to
the web app, the CLI and the reminder worker. Only service/web and service/cli import it.

Layers (imports point one way; tests/test_layers.py checks it):

    feeds/                       iCalendar, pure: knows nothing of service/
    service/ (root modules)      the shared base: settings, db, models, errors, clock, signing,
                                 urls, timetypes, localtime, offsets
    service/schedules/           visits and segments: specs, files, the catalog, edits, imports
    service/publishing/          feeds from the catalog     service/reminders/   reminders
    service/services.py          this module: wires the parts together
    service/web/, service/cli/   the HTTP app and pages; the commands

How a change travels:

1. The catalog (schedules/catalog.py) writes a schedule in one transaction, under the catalog's
   lock: rows, VEVENTs rendered once, the history.
2. Still inside that transaction its observers run: the reminder planner (plan_changes) moves,
   adds or cancels the pending reminders of every segment that changed. A failure anywhere
   rolls back all of it.
3. At commit the database bumps its change counters: `version` for the catalog (mark_changed)
   and `plan_version` for reminders (mark_plan_changed).
4. In this process the commit's listeners run at once: the feed store drops its cached feeds
   (`_on_commit` below) and a running worker re-arms its wake-up for the next due reminder.
5. Other processes (a `visitcal load` beside a server, more API processes, workers elsewhere)
   notice through the counters: a feed store reads `version` at most every
   `change_check_seconds`, a worker reads `plan_version` every `plan_check_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from service.db import Database
from service.publishing.feed_store import FeedStore
from service.reminders.planner import plan_changes
from service.schedules.catalog import Catalog
from service.settings import Settings

if TYPE_CHECKING:
    from service.reminders.outbox import Outbox
    from service.reminders.worker import ReminderWorker


@dataclass
class Services:
    settings: Settings
    db: Database
    catalog: Catalog
    feeds: FeedStore

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database(settings.database_url, settings.database_busy_seconds)
        services = cls(settings, db, Catalog(db, settings), FeedStore(db, settings))
        debounce = timedelta(seconds=settings.notice_debounce_seconds)
        services.catalog.observers.append(partial(plan_changes, debounce=debounce))
        db.listeners.append(services._on_commit)
        return services

    def _on_commit(self, flags: set[str]) -> None:
        if "catalog" in flags:
            self.feeds.invalidate()

    def sender(self) -> Outbox:
        """What delivers to followers' channels: email by our own mail sender (the relay, or the
        local mail store), the others through Apprise under the channel policy."""
        # Imported here, as the worker below: a process that serves only feeds and pages
        # loads neither the delivery code nor APScheduler.
        from service.reminders.outbox import Outbox

        return Outbox(self.settings)

    def reminder_worker(self) -> ReminderWorker:
        """A reminder worker that delivers with `sender()`; the caller starts and stops it."""
        from service.reminders.worker import ReminderWorker

        return ReminderWorker(self.db, self.settings, self.sender())

    def close(self) -> None:
        self.db.dispose()
