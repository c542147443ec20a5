"""Organizer tokens for the write API: made once, kept hashed, revocable by name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from service.db import Database
from service.errors import InputError, NotFound
from service.models import OrganizerToken
from service.schedules.spec import SLUG
from service.signing import new_token, token_hash


def create_token(db: Database, name: str, now: datetime) -> str:
    """A new token for `name`; the clear token is returned once and never stored."""
    if not SLUG.match(name):
        raise InputError("name", "use lowercase letters, digits and hyphens (at most 120)")
    token = new_token()
    try:
        with db.write() as session:
            session.add(OrganizerToken(name=name, token_hash=token_hash(token), created_at=now))
    except IntegrityError:
        raise InputError("name", f"a token named {name!r} exists already") from None
    return token


def list_tokens(db: Database) -> list[OrganizerToken]:
    with db.session() as session:
        return list(session.exec(select(OrganizerToken).order_by(col(OrganizerToken.name))))


def revoke_token(db: Database, name: str, now: datetime) -> None:
    with db.write() as session:
        row = session.exec(select(OrganizerToken).where(OrganizerToken.name == name)).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no active token named {name!r}")
        row.revoked_at = now
        session.add(row)


def organizer_for(db: Database, token: str | None) -> str | None:
    """The name of the active token, or None. Looked up by hash: an index lookup on a
    256-bit random value's digest leaks nothing useful through timing."""
    if not token:
        return None
    with db.session() as session:
        row = session.exec(
            select(OrganizerToken).where(OrganizerToken.token_hash == token_hash(token))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    return row.name
