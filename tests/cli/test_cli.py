"""The `visitcal` command run for real: export, visits, load, and no use of the local zone."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx

from service.services import Services
from tests.helpers.cli import VISITCAL, cli_env, invoke
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE, MELONI, ROOT, SEED_VISITS

LEE_SUMMIT_IN_ROME = "Tue 13 Jan 05:00–10:00 CET (afternoon, time to be confirmed)"


def test_export_writes_the_feeds_the_live_server_answers_byte_for_byte(
    live: LiveServer, seeded: Services, tmp_path: Path
) -> None:
    target = tmp_path / "site"

    result = invoke(cli_env(seeded.settings.database_url), "export", str(target))

    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert written == [
        "feeds/all.ics",
        f"feeds/visits/{LEE}.ics",
        f"feeds/visits/{MELONI}.ics",
    ]
    with httpx.Client(base_url=live.url) as http:
        for name in written:
            served = http.get(f"/{name}")
            assert served.status_code == 200
            assert (target / name).read_bytes() == served.content, name


def test_visits_in_rome_time_show_the_lee_summit_as_an_afternoon_in_cet(
    seeded: Services,
) -> None:
    result = invoke(cli_env(seeded.settings.database_url), "visits", "--tz", "Europe/Rome")

    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if re.search(r"│ Summit meeting +│", line)]
    assert len(rows) == 1, result.stdout
    assert LEE_SUMMIT_IN_ROME in rows[0]
    assert "Europe/Rome" in result.stdout


def test_visits_with_an_unknown_zone_exits_2_with_one_line_naming_tz(seeded: Services) -> None:
    result = invoke(cli_env(seeded.settings.database_url), "visits", "--tz", "Mars/Base")

    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "--tz" in lines[0] and "Mars/Base" in lines[0]


def test_load_prints_a_one_line_summary_of_what_changed(
    services: Services, visits_dir: Path
) -> None:
    env = cli_env(services.settings.database_url, visits_dir=visits_dir)

    first = invoke(env, "load", str(visits_dir))
    again = invoke(env, "load", str(visits_dir))
    lee = visits_dir / f"{LEE}.toml"
    lee.write_text(
        lee.read_text(encoding="utf-8").replace(
            'part_of_day = "evening"', 'start = "19:00"\nend = "21:00"'
        ),
        encoding="utf-8",
    )
    refined = invoke(env, "load", str(visits_dir))

    for result in (first, again, refined):
        assert result.exit_code == 0, result.output
        assert len(result.stdout.strip().splitlines()) == 1, result.stdout
    assert first.stdout.strip() == (
        "loaded 2 visit(s): 2 new, 0 changed; segments 7 added, 0 changed, 0 cancelled, 0 unchanged"
    )
    assert again.stdout.strip() == (
        "loaded 2 visit(s): 0 new, 0 changed; segments 0 added, 0 changed, 0 cancelled, 7 unchanged"
    )
    assert refined.stdout.strip() == (
        "loaded 2 visit(s): 0 new, 0 changed; segments 0 added, 1 changed, 0 cancelled, 6 unchanged"
    )


def start_visitcal(env: dict[str, str], tz: str, *args: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VISITCAL_")}
    environment.update(env, TZ=tz)
    return subprocess.Popen(
        [str(VISITCAL), *args],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return stdout


def test_output_does_not_depend_on_the_time_zone_of_the_machine(tmp_path: Path) -> None:
    """The same commands under TZ=UTC and TZ=Pacific/Kiritimati (UTC+14) say the same."""
    env = cli_env(f"sqlite:///{tmp_path / 'visitcal.db'}")
    loaded = finish(start_visitcal(env, "UTC", "load", str(SEED_VISITS)))
    reloaded = finish(start_visitcal(env, "Pacific/Kiritimati", "load", str(SEED_VISITS)))
    assert "2 new" in loaded
    assert "0 new, 0 changed; segments 0 added, 0 changed, 0 cancelled, 7 unchanged" in reloaded

    commands = [("visits",), ("visits", "--tz", "Europe/Rome"), ("export", "{target}")]
    running = {
        tz: [
            start_visitcal(env, tz, *(a.format(target=tmp_path / tz) for a in args))
            for args in commands
        ]
        for tz in ("UTC", "Pacific/Kiritimati")
    }
    outputs = {
        tz: [finish(p).replace(str(tmp_path / tz), "<target>") for p in processes]
        for tz, processes in running.items()
    }
    exports = {
        tz: {
            p.relative_to(tmp_path / tz).as_posix(): p.read_bytes()
            for p in (tmp_path / tz).rglob("*.ics")
        }
        for tz in running
    }

    assert outputs["UTC"] == outputs["Pacific/Kiritimati"]
    assert exports["UTC"] == exports["Pacific/Kiritimati"]
    assert len(exports["UTC"]) == 3
    assert "Tue 13 Jan 13:00–18:00 JST (afternoon, time to be confirmed)" in outputs["UTC"][0]
    assert LEE_SUMMIT_IN_ROME in outputs["UTC"][1]
