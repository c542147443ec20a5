"""The `visitcal visits` table: visits and segments with times in a chosen zone."""

from __future__ import annotations

from rich.table import Table
from sqlmodel import select

from service.errors import InputError
from service.localtime import zone
from service.models import Segment, Visit
from service.schedules.when import Timing, when_line
from service.services import Services


def describe_time(segment: Segment, tz_name: str) -> str:
    """How a reader in `tz_name` should read the segment's time, approximations said as such."""
    return when_line(Timing.of(segment), tz_name)


def visits_table(services: Services, tz_name: str | None) -> Table:
    if tz_name is not None:
        try:
            zone(tz_name)
        except ValueError as error:
            raise InputError("--tz", str(error)) from None
    table = Table(title=f"Visits (times in {tz_name or 'each visit’s zone'})")
    for column in ("visit", "segment", "kind", "when", "status", "seq"):
        table.add_column(column)
    with services.db.session() as session:
        visits = session.exec(select(Visit).order_by(Visit.first_day)).all()  # type: ignore[arg-type]
        for visit in visits:
            segments = session.exec(
                select(Segment)
                .where(Segment.visit_id == visit.id)
                .order_by(Segment.start_at, Segment.uid)  # type: ignore[arg-type]
            ).all()
            table.add_row(
                f"[bold]{visit.title}[/bold]",
                f"{visit.first_day:%d %b} – {visit.last_day:%d %b %Y}",
                "",
                visit.place,
                visit.status,
                "",
            )
            for segment in segments:
                table.add_row(
                    "",
                    segment.title,
                    segment.kind,
                    describe_time(segment, tz_name or visit.timezone),
                    segment.status
                    + (" (restricted)" if segment.visibility == "restricted" else ""),
                    str(segment.sequence),
                )
    return table
