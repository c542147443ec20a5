"""Another process's writer holding the database, for tests of what waits and what does not."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def held(database_url: str) -> Iterator[None]:
    """Another process's writer in the middle of a long transaction."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.rollback()
            connection.close()
        return
    engine = create_engine(database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT value FROM catalog_state FOR UPDATE"))
        connection.execute(text("LOCK TABLE subscription IN EXCLUSIVE MODE"))
        yield
        connection.rollback()
    engine.dispose()
