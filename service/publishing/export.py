"""Static copies of every feed, laid out like the server's URLs, for any web server or CDN."""

from __future__ import annotations

import os
from pathlib import Path

from rich.progress import track
from sqlmodel import select

from service.models import Visit
from service.publishing.feed_store import FeedKey, FeedStore


def export_feeds(feeds: FeedStore, directory: Path) -> list[Path]:
    """Write feeds/all.ics and feeds/visits/<slug>.ics; each file is replaced atomically."""
    with feeds.db.session() as session:
        slugs = [v.slug for v in session.exec(select(Visit).order_by(Visit.slug))]  # type: ignore[arg-type]
    targets = [(FeedKey("all"), directory / "feeds" / "all.ics")]
    targets += [(FeedKey("visit", s), directory / "feeds" / "visits" / f"{s}.ics") for s in slugs]
    written = []
    for key, path in track(targets, description="exporting feeds", transient=True):
        feed = feeds.get(key)
        if feed is None:  # removed while we were exporting
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".ics.partial")
        partial.write_bytes(feed.body)
        mtime = feed.last_modified.timestamp()
        os.utime(partial, (mtime, mtime))
        partial.replace(path)
        written.append(path)
    return written
