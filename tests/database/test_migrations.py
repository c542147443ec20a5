"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from service.services import Services


def test_migrations_match_the_models(services: Services) -> None:
    with services.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(services: Services) -> None:
    version = services.db.catalog_version()
    services.db.migrate()
    assert services.db.catalog_version() == version
