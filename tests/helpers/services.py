"""Services on a test database: settings that never reach beyond this machine, the seed visits."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.schedules.files import read_schedules
from service.services import Services
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEED_VISITS = ROOT / "config" / "visits"
POSTGRES_URL = os.environ.get("VISITCAL_TEST_POSTGRES_URL")
BASE_URL = "http://visitcal.test"  # what make_settings writes into links
LEE = "2026-01-lee-jae-myung-nara"
MELONI = "2026-01-meloni-japan"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "base_url": BASE_URL,
        "visits_dir": SEED_VISITS,
        "change_check_seconds": 0,
        # No test may reach beyond this machine, whatever URL it (or schemathesis) makes up.
        "import_allow_public": False,
        # The local receivers (HTTP, SMTP) listen on 127.0.0.1; the hostile-input tests turn
        # this off to show that the address policy holds.
        "channel_allow_private": True,
        # Mail kept without a relay goes to a directory of the test's own, not the checkout's var/.
        "mail_dir": Path(tempfile.mkdtemp(prefix="visitcal-mail-")),
        # Notices at once, as the tests of their words and timing expect; the debounce has its own.
        "notice_debounce_seconds": 0,
        # Tests sign up many times from 127.0.0.1; the rate-limit test sets its own.
        "anonymous_write_burst": 100_000,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def open_services(database_url: str, **overrides: object) -> Iterator[Services]:
    """The real services on this database, migrated, closed at the end."""
    services = Services.build(make_settings(database_url, **overrides))
    services.db.migrate()
    try:
        yield services
    finally:
        services.close()


def fresh_postgres(url: str) -> None:
    """Empty the PostgreSQL database at `url`: a test starts with no table."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def empty_database(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    """The URL of an empty database: a new SQLite file in `directory`, or the test PostgreSQL
    database (conftest's postgres_database, which skips without a server) emptied."""
    if backend == "sqlite":
        return f"sqlite:///{directory / 'visitcal.db'}"
    url: str = request.getfixturevalue("postgres_database")
    fresh_postgres(url)
    return url


def load_seed(services: Services, now: datetime | None = None) -> None:
    schedules = read_schedules([SEED_VISITS], services.settings.part_of_day)
    services.catalog.apply(schedules, now or datetime(2026, 1, 9, 12, tzinfo=UTC))
    services.feeds.invalidate()
