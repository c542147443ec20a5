"""The database: engines, read and write sessions, migrations, and the shared change counter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use psycopg 3 for both."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up
    # front; we emit BEGIN ourselves so that writers queue instead of failing to upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Owns the engines. Reads use `session()`; every write goes through `write()`."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url, immediate=False)
            self.write_engine = _sqlite_engine(self.url, immediate=True)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20)
            self.write_engine = self.engine
        # Called after a commit with the flags it raised: feeds invalidate, workers re-arm.
        self.listeners: list[Callable[[set[str]], None]] = []

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that applies whole or not at all, and bumps the change counters."""
        with Session(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.flush()
                flags = {flag for flag in COUNTERS if session.info.get(flag)}
                for flag in sorted(flags):
                    session.execute(_BUMP, {"name": COUNTERS[flag]})
                session.commit()
            except BaseException:
                session.rollback()
                raise
        for listener in list(self.listeners):
            if flags:
                listener(flags)

    def counter(self, name: str) -> int:
        """A shared counter that committed changes increase ("version", "plan_version")."""
        with self.engine.connect() as connection:
            value = connection.execute(
                text("SELECT value FROM catalog_state WHERE name = :name"), {"name": name}
            ).scalar()
            connection.rollback()
        return int(value or 0)

    def catalog_version(self) -> int:
        """Increases with every committed change to what feeds show."""
        return self.counter("version")

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        command.upgrade(alembic_config(self), "head")

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


# Session flags and the counter each bumps at commit.
COUNTERS = {"catalog": "version", "plan": "plan_version"}
_BUMP = text(
    "UPDATE catalog_state SET value = CAST(CAST(value AS INTEGER) + 1 AS VARCHAR(32))"
    " WHERE name = :name"
)


def mark_changed(session: Session) -> None:
    """Tell `Database.write` that this transaction changed what feeds show."""
    session.info["catalog"] = True


def mark_plan_changed(session: Session) -> None:
    """Tell `Database.write` that this transaction changed the reminder plan."""
    session.info["plan"] = True


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.write_engine
    return config
