"""Saved private feeds: an unguessable URL (256 random bits, stored hashed), revocable."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from service.db import Database, mark_changed
from service.errors import InputError
from service.models import SEGMENT_KINDS, PrivateFeed, Visit
from service.named_secrets import add_named, list_named, revoke_named
from service.schedules.spec import check_name
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
    try:
        check_name(name)
    except ValueError as error:
        raise InputError("name", str(error)) from None
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
    add_named(db, row, "private feed")
    return token


def list_private_feeds(db: Database) -> list[PrivateFeed]:
    return list_named(db, PrivateFeed)


def revoke_private_feed(db: Database, name: str, now: datetime) -> None:
    """Its URL answers 404 from now on: the change counter empties every feed cache."""
    revoke_named(db, PrivateFeed, name, now, "private feed", also=mark_changed)
