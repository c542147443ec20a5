"""Saved private feeds: an unguessable URL (256 random bits, stored hashed), revocable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from service.db import Database, mark_changed
from service.errors import InputError, NotFound
from service.models import SEGMENT_KINDS, PrivateFeed, Visit
from service.schedules.spec import SLUG
from service.signing import new_token, token_hash


def create_private_feed(
    db: Database,
    name: str,
    visits: list[str],
    kinds: list[str],
    tags: list[str],
    include_restricted: bool,
    now: datetime,
) -> str:
    """Save a feed; returns its token (shown once: only the hash is kept)."""
    if not SLUG.match(name):
        raise InputError("name", "use lowercase letters, digits and hyphens (at most 120)")
    for kind in kinds:
        if kind not in SEGMENT_KINDS:
            raise InputError("kind", f"{kind!r} is not one of {', '.join(SEGMENT_KINDS)}")
    with db.session() as session:
        known = set(session.exec(select(Visit.slug).where(col(Visit.slug).in_(visits))))
    unknown = [slug for slug in visits if slug not in known]
    if unknown:
        raise InputError("visit", f"unknown visit {unknown[0]!r}")
    token = new_token()
    row = PrivateFeed(
        name=name,
        token_hash=token_hash(token),
        visits=sorted(set(visits)),
        kinds=sorted(set(kinds)),
        tags=sorted(set(tags)),
        include_restricted=include_restricted,
        created_at=now,
    )
    try:
        with db.write() as session:
            session.add(row)
    except IntegrityError:
        raise InputError("name", f"a private feed named {name!r} exists already") from None
    return token


def list_private_feeds(db: Database) -> list[PrivateFeed]:
    with db.session() as session:
        return list(session.exec(select(PrivateFeed).order_by(col(PrivateFeed.name))))


def revoke_private_feed(db: Database, name: str, now: datetime) -> None:
    """Its URL answers 404 from now on: the change counter empties every feed cache."""
    with db.write() as session:
        row = session.exec(select(PrivateFeed).where(PrivateFeed.name == name)).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no active private feed named {name!r}")
        row.revoked_at = now
        session.add(row)
        mark_changed(session)
