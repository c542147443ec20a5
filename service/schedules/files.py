"""Schedule files (config/visits/*.toml) read into validated schedules, errors as path:line."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.errors import InputError
from service.schedules.spec import (
    FieldError,
    ScheduleInput,
    SegmentSpec,
    VisitSpec,
    Windows,
    field_and_reason,
    resolve_segment,
)

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class LineIndex:
    """Where each key of a TOML document was written, to point errors at a line.

    tomllib gives values without positions; schedule files are flat enough (a [visit] table with
    small sub-tables and an array of [[segment]] tables) that a scan of headers and keys finds them.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        section: tuple[Any, ...] = ()
        counts: dict[str, int] = {}
        open_string = ""  # the delimiter of a multi-line string that the scan is inside
        for number, line in enumerate(text.splitlines(), start=1):
            if open_string:
                # Lines of a multi-line string (a description) are text, not keys or headers.
                end = line.find(open_string)
                if end >= 0:
                    open_string = _opens_multiline_string(line[end + 3 :])
                continue
            open_string = _opens_multiline_string(line)
            header = _HEADER.match(line)
            if header:
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    section = (*name.split("."), index)
                else:
                    parts = name.split(".")
                    if parts[0] in counts:  # a sub-table of the latest array element
                        section = (parts[0], counts[parts[0]] - 1, *parts[1:])
                    else:
                        section = tuple(parts)
                self.lines.setdefault(section, number)
                continue
            key = _KEY.match(line)
            if key:
                self.lines.setdefault((*section, key.group(1)), number)

    def line_of(self, location: tuple[Any, ...]) -> int:
        """The line of the longest known prefix of `location` (a key, else its table)."""
        for size in range(len(location), 0, -1):
            if location[:size] in self.lines:
                return self.lines[location[:size]]
        return 1


def _opens_multiline_string(line: str) -> str:
    """The delimiter (three quotes) of a multi-line string that `line` leaves open, or ""."""
    rest = line
    while True:
        found = [(rest.find(quotes), quotes) for quotes in ('"""', "'''") if quotes in rest]
        if not found:
            return ""
        start, quotes = min(found)
        rest = rest[start + 3 :]
        end = rest.find(quotes)
        if end < 0:
            return quotes
        rest = rest[end + 3 :]


def _field_name(location: tuple[Any, ...]) -> str:
    """("segment", 2, "start") -> "segment[3].start" (1-based, as a reader counts)."""
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item + 1}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "file"


def _error(path: Path, index: LineIndex, location: tuple[Any, ...], reason: str) -> InputError:
    where = f"{path}:{index.line_of(location)}"
    return InputError(_field_name(location), reason, where)


def _pydantic_error(
    path: Path, index: LineIndex, prefix: tuple[Any, ...], error: ValidationError
) -> InputError:
    location, reason = field_and_reason(error.errors()[0])
    return _error(path, index, prefix + location, reason)


def parse_schedule(text: str, path: Path, windows: Windows) -> ScheduleInput:
    """Parse one schedule file; InputError says `path:line: field: reason`."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = found.group(1) if found else "1"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise InputError("toml", reason, f"{path}:{line}") from None
    index = LineIndex(text)
    unknown = set(document) - {"visit", "segment"}
    if unknown:
        key = sorted(unknown)[0]
        raise _error(path, index, (key,), "unknown table (expected [visit] and [[segment]])")
    if "visit" not in document:
        raise _error(path, index, ("visit",), "required table [visit] is missing")
    try:
        visit = VisitSpec.model_validate(document["visit"])
    except ValidationError as error:
        raise _pydantic_error(path, index, ("visit",), error) from None
    raw_segments = document.get("segment", [])
    if not isinstance(raw_segments, list):
        raise _error(path, index, ("segment",), "write segments as [[segment]] tables")
    segments = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(raw_segments):
        try:
            spec = SegmentSpec.model_validate(raw)
        except ValidationError as error:
            raise _pydantic_error(path, index, ("segment", position), error) from None
        if spec.id in seen:
            raise _error(
                path,
                index,
                ("segment", position, "id"),
                f"duplicate segment id {spec.id!r} (first used in segment[{seen[spec.id] + 1}])",
            )
        seen[spec.id] = position
        try:
            segments.append(resolve_segment(spec, visit, windows))
        except FieldError as error:
            raise _error(
                path, index, ("segment", position, error.field_name), error.reason
            ) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ScheduleInput(
        visit=visit, segments=tuple(segments), origin=str(path), file_digest=digest
    )


def schedule_paths(paths: list[Path]) -> list[Path]:
    """Files named on the command line, and the *.toml files of named directories, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob("*.toml")))
        elif path.exists():
            found.append(path)
        else:
            raise InputError("path", "no such file or directory", str(path))
    return found


def read_schedules(paths: list[Path], windows: Windows) -> list[ScheduleInput]:
    """Every schedule of a load, all valid or an InputError for the first bad one."""
    schedules = []
    slugs: dict[str, Path] = {}
    for path in schedule_paths(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError("file", f"cannot be read: {error}", str(path)) from None
        schedule = parse_schedule(text, path, windows)
        slug = schedule.visit.slug
        if slug in slugs:
            index = LineIndex(text)
            raise _error(
                path, index, ("visit", "slug"), f"{slug!r} is also the slug of {slugs[slug]}"
            )
        slugs[slug] = path
        schedules.append(schedule)
    return schedules
