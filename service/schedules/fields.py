"""The stored columns of a visit and a segment, derived from the spec models rather than
retyped: a field added to the spec is written, compared, kept in the history and read back."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from pydantic import BaseModel

from service.schedules.spec import SegmentInput, VisitSpec


def _nested(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


# A visit row flattens the spec's nested tables: guest.name is the column guest_name. The slug
# names the row and is not one of its changeable fields.
_VISIT_SHAPE: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (name, tuple(nested.model_fields) if (nested := _nested(info.annotation)) else ())
    for name, info in VisitSpec.model_fields.items()
    if name != "slug"
)
VISIT_COLUMNS: tuple[str, ...] = tuple(
    f"{name}_{part}" if parts else name for name, parts in _VISIT_SHAPE for part in parts or ("",)
)
# What a segment row stores from its input; the key, UID and SEQUENCE are the catalog's.
SEGMENT_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in dataclass_fields(SegmentInput) if f.name not in ("key", "uid", "sequence")
)
# The columns that say when a segment happens.
TIME_COLUMNS = ("start_at", "end_at", "precision", "part_of_day", "timezone")


def _plain(value: Any) -> Any:
    # Lists and tables are copied: a row's JSON must not share the spec's (or another row's).
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return list(value) if isinstance(value, tuple | list) else value


def visit_columns(spec: VisitSpec) -> dict[str, Any]:
    """The visit row's fields from a spec."""
    columns: dict[str, Any] = {}
    for name, parts in _VISIT_SHAPE:
        value = getattr(spec, name)
        if parts:
            columns.update({f"{name}_{part}": getattr(value, part) for part in parts})
        else:
            columns[name] = _plain(value)
    return columns


def visit_row_columns(visit: Any) -> dict[str, Any]:
    """The same fields as stored in a visit row."""
    return {name: _plain(getattr(visit, name)) for name in VISIT_COLUMNS}


def visit_spec_data(visit: Any) -> dict[str, Any]:
    """A visit row as the spec's data (nested tables again), to validate an edit of it."""
    data: dict[str, Any] = {"slug": visit.slug}
    for name, parts in _VISIT_SHAPE:
        if parts:
            data[name] = {part: getattr(visit, f"{name}_{part}") for part in parts}
        else:
            data[name] = _plain(getattr(visit, name))
    return data


def segment_columns(segment: Any) -> dict[str, Any]:
    """The segment row's fields, from a SegmentInput or a stored row."""
    # A plain dict: dataclasses.asdict deep-copies, which a bulk load pays per segment.
    return {name: _plain(getattr(segment, name)) for name in SEGMENT_COLUMNS}


def segment_as_input(segment: Any) -> SegmentInput:
    """A stored segment as the input that would write it again unchanged."""
    values = {name: getattr(segment, name) for name in SEGMENT_COLUMNS}
    values["participants"] = tuple(values["participants"])
    values["tags"] = tuple(values["tags"])
    return SegmentInput(key=segment.key, **values)
