"""`visitcal demo`: a newcomer sees its reminders and its change notice arrive."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.helpers.cli import VISITCAL
from tests.helpers.services import ROOT


def test_demo_at_ten_times_speed_ends_with_five_messages_arrived(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "COLUMNS": "250"}
    env.pop("VISITCAL_DATABASE_URL", None)
    done = subprocess.run(
        [str(VISITCAL), "demo", "--speed", "10", "--database", database],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    received = [line for line in done.stdout.splitlines() if " received " in line]
    titles = [line.split(" received ", 1)[1] for line in received]
    assert len(titles) == 5, done.stdout
    # Two reminders before each segment, and one notice when the summit moves.
    notices = [t for t in titles if t.startswith("Changed: Summit meeting")]
    assert len(notices) == 1, titles
    assert sum(t.startswith("Arrival in Nara — ") and " — in " in t for t in titles) == 2
    assert sum(t.startswith("Summit meeting — ") and " — in " in t for t in titles) == 2
    assert len(set(titles)) == 5
    assert re.search(r"Demo done: 5 message\(s\) arrived\.", done.stdout)
    assert (tmp_path / "demo.db").exists()
