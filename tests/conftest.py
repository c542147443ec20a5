"""Shared fixtures: real SQLite files, the real PostgreSQL when configured, real HTTP servers."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from service.db import normalize_url
from service.schedules.files import read_schedules
from service.services import Services
from service.settings import Settings
from service.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SEED_VISITS = ROOT / "config" / "visits"
POSTGRES_URL = os.environ.get("VISITCAL_TEST_POSTGRES_URL")
LEE = "2026-01-lee-jae-myung-nara"
MELONI = "2026-01-meloni-japan"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "base_url": "http://visitcal.test",
        "visits_dir": SEED_VISITS,
        "change_check_seconds": 0,
        # No test may reach beyond this machine, whatever URL it (or schemathesis) makes up.
        "import_allow_public": False,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the configured PostgreSQL server, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need VISITCAL_TEST_POSTGRES_URL (set by .ci/run)")
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"visitcal_test_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # server down or unreachable: say so
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not usable: {error}")
    url = normalize_url(POSTGRES_URL).rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on a new SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'visitcal.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _fresh_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'visitcal.db'}"


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    built = Services.build(make_settings(database_url))
    built.db.migrate()
    yield built
    built.close()


@pytest.fixture
def sqlite_services(sqlite_url: str) -> Iterator[Services]:
    built = Services.build(make_settings(sqlite_url))
    built.db.migrate()
    yield built
    built.close()


def load_seed(services: Services, now: datetime | None = None) -> None:
    schedules = read_schedules([SEED_VISITS], services.settings.part_of_day)
    services.catalog.apply(schedules, now or datetime(2026, 1, 9, 12, tzinfo=UTC))
    services.feeds.invalidate()


@pytest.fixture
def seeded(services: Services) -> Services:
    load_seed(services)
    return services


@pytest.fixture
def seeded_sqlite(sqlite_services: Services) -> Services:
    load_seed(sqlite_services)
    return sqlite_services


@pytest.fixture
def visits_dir(tmp_path: Path) -> Path:
    """A writable copy of the seed schedule files."""
    target = tmp_path / "visits"
    shutil.copytree(SEED_VISITS, target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The real app under uvicorn on 127.0.0.1, in a thread of the test process."""

    def __init__(self, services: Services) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(services), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live(seeded: Services) -> Iterator[LiveServer]:
    with LiveServer(seeded) as server:
        yield server
