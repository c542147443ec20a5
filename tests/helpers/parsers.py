"""Feeds as independent parsers read them: icalendar, ical (strict RFC 5545), vobject and
Mozilla's ical.js (tests/js/parse_ics.mjs), each in every reader zone.

Each reader zone runs in its own process with TZ set, as a follower's client would: a floating
time would read differently there. The Python parsers of one zone run in one subprocess (this
module run as a script), ical.js in one node process (fresh timezone registry per feed); zones
run in parallel and results are cached by feed bytes, so that reading stays fast.

Run `python -m tests.helpers.parsers FILE...` to print what the Python parsers read. Only the
parsers are imported here, never the service: each subprocess starts in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from subprocess import PIPE
from typing import Any

import icalendar
import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "tests" / "js"
READER_ZONES = ("Asia/Tokyo", "Europe/Rome", "America/Los_Angeles")
PYTHON_PARSERS = ("icalendar", "ical", "vobject")
PARSERS = (*PYTHON_PARSERS, "ical.js")

Reading = dict[str, Any]  # uid, summary, status, all_day, start, end: what every parser shares


@dataclass(frozen=True)
class ParsedEvent:
    """A VEVENT as one parser gives it; text that is absent is None."""

    uid: str
    summary: str | None
    status: str | None
    start: date
    end: date
    location: str | None
    description: str | None
    organizer_cn: str | None


# --- The Python parsers, as a calendar client built on each would use them. ---


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def read_with_icalendar(body: bytes) -> list[ParsedEvent]:
    calendar = icalendar.Calendar.from_ical(body)
    return [
        ParsedEvent(
            uid=str(event["UID"]),
            summary=_text(event.get("SUMMARY")),
            status=_text(event.get("STATUS")),
            start=event.decoded("DTSTART"),
            end=event.decoded("DTEND"),
            location=_text(event.get("LOCATION")),
            description=_text(event.get("DESCRIPTION")),
            organizer_cn=_text(event["ORGANIZER"].params.get("CN"))
            if "ORGANIZER" in event
            else None,
        )
        for event in calendar.walk("VEVENT")
    ]


def read_with_ical(body: bytes) -> list[ParsedEvent]:
    # Without ical.compat's enable_compat_mode: the library's strict reading of RFC 5545.
    calendar = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    return [
        ParsedEvent(
            uid=str(event.uid),
            summary=_text(event.summary),
            status=_text(getattr(event.status, "value", event.status)),  # an enum in ical
            start=event.dtstart,
            end=event.dtend,
            location=_text(event.location),
            description=_text(event.description),
            organizer_cn=_text(event.organizer.common_name) if event.organizer else None,
        )
        for event in calendar.events
    ]


def _vobject_value(event: Any, name: str) -> Any:
    prop = getattr(event, name, None)
    return None if prop is None else prop.value


def read_with_vobject(body: bytes) -> list[ParsedEvent]:
    calendar = vobject.readOne(body.decode("utf-8"))
    return [
        ParsedEvent(
            uid=str(event.uid.value),
            summary=_text(_vobject_value(event, "summary")),
            status=_text(_vobject_value(event, "status")),
            start=event.dtstart.value,
            end=event.dtend.value,
            location=_text(_vobject_value(event, "location")),
            description=_text(_vobject_value(event, "description")),
            organizer_cn=event.organizer.params["CN"][0] if hasattr(event, "organizer") else None,
        )
        for event in calendar.contents.get("vevent", [])
    ]


PYTHON_READERS: dict[str, Callable[[bytes], list[ParsedEvent]]] = {
    "icalendar": read_with_icalendar,
    "ical": read_with_ical,
    "vobject": read_with_vobject,
}


def _utc(moment: datetime) -> str:
    # A floating (naive) time becomes the reader's local time here, as it would in a client.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reading(event: ParsedEvent) -> Reading:
    """What a client shows of an event: timed with UTC instants, or all-day with dates."""
    common = {"uid": event.uid, "summary": event.summary, "status": event.status}
    start, end = event.start, event.end
    if isinstance(start, datetime) and isinstance(end, datetime):
        return common | {"all_day": False, "start": _utc(start), "end": _utc(end)}
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        return common | {"all_day": True, "start": start.isoformat(), "end": end.isoformat()}
    return common | {"all_day": None, "start": repr(start), "end": repr(end)}  # mixed: wrong


def by_uid(readings: list[Reading]) -> list[Reading]:
    """Order is not part of a feed's meaning; UIDs are."""
    return sorted(readings, key=lambda reading: (reading["uid"], reading["start"]))


