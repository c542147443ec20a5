"""Organizer tokens for the write API: made once, kept hashed, revocable by name."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from service.db import Database
from service.errors import InputError
from service.models import OrganizerToken
from service.named_secrets import add_named, list_named, revoke_named
from service.schedules.spec import check_name
from service.signing import new_token, token_hash


def create_token(db: Database, name: str, now: datetime) -> str:
    """A new token for `name`; the clear token is returned once and never stored."""
    try:
        check_name(name)
    except ValueError as error:
        raise InputError("name", str(error)) from None
    token = new_token()
    add_named(db, OrganizerToken(name=name, token_hash=token_hash(token), created_at=now), "token")
    return token


def list_tokens(db: Database) -> list[OrganizerToken]:
    return list_named(db, OrganizerToken)


def revoke_token(db: Database, name: str, now: datetime) -> None:
    revoke_named(db, OrganizerToken, name, now, "token")


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
