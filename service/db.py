"""The database: engines, read and write sessions, migrations, and the shared change counter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlmodel import Session

from service.errors import Busy

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use psycopg 3 for both."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# SQLSTATEs that mean "another transaction is in the way; the same request may succeed later":
# lock_timeout expired, deadlock detected, serialization failure.
_PG_BUSY = {"55P03", "40P01", "40001"}
# SQLite's busy handler gave up waiting for another connection's lock.
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def _is_busy(error: BaseException | None) -> bool:
    if getattr(error, "sqlstate", None) in _PG_BUSY:
        return True
    message = str(error).lower()
    return type(error).__name__ == "OperationalError" and message.startswith(_SQLITE_BUSY)


def _raise_busy(engine: Engine, busy_seconds: float) -> None:
    """Turn a lock that stayed held past the bound into our Busy: a 503 or exit 75, never a
    driver's message."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if _is_busy(context.original_exception):
            raise Busy(busy_seconds) from context.original_exception


def _sqlite_engine(url: str, immediate: bool, busy_seconds: float) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_seconds})

    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up
    # front; we emit BEGIN ourselves so that writers queue instead of failing to upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_seconds * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    _raise_busy(engine, busy_seconds)
    return engine


def _postgres_engine(url: str, busy_seconds: float) -> Engine:
    # lock_timeout bounds every wait for a row or advisory lock (the catalog lock included);
    # pool_timeout bounds the wait for a connection when every one is in use.
    milliseconds = max(1, round(busy_seconds * 1000))
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=busy_seconds,
        connect_args={"options": f"-c lock_timeout={milliseconds}"},
    )
    _raise_busy(engine, busy_seconds)
    return engine


class Database:
    """Owns the engines. Reads use `session()`; every write goes through `write()`.

    A write waits at most `busy_seconds` for the locks it needs (SQLite's one write lock,
    PostgreSQL's row locks, a pooled connection), then raises Busy."""

    def __init__(self, url: str, busy_seconds: float = 30) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.busy_seconds = busy_seconds
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url, False, busy_seconds)
            self.write_engine = _sqlite_engine(self.url, True, busy_seconds)
        else:
            self.engine = _postgres_engine(self.url, busy_seconds)
            self.write_engine = self.engine
        # Called after a commit with the flags it raised: feeds invalidate, workers re-arm.
        self.listeners: list[Callable[[set[str]], None]] = []

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self, exclusive: bool = False) -> Iterator[Session]:
        """One transaction that applies whole or not at all, and bumps the change counters.

        `exclusive`: first wait for every other exclusive write to end (the catalog's lock), so
        that what the transaction reads is what it replaces, and it decides under the lock it
        writes with. SQLite's writes are all exclusive (BEGIN IMMEDIATE); on PostgreSQL the
        lock is the row of the catalog's change counter, which each such write updates anyway
        at its end, so it costs catalog writes no concurrency they had."""
        with Session(self.write_engine, expire_on_commit=False) as session:
            try:
                if exclusive and not self.is_sqlite:
                    session.execute(_LOCK_CATALOG)
                yield session
                session.flush()
                flags = {flag for flag in COUNTERS if session.info.get(flag)}
                for flag in sorted(flags):
                    session.execute(_BUMP, {"name": COUNTERS[flag]})
                session.commit()
            except sa_exc.TimeoutError:  # no pooled connection came free within the bound
                session.rollback()
                raise Busy(self.busy_seconds) from None
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
        """Bring the schema to the newest Alembic revision. Processes starting together (a
        load beside a server, several API processes) migrate one after the other: the first
        creates the tables, the others find them made. A schema already at the newest
        revision is only read: no write lock, so a dry run waits for no writer."""
        if self._at_head():
            return
        if self.is_sqlite:  # the migration's first statement takes the write lock
            command.upgrade(alembic_config(self), "head")
            return
        with self.write_engine.connect() as connection:
            connection.execute(_LOCK_MIGRATIONS)
            connection.commit()
            try:
                command.upgrade(alembic_config(self), "head")
            finally:
                connection.execute(_UNLOCK_MIGRATIONS)
                connection.commit()

    def _at_head(self) -> bool:
        heads = set(ScriptDirectory.from_config(alembic_config(self)).get_heads())
        with self.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
            connection.rollback()
        return current == heads

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


_LOCK_CATALOG = text("SELECT value FROM catalog_state WHERE name = 'version' FOR UPDATE")
# A session-level advisory lock of PostgreSQL; the number is ours ("visitcal" in ASCII).
_MIGRATIONS_KEY = 0x7669736974636C
_LOCK_MIGRATIONS = text(f"SELECT pg_advisory_lock({_MIGRATIONS_KEY})")
_UNLOCK_MIGRATIONS = text(f"SELECT pg_advisory_unlock({_MIGRATIONS_KEY})")


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