def read_files_with_python_parsers(paths: list[str]) -> dict[str, dict[str, Any]]:
    """{path: {parser: readings, or {"error": ...}}}: one parser failing does not hide others."""
    results: dict[str, dict[str, Any]] = {}
    for path in paths:
        body = Path(path).read_bytes()
        results[path] = {}
        for name, reader in PYTHON_READERS.items():
            try:
                results[path][name] = [reading(event) for event in reader(body)]
            except Exception as error:  # reported by the test of that parser
                results[path][name] = {"error": f"{type(error).__name__}: {error}"}
    return results


# --- ical.js, through node. ---

NODE = shutil.which("node")
JS_READY = NODE is not None and (JS_DIR / "node_modules" / "ical.js").is_dir()
JS_MISSING = (
    "ical.js interoperability needs node and tests/js/node_modules "
    f"(node: {NODE or 'not found'}); run `make js` to install ical.js"
)


def from_ical_js(event: dict[str, Any]) -> Reading:
    if event["all_day"]:
        start, end = event["start_date"], event["end_date"]
    else:
        start, end = event["start_utc"], event["end_utc"]
    return {
        "uid": event["uid"],
        "summary": event["summary"],
        "status": event["status"],
        "all_day": event["all_day"],
        "start": start,
        "end": end,
    }


# --- Every parser in every reader zone, batched and cached by feed bytes. ---


class Readers:
    """What each parser reads of a feed in each reader zone; every feed body is read once."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.results: dict[tuple[str, str, str], Any] = {}  # (digest, zone, parser) -> result

    def read(self, bodies: list[bytes]) -> None:
        files: dict[str, Path] = {}
        for body in bodies:
            digest = hashlib.sha256(body).hexdigest()
            if (digest, READER_ZONES[0], "icalendar") not in self.results and digest not in files:
                files[digest] = self.workdir / f"{digest[:16]}.ics"
                files[digest].write_bytes(body)
        if not files:
            return
        paths = [str(path) for path in files.values()]
        running: list[tuple[str, str, subprocess.Popen[bytes]]] = []
        for zone in READER_ZONES:
            env = {**os.environ, "TZ": zone}
            python = [sys.executable, "-m", __name__, *paths]
            running.append(
                (zone, "python", subprocess.Popen(python, env=env, cwd=ROOT, stdout=PIPE))
            )
            if JS_READY:
                node = [str(NODE), str(JS_DIR / "parse_ics.mjs"), *paths]
                running.append((zone, "node", subprocess.Popen(node, env=env, stdout=PIPE)))
        for zone, program, process in running:
            out, _ = process.communicate(timeout=60)
            assert process.returncode == 0, f"{program} readers under TZ={zone} crashed"
            by_path = json.loads(out)
            for digest, path in files.items():
                if program == "python":
                    for parser, result in by_path[str(path)].items():
                        self.results[(digest, zone, parser)] = result
                else:
                    events = by_path[str(path)]
                    result = events if isinstance(events, dict) else list(map(from_ical_js, events))
                    self.results[(digest, zone, "ical.js")] = result

    def in_every_zone(self, parser: str, body: bytes) -> dict[str, Any]:
        """{zone: sorted readings} for one parser; fails the test with the parser's error."""
        if parser == "ical.js" and not JS_READY:
            pytest.skip(JS_MISSING)
        self.read([body])
        digest = hashlib.sha256(body).hexdigest()
        seen: dict[str, Any] = {}
        for zone in READER_ZONES:
            result = self.results[(digest, zone, parser)]
            if isinstance(result, dict):
                pytest.fail(f"{parser} could not read the feed under TZ={zone}: {result['error']}")
            seen[zone] = by_uid(result)
        return seen


if __name__ == "__main__":
    json.dump(read_files_with_python_parsers(sys.argv[1:]), sys.stdout)
