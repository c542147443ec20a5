"""Secrets: manage tokens (random, stored hashed) and signed unsubscribe links."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.exc import IntegrityError

from service.db import Database
from service.models import CatalogState


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a plain hash is enough to keep them out of the database.
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, stored_hash: str) -> bool:
    if not token:
        return False
    return hmac.compare_digest(token_hash(token), stored_hash)


def server_secret(db: Database, configured: str = "") -> bytes:
    """The key for signed links: from settings, or made once and kept in the database."""
    if configured:
        return configured.encode()
    with db.session() as session:
        state = session.get(CatalogState, "secret")
    if state is None:
        try:
            with db.write() as session:
                session.add(CatalogState(name="secret", value=secrets.token_hex(32)))
        except IntegrityError:  # another process made it first
            pass
        with db.session() as session:
            state = session.get(CatalogState, "secret")
    assert state is not None
    return state.value.encode()


def sign(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()[:32]


def signature_matches(secret: bytes, message: str, signature: str | None) -> bool:
    if not signature:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters, and a link can carry any.
    return hmac.compare_digest(sign(secret, message).encode(), signature.encode("utf-8", "replace"))
