"""The storage layer keeps UTC and gives back aware UTC datetimes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlmodel import col, select

from service.models import Visit
from service.services import Services

# Non-UTC offsets, one of them not a whole hour, one on the other side of the date line.
ST_JOHNS_NOON = datetime(2026, 1, 12, 12, 0, tzinfo=ZoneInfo("America/St_Johns"))  # 15:30Z
KIRITIMATI_MORNING = datetime(2026, 1, 13, 9, 15, tzinfo=ZoneInfo("Pacific/Kiritimati"))  # -1d


def new_visit(slug: str, created_at: datetime, changed_at: datetime) -> Visit:
    return Visit(
        slug=slug,
        title="Storage check",
        guest_name="Guest",
        first_day=date(2026, 1, 12),
        last_day=date(2026, 1, 13),
        created_at=created_at,
        changed_at=changed_at,
    )


def test_aware_non_utc_instants_come_back_as_the_same_instants_in_utc(services: Services) -> None:
    with services.db.write() as session:
        session.add(new_visit("storage-check", ST_JOHNS_NOON, KIRITIMATI_MORNING))

    with services.db.session() as session:
        visit = session.exec(select(Visit).where(Visit.slug == "storage-check")).one()

    for stored, written in (
        (visit.created_at, ST_JOHNS_NOON),
        (visit.changed_at, KIRITIMATI_MORNING),
    ):
        assert stored.tzinfo is UTC
        assert stored == written
        assert stored.utcoffset() == timedelta(0)
    assert visit.created_at == datetime(2026, 1, 12, 15, 30, tzinfo=UTC)
    assert visit.changed_at == datetime(2026, 1, 12, 19, 15, tzinfo=UTC)


def test_the_database_keeps_the_utc_wall_time(services: Services) -> None:
    with services.db.write() as session:
        session.add(new_visit("storage-check", ST_JOHNS_NOON, ST_JOHNS_NOON))

    # Read the column as the database holds it, bypassing the column type.
    if services.db.is_sqlite:
        query = "SELECT created_at FROM visit WHERE slug = 'storage-check'"
    else:
        query = "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM visit"
    with services.db.session() as session:
        raw = session.execute(text(query)).scalar_one()
    assert str(raw).startswith("2026-01-12 15:30:00")


def test_instants_come_back_in_utc_whatever_the_database_session_zone(
    services: Services,
) -> None:
    if services.db.is_sqlite:
        pytest.skip("SQLite has no session time zone")
    with services.db.write() as session:
        session.add(new_visit("storage-check", ST_JOHNS_NOON, ST_JOHNS_NOON))

    with services.db.session() as session:
        session.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
        visit = session.exec(select(Visit).where(Visit.slug == "storage-check")).one()

    assert visit.created_at.tzinfo is UTC
    assert visit.created_at == ST_JOHNS_NOON


def test_naive_datetime_is_refused_and_nothing_is_written(services: Services) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime given to storage"),
        services.db.write() as session,
    ):
        session.add(new_visit("naive-check", datetime(2026, 1, 12, 12, 0), ST_JOHNS_NOON))

    with services.db.session() as session:
        assert session.exec(select(Visit).where(Visit.slug == "naive-check")).first() is None


def test_naive_datetime_in_a_query_is_refused(services: Services) -> None:
    with services.db.session() as session, pytest.raises(StatementError, match="naive"):
        session.exec(select(Visit).where(col(Visit.created_at) < datetime(2026, 1, 12))).all()


def test_instants_compare_as_instants_in_queries(services: Services) -> None:
    with services.db.write() as session:
        session.add(new_visit("storage-check", ST_JOHNS_NOON, ST_JOHNS_NOON))

    just_before = datetime(2026, 1, 13, 0, 29, tzinfo=ZoneInfo("Asia/Tokyo"))  # 15:29Z
    just_after = datetime(2026, 1, 12, 10, 31, tzinfo=ZoneInfo("America/New_York"))  # 15:31Z
    with services.db.session() as session:
        found = session.exec(
            select(Visit.slug).where(
                col(Visit.created_at) > just_before, col(Visit.created_at) < just_after
            )
        ).all()
    assert found == ["storage-check"]
