"""Shared fixtures: real SQLite files, the real PostgreSQL when configured, real HTTP servers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from service.db import normalize_url
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import (
    POSTGRES_URL,
    SEED_VISITS,
    empty_database,
    load_seed,
    open_services,
)


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on a new SQLite file and on PostgreSQL."""
    return empty_database(request.param, request, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'visitcal.db'}"


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    with open_services(database_url) as built:
        yield built


@pytest.fixture
def sqlite_services(sqlite_url: str) -> Iterator[Services]:
    with open_services(sqlite_url) as built:
        yield built


@pytest.fixture
def services_with(database_url: str) -> Iterator[Callable[..., Services]]:
    """Builds services on this test's database (SQLite, then PostgreSQL) with these settings
    overridden: `services_with(retry_limit=2)`; all are closed at the end."""
    with ExitStack() as stack:
        yield lambda **overrides: stack.enter_context(open_services(database_url, **overrides))


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


@pytest.fixture
def live(seeded: Services) -> Iterator[LiveServer]:
    with LiveServer(seeded) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live server on the seeded database."""
    with httpx.Client(base_url=live.url, timeout=10) as http:
        yield http
