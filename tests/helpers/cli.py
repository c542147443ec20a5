"""The `visitcal` command as tests run it: in this process (Typer's runner) or as a subprocess,
always on a database the test names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from service.cli.app import app
from service.settings import get_settings
from tests.helpers.services import BASE_URL, ROOT, SEED_VISITS

# The console script of the environment that runs the tests.
VISITCAL = Path(sys.executable).with_name("visitcal")
SETTINGS_FILE = ROOT / "config" / "settings.toml"


def cli_env(database_url: str, **settings: object) -> dict[str, str]:
    """The VISITCAL_* variables of a command on this database; `settings` override the rest."""
    env = {
        "VISITCAL_DATABASE_URL": database_url,
        "VISITCAL_BASE_URL": BASE_URL,
        "VISITCAL_VISITS_DIR": str(SEED_VISITS),
        "VISITCAL_SETTINGS_FILE": str(SETTINGS_FILE),
        # Wide enough that no table cell wraps, so that a row reads as one line.
        "COLUMNS": "400",
    }
    return env | {f"VISITCAL_{name.upper()}": str(value) for name, value in settings.items()}


def invoke(env: dict[str, str], *args: str) -> Result:
    """One command in this process; it reads its settings from `env`, not from a cache."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


def subprocess_env(database_url: str, **settings: object) -> dict[str, str]:
    """This process's environment with the command's VISITCAL_* variables on top; channels on
    127.0.0.1 are allowed, since the test receivers listen there, and so are many sign-ups
    from that one address (the rate-limit tests set their own limit)."""
    defaults: dict[str, object] = {"channel_allow_private": True, "anonymous_write_burst": 100_000}
    return {**os.environ, **cli_env(database_url, **{**defaults, **settings})}


def run_cli(
    *args: str, database_url: str, timeout: float = 60, **settings: object
) -> subprocess.CompletedProcess[str]:
    """One `visitcal` command as a subprocess against this database."""
    return subprocess.run(
        [str(VISITCAL), *args],
        cwd=ROOT,
        env=subprocess_env(database_url, **settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_process(*args: str, database_url: str, **settings: object) -> subprocess.Popen[str]:
    """Like run_cli, but started and left running (several commands at once)."""
    return subprocess.Popen(
        [str(VISITCAL), *args],
        cwd=ROOT,
        env=subprocess_env(database_url, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
