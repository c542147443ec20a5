"""The running service's parts, built once from settings and handed to the API, CLI and worker."""

from __future__ import annotations

from dataclasses import dataclass

from service.db import Database
from service.publishing.feed_store import FeedStore
from service.schedules.catalog import Catalog
from service.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    catalog: Catalog
    feeds: FeedStore

    @classmethod
    def build(cls, settings: Settings) -> Services:
        from service.reminders.planner import plan_changes

        db = Database(settings.database_url, settings.database_busy_seconds)
        services = cls(settings, db, Catalog(db, settings), FeedStore(db, settings))
        services.catalog.observers.append(plan_changes)
        db.listeners.append(services._on_commit)
        return services

    def _on_commit(self, flags: set[str]) -> None:
        if "catalog" in flags:
            self.feeds.invalidate()

    def close(self) -> None:
        self.db.dispose()
