"""Named, revocable secrets (organizer tokens, private feeds): one row per name holding only the
token's hash, listed by name, revoked for good."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.db import Database
from service.errors import InputError, NotFound
from service.models import OrganizerToken, PrivateFeed

Named = TypeVar("Named", OrganizerToken, PrivateFeed)


def add_named(db: Database, row: Named, what: str) -> None:
    """Keep a new named row; a name in use already is the caller's error (InputError)."""
    try:
        with db.write() as session:
            session.add(row)
    except IntegrityError:
        raise InputError("name", f"a {what} named {row.name!r} exists already") from None


def list_named(db: Database, model: type[Named]) -> list[Named]:
    with db.session() as session:
        return list(session.exec(select(model).order_by(col(model.name))))


def revoke_named(
    db: Database,
    model: type[Named],
    name: str,
    now: datetime,
    what: str,
    also: Callable[[Session], None] | None = None,
) -> None:
    """Revoke the active row named `name` (NotFound if there is none); `also` runs in the same
    transaction."""
    with db.write() as session:
        row = session.exec(select(model).where(col(model.name) == name)).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no active {what} named {name!r}")
        row.revoked_at = now
        session.add(row)
        if also is not None:
            also(session)
