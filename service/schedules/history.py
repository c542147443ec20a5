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
from service.signing import server_secret, sign
from service.urls import visit_changes, visit_page


@dataclass(frozen=True)
class ChangeView:
    id: str  # public_id of the row
    segment: str
    kind: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def summary(self) -> str:
        what = f"segment {self.segment!r}" if self.segment else "the visit"
        fields = sorted(set(self.after or {}) | set(self.before or {}))
        if self.kind in ("added", "deleted", "removed") or not fields:
            return f"{what} {self.kind}"
        return f"{what} {self.kind}: {', '.join(fields)}"


def _as_shown(change: Change, kind: str, after: dict[str, Any] | None) -> Change:
    """A row for public readers in place of `change`, which they may not see as it is."""
    return Change(
        id=change.id,
        visit_id=change.visit_id,
        segment_key=change.segment_key,
        kind=kind,
        actor=change.actor,
        at=change.at,
        before=None,
        after=after,
    )


def publicly_visible(changes: list[Change], restricted_now: set[str]) -> list[Change]:
    """The changes a public reader may see, oldest first, as public feeds showed them.

    Each segment's visibility and fields are replayed through its history. A change while the
    segment is public shows as it is; changes while it is restricted do not show. Made
    restricted, it leaves the public feeds: one "removed" entry, without details. Made public,
    it appears in them: one "added" entry with its fields as published, so what was held back
    in between (values later changed again) never shows."""
    visible: dict[str, bool] = {}
    fields: dict[str, dict[str, Any]] = {}  # each segment's fields as far as the history says
    shown = []
    for change in changes:
        key = change.segment_key
        if not key:  # the visit itself
            shown.append(change)
            continue
        before, after = change.before or {}, change.after or {}
        if change.kind == "added":  # "added" rows carry every field
            fields[key] = dict(after)
            visible[key] = after.get("visibility", "public") == "public"
            if visible[key]:
                shown.append(change)
            continue
        fields.setdefault(key, {}).update(after)
        if key in visible:
            was = visible[key]
        elif "visibility" in before:
            was = before["visibility"] == "public"
        else:  # a history older than its visibility: the segment counts as what it is now
            was = key not in restricted_now
        now = after["visibility"] == "public" if "visibility" in after else was
        visible[key] = now
        if was and now:  # deleted while public, too
            shown.append(change)
        elif now:  # published: it appears in public feeds as it is now
            shown.append(_as_shown(change, "added", dict(sorted(fields[key].items()))))
        elif was:  # withdrawn: it leaves public feeds
            shown.append(_as_shown(change, "removed", None))
    # A history that disagrees with the segment as it is now (older rows without visibility)
    # shows nothing of a segment that is restricted now and that the replay calls public.
    return [c for c in shown if not (c.segment_key in restricted_now and visible[c.segment_key])]


def public_id(secret: bytes, row_id: int) -> str:
    """A change's id for public readers: stable, but not the row's sequential number, whose gaps
    would count the changes kept from them."""
    return sign(secret, f"change:{row_id}")[:16]


def public_changes(
    db: Database, slug: str, secret_key: str = "", limit: int = 200
) -> tuple[Visit, list[ChangeView]]:
    """Newest first; what happened while a segment was restricted is left out. `secret_key`:
    the configured key for signed links (service.signing.server_secret)."""
    secret = server_secret(db, secret_key)
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
            .order_by(col(Change.at), col(Change.id))
        ).all()
    shown = publicly_visible(list(rows), restricted)
    return visit, [
        ChangeView(
            public_id(secret, c.id or 0), c.segment_key, c.kind, c.actor, c.at, c.before, c.after
        )
        for c in reversed(shown[-limit:])
    ]


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
