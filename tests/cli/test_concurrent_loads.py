"""`visitcal load` of the same files by several processes at once, on a database that does not
exist yet: each waits its turn (migrations, then the catalog), one loads, the others find the
visits loaded; none fails."""

from __future__ import annotations

import re
import subprocess

from sqlmodel import select

from service.models import Change, Segment, Visit
from service.services import Services
from tests.helpers.cli import cli_process
from tests.helpers.services import SEED_VISITS, make_settings

LOADS = 3


def test_parallel_first_loads_of_the_same_files_all_succeed_and_load_once(
    database_url: str,
) -> None:
    processes = [
        cli_process("load", str(SEED_VISITS), database_url=database_url) for _ in range(LOADS)
    ]
    outcomes = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        outcomes.append((process.returncode, out, err))
    for code, out, err in outcomes:
        assert (code, err) == (0, ""), out + err
    summaries = [re.search(r"(\d+) new", out) for _code, out, _err in outcomes]
    assert sorted(int(found.group(1)) for found in summaries if found) == [0] * (LOADS - 1) + [2]

    services = Services.build(make_settings(database_url))
    try:
        with services.db.session() as session:
            visits = session.exec(select(Visit)).all()
            segments = session.exec(select(Segment)).all()
            history = session.exec(select(Change)).all()
        assert len(visits) == 2
        assert {segment.sequence for segment in segments} == {0}
        # One "added" per visit and segment: no load wrote over another's.
        assert sorted(entry.kind for entry in history) == ["added"] * (len(visits) + len(segments))
        assert services.db.catalog_version() == 1
    finally:
        services.close()
