"""A visit's change history, as a list and as an Atom feed journalists can follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlmodel import col, select

from service.db import Database
from service.models import Change, Segment, Visit
from service.schedules.lookup import visit_by_slug
from service.urls import visit_changes, visit_page


@dataclass(frozen=True)
class ChangeView:
    id: int
    segment: str
    kind: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def summary(self) -> str:
        what = f"segment {self.segment!r}" if self.segment else "the visit"
        fields = sorted(set(self.after or {}) | set(self.before or {}))
        if self.kind in ("added", "deleted") or not fields:
            return f"{what} {self.kind}"
        return f"{what} {self.kind}: {', '.join(fields)}"


def _restricted(change: Change, restricted_keys: set[str]) -> bool:
    sides = [change.before or {}, change.after or {}]
    return change.segment_key in restricted_keys or any(
        side.get("visibility") == "restricted" for side in sides
    )


def public_changes(db: Database, slug: str, limit: int = 200) -> tuple[Visit, list[ChangeView]]:
    """Newest first; changes that touch restricted segments are left out."""
    with db.session() as session:
        visit = visit_by_slug(session, slug)
        restricted = set(
            session.exec(
                select(Segment.key).where(
                    Segment.visit_id == visit.id, Segment.visibility == "restricted"
                )
            )
        )
        rows = session.exec(
            select(Change)
            .where(Change.visit_id == visit.id)
            .order_by(col(Change.at).desc(), col(Change.id).desc())
            .limit(limit)
        ).all()
    views = [
        ChangeView(c.id or 0, c.segment_key, c.kind, c.actor, c.at, c.before, c.after)
        for c in rows
        if not _restricted(c, restricted)
    ]
    return visit, views


def atom_feed(base_url: str, visit: Visit, changes: list[ChangeView]) -> bytes:
    feed_url = visit_changes(base_url, visit.slug)
    updated = (changes[0].at if changes else visit.changed_at).isoformat()
    entries = []
    for change in changes:
        details = []
        for name in sorted(set(change.after or {}) | set(change.before or {})):
            old = (change.before or {}).get(name)
            new = (change.after or {}).get(name)
            details.append(f"{name}: {old!r} → {new!r}")
        entries.append(
            "<entry>"
            f"<id>{escape(feed_url)}#{change.id}</id>"
            f"<title>{escape(change.summary())}</title>"
            f"<updated>{change.at.isoformat()}</updated>"
            f"<author><name>{escape(change.actor or 'visitcal')}</name></author>"
            f'<link href="{escape(visit_page(base_url, visit.slug))}"/>'
            f'<content type="text">{escape(chr(10).join(details))}</content>'
            "</entry>"
        )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(feed_url)}</id>"
        f"<title>{escape(visit.title)}: changes</title>"
        f"<updated>{updated}</updated>"
        f'<link rel="self" href="{escape(feed_url)}"/>' + "".join(entries) + "</feed>"
    )
    return xml.encode("utf-8")
