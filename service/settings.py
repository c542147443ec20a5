"""Settings from config/settings.toml, overridden by VISITCAL_* environment variables."""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The Apprise schemes a follower may sign up with, by default. Apprise also speaks to this
# machine (syslog://, file-like and desktop plugins: dbus://, gnome://, macosx://, windows://) and
# over raw sockets; a stranger's channel must reach only network services over HTTP or SMTP,
# which the address policy checks on every connection.
DEFAULT_SCHEMES = (
    "mailto",
    "mailtos",
    "ntfy",
    "ntfys",
    "json",
    "jsons",
    "form",
    "forms",
    "xml",
    "xmls",
    "slack",
    "tgram",
    "matrix",
    "matrixs",
    "discord",
    "gotify",
    "gotifys",
    "pover",
    "mmost",
    "mmosts",
    "rocket",
    "rockets",
)


def settings_file() -> Path:
    return Path(os.environ.get("VISITCAL_SETTINGS_FILE", "config/settings.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VISITCAL_", extra="ignore")

    database_url: str = "sqlite:///var/visitcal.db"
    # How long a write waits for other writers' locks before it answers 503 / exits 75.
    database_busy_seconds: float = Field(default=30, gt=0)
    base_url: str = "http://127.0.0.1:8000"
    visits_dir: Path = Path("config/visits")
    default_timezone: str = "Asia/Tokyo"
    uid_domain: str = "visitcal"
    organizer_email: str = "noreply@visitcal.invalid"
    feed_refresh_minutes: int = Field(default=60, gt=0)
    feed_max_age_seconds: int = Field(default=300, ge=0)
    change_check_seconds: float = Field(default=1.0, ge=0)
    # Reminders
    reminder_offsets: list[str] = ["1d", "1h"]  # when a subscription names none
    secret_key: str = ""  # signs unsubscribe links; made and kept in the database when empty
    # Email (the first channel) goes through this relay: smtp://user:password@host:587 (STARTTLS
    # when the server offers it; ?starttls=require to insist, ?starttls=off never) or
    # smtps://user:password@host:465 (TLS from the start). Empty: nothing is sent; every mail is
    # kept in the local mail store (mail_dir) for `visitcal mail list` / `visitcal mail show`.
    smtp_url: str = ""
    ntfy_server: str = "https://ntfy.sh"  # where the sign-up page's "push to my phone" goes
    mail_dir: Path = Path("var/mail")  # the local mail store (a Maildir) used without a relay
    mail_from_name: str = "visitcal"  # the sender's name; its address is organizer_email
    smtp_connections: int = Field(default=4, gt=0)  # connections to the relay kept open at most
    # A burst of edits to one segment within this many seconds becomes one change notice (never
    # held past a reminder of that segment that falls due).
    notice_debounce_seconds: float = Field(default=30, ge=0)
    # Channels (Apprise URLs) followers may sign up with; see service/reminders/channel_policy.py
    channel_schemes: list[str] = list(DEFAULT_SCHEMES)
    # Deliver to loopback, private-network and link-local addresses too (tests, `make demo`, an
    # intranet); off, a sign-up cannot aim the worker at the machine's own network.
    channel_allow_private: bool = False
    # A sign-up gets one confirmation message and nothing else until confirmed; unconfirmed, it
    # is removed after this many hours.
    confirm_within_hours: float = Field(default=48, gt=0)
    # Reminders claimed (and recorded) together; the next batch is claimed while half of one is
    # still being delivered.
    worker_batch: int = Field(default=1000, gt=0)
    worker_threads: int = Field(default=16, gt=0)
    lease_seconds: float = Field(default=60, gt=0)  # a claim older than this is taken over
    retry_limit: int = Field(default=5, ge=0)  # failed deliveries retried this many times
    retry_base_seconds: float = Field(default=2, gt=0)  # backoff: base * 2**(attempt-1)
    # Sent more than this after its due instant (a worker was down or behind), a reminder is
    # marked late and says how long is really left rather than its planned offset.
    late_after_seconds: float = Field(default=60, gt=0)
    plan_check_seconds: float = Field(default=1.0, gt=0)  # how soon other processes' plans are seen
    sweep_seconds: float = Field(default=30, gt=0)  # safety sweep for anything due
    # A worker writes its heartbeat this often; three missed ones and it shows as dead.
    heartbeat_seconds: float = Field(default=10, gt=0)
    # Log lines: "text" (one line per event) or "json" (one JSON object per line).
    log_format: Literal["text", "json"] = "text"
    log_level: str = "info"
    # Requests: every body is bounded while it is read (413); an import's .ics may be larger
    # (import_max_bytes). Anonymous writes (sign-ups, confirmations, unsubscribes) are limited
    # per client address: a burst, then so many a minute (429 with Retry-After); counted in each
    # API process's memory.
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    anonymous_write_burst: int = Field(default=10, gt=0)
    anonymous_writes_per_minute: float = Field(default=6, gt=0)
    # Behind a reverse proxy that sets X-Forwarded-For: the client is the address it appended.
    # Off, that header is ignored (anyone could write it).
    trust_proxy_headers: bool = False
    # Importing calendars (`visitcal import`, POST /visits/{slug}/import)
    import_max_bytes: int = Field(default=5_000_000, gt=0)  # an .ics file or download
    import_timeout_seconds: float = Field(default=15, gt=0)  # a URL's whole download
    # Fetch from loopback, private-network and link-local addresses too (tests, intranets);
    # off, an import URL cannot be used to reach the machine's own network.
    import_allow_private: bool = False
    # Off, imports come only from files (and private addresses if allowed): the test suite runs
    # so, so that generated URLs never reach beyond the machine.
    import_allow_public: bool = True
    part_of_day: dict[str, tuple[time, time]] = {
        "morning": (time(9), time(12)),
        "afternoon": (time(13), time(18)),
        "evening": (time(18), time(22)),
    }

    @field_validator("smtp_url")
    @classmethod
    def _relay_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("smtp://", "smtps://")):
            raise ValueError("give smtp://user:password@host:587 or smtps://... (or nothing)")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=settings_file())
        return (init_settings, env_settings, toml)


@lru_cache
def get_settings() -> Settings:
    return Settings()
