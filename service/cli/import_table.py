"""What an import did (or would do) as a Rich table: added, changed with before/after, cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from service.localtime import zone
from service.schedules.calendar_import import FieldChange, ImportResult, SegmentDiff

# Fields shown for an added segment; a change shows every field that changed.
_ADDED_FIELDS = ("title", "kind", "start_at", "end_at", "precision", "status", "location")


def show_value(value: Any, tz_name: str) -> str:
    """A field's value for a reader: instants in the visit's zone, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return f"{value.astimezone(zone(tz_name)):%Y-%m-%d %H:%M %Z}"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    return str(value) if value != "" else "—"


def import_summary(result: ImportResult) -> str:
    counts = (
        f"{len(result.added)} added, {len(result.changed)} changed, "
        f"{len(result.cancelled)} cancelled, {len(result.unchanged)} unchanged"
    )
    if result.dry_run:
        return f"dry run of the import into {result.visit}: {counts}; nothing was written"
    return f"imported into {result.visit}: {counts}"


def _shown_fields(diff: SegmentDiff) -> list[FieldChange]:
    if diff.change != "added":
        return list(diff.fields)
    shown = [f for f in diff.fields if f.field in _ADDED_FIELDS]
    return sorted(shown, key=lambda f: _ADDED_FIELDS.index(f.field))


def import_table(result: ImportResult) -> Table:
    title = f"Import into {result.visit}" + (
        " (dry run: nothing written)" if result.dry_run else ""
    )
    table = Table(title=title)
    for column in ("change", "segment", "field", "before", "after"):
        table.add_column(column, overflow="fold")  # keys and values whole, never cut with "…"
    rows: list[SegmentDiff] = [*result.added, *result.changed, *result.cancelled]
    for diff in rows:
        first = True
        fields: list[FieldChange | None] = list(_shown_fields(diff)) or [None]
        for change in fields:
            table.add_row(
                diff.change if first else "",
                diff.key if first else "",
                change.field if change else "",
                show_value(change.before, result.timezone) if change else "",
                show_value(change.after, result.timezone) if change else "",
            )
            first = False
    return table
