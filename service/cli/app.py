"""The `visitcal` command: a thin shell over the service's functions."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from service.cli.mail_commands import mail_app
from service.errors import InputError, VisitcalError
from service.services import Services
from service.settings import get_settings
from service.urls import all_links, private_feed, visit_links

app = typer.Typer(
    help="visitcal: official visit schedules as calendar feeds and reminders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
# Errors are one line whatever the terminal width: scripts and log readers match on them.
err = Console(stderr=True, soft_wrap=True)

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


@contextmanager
def _services() -> Iterator[Services]:
    """Services for one command; our errors become one line on stderr and an exit code."""
    services = None
    try:
        settings = get_settings()
        services = Services.build(settings)
        yield services
    except VisitcalError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(error.exit_code) from None
    except SQLAlchemyError as error:  # the database unreachable or refusing: its reason, no SQL
        reason = str(getattr(error, "orig", None) or type(error).__name__).strip()
        line = reason.splitlines()[0] if reason else type(error).__name__
        err.print(f"error: the database cannot be used: {line}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except Exception as error:  # settings unusable: still one clear line
        if isinstance(error, typer.Exit | KeyboardInterrupt):
            raise
        err.print(f"error: {type(error).__name__}: {error}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        if services is not None:
            services.close()


def _load(services: Services, paths: list[Path]) -> None:
    from service.schedules.files import read_schedules

    schedules = read_schedules(paths, services.settings.part_of_day)
    services.catalog.rerender_if_needed()
    report = services.catalog.apply(schedules, datetime.now(UTC))
    services.feeds.invalidate()
    out.print(
        f"loaded {len(schedules)} visit(s): "
        f"{len(report.visits_added)} new, {len(report.visits_changed)} changed; segments "
        f"{report.count('added')} added, "
        f"{sum(report.count(k) for k in ('changed', 'moved', 'refined', 'restored'))} changed, "
        f"{report.count('cancelled')} cancelled, {report.unchanged} unchanged",
        highlight=False,
        soft_wrap=True,
    )


def _print_links(services: Services) -> None:
    from sqlmodel import select

    from service.models import Visit

    with services.db.session() as session:
        slugs = [(v.slug, v.title) for v in session.exec(select(Visit).order_by(Visit.first_day))]  # type: ignore[arg-type]
    everything = all_links(services.settings)
    out.print(
        f"\n[bold]Web pages[/bold]\n  schedules: {services.settings.base_url}/\n"
        f"  reminders: {services.settings.base_url}/reminders",
        highlight=False,
    )
    out.print(
        f"\n[bold]All visits[/bold]\n  subscribe: {everything.feed}\n"
        f"  webcal:    {everything.webcal}",
        highlight=False,
    )
    for slug, title in slugs:
        links = visit_links(services.settings, slug)
        out.print(
            f"[bold]{title}[/bold]\n  subscribe: {links.feed}\n  webcal:    {links.webcal}\n"
            f"  download:  {links.download}",
            highlight=False,
        )
    out.print()


def _uvicorn_options(services: Services, host: str, port: int) -> dict[str, Any]:
    from importlib.util import find_spec

    return {
        "host": host,
        "port": port,
        # httptools and uvloop (dependencies where they exist) about double the feeds' requests
        # per second over h11 and asyncio; uvicorn falls back to those where they are absent.
        "http": "httptools" if find_spec("httptools") else "h11",
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        # VISITCAL_LOG_LEVEL=warning keeps uvicorn quiet (benchmarks, scripts); info by default.
        "log_level": services.settings.log_level.lower(),
        "log_config": None,  # our handler (service.logs), text or JSON, for uvicorn's lines too
        "access_log": False,
        # uvicorn would otherwise believe X-Forwarded-For from any local peer; whether a proxy
        # is trusted is the setting trust_proxy_headers (service/web/rate_limit.py).
        "proxy_headers": False,
    }


def _serve(
    services: Services, host: str, port: int, on_start: Callable[[], Any] | None = None
) -> None:
    import uvicorn

    from service.logs import configure_logging
    from service.web.app import create_app

    configure_logging(services.settings)
    if on_start:
        on_start()
    uvicorn.run(create_app(services), **_uvicorn_options(services, host, port))


def _serve_processes(services: Services, host: str, port: int, processes: int) -> None:
    """`processes` uvicorn worker processes on one port, each with its own services. Their
    metrics go to PROMETHEUS_MULTIPROC_DIR (a directory of our own unless one is given, e.g.
    shared with the workers of this machine), so /metrics answers for all of them."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from service.logs import configure_logging

    configure_logging(services.settings)
    own = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own = tempfile.mkdtemp(prefix="visitcal-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own  # read by each process as it starts
    try:
        uvicorn.run(
            "service.web.app:app_from_settings",
            factory=True,
            workers=processes,
            **_uvicorn_options(services, host, port),
        )
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    with _services() as services:
        services.db.migrate()
        out.print(f"database ready: {services.settings.database_url}", highlight=False)


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Schedule files or directories.")],
) -> None:
    """Load schedule files (TOML) into the database: all of them, or nothing on any error."""
    with _services() as services:
        services.db.migrate()
        _load(services, paths)


@app.command("import")
def import_(
    source: Annotated[
        str, typer.Argument(metavar="FILE_OR_URL", help="An .ics file, or an http(s) URL.")
    ],
    visit: Annotated[str, typer.Option(help="The slug of the visit to import into.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Import an .ics calendar into a visit: events become its segments (UIDs kept), and its
    public segments missing from the calendar are cancelled. Prints the changes as a table."""
    from service.cli.import_table import import_summary, import_table
    from service.schedules.calendar_import import import_calendar, read_source
    from service.schedules.remote_calendar import public_source

    with _services() as services:
        services.db.migrate()
        data = read_source(source, services.settings)
        result = import_calendar(
            services.catalog,
            visit,
            data,
            source=source,
            actor=f"import:{public_source(source)}",
            now=datetime.now(UTC),
            dry_run=dry_run,
        )
        if result.added or result.changed or result.cancelled:
            out.print(import_table(result))
        for warning in result.warnings:
            err.print(f"warning: {warning}", markup=False, highlight=False)
        out.print(import_summary(result), highlight=False, soft_wrap=True)


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes answering on this port (default: one per core)."),
    ] = None,
) -> None:
    """Serve the HTTP API and feeds (no schedule loading); scale out with --workers."""
    import os

    with _services() as services:
        services.db.migrate()
        services.catalog.rerender_if_needed()
        processes = workers or os.cpu_count() or 1
        if processes == 1:
            _serve(services, host, port)
        else:
            _serve_processes(services, host, port, processes)


@app.command()
def up(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, load config/visits/, serve, and run the reminder worker: one process."""
    from service.reminders.outbox import where_mail_goes

    with _services() as services:
        services.db.migrate()
        services.catalog.rerender_if_needed()
        _load(services, [services.settings.visits_dir])
        _print_links(services)
        out.print(where_mail_goes(services.settings), highlight=False)
        reminder_worker = services.reminder_worker()
        reminder_worker.start()
        try:
            _serve(services, host, port)
        finally:
            reminder_worker.stop()


@app.command()
def status() -> None:
    """The reminder queue, the workers and their heartbeats, the last error per channel kind."""
    from service.cli.status_tables import print_status

    with _services() as services:
        services.db.migrate()
        print_status(services, out)


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write the static feeds.")],
) -> None:
    """Write every feed as static files, byte-identical to what the server answers."""
    from service.publishing.export import export_feeds

    with _services() as services:
        services.db.migrate()
        services.catalog.rerender_if_needed()  # feeds carry the base URL of these settings
        written = export_feeds(services.feeds, directory)
        out.print(f"wrote {len(written)} feed(s) under {directory}", highlight=False)


@app.command()
def visits(
    tz: Annotated[str | None, typer.Option("--tz", help="Show times in this IANA zone.")] = None,
) -> None:
    """A table of visits and their segments, in the visit's zone or the one given."""
    from service.cli.visits_table import visits_table

    with _services() as services:
        services.db.migrate()
        table: Table = visits_table(services, tz)
        out.print(table)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Deliveries under way at once (default: setting worker_threads)."),
    ] = None,
) -> None:
    """Run the reminder worker alone (scale out: any number, sharing PostgreSQL). SIGTERM
    stops it gracefully: what it is delivering is finished and recorded, the rest released."""
    from service.logs import configure_logging

    with _services() as services:
        if concurrency is not None:
            services.settings = services.settings.model_copy(update={"worker_threads": concurrency})
        configure_logging(services.settings)
        services.db.migrate()
        reminder_worker = services.reminder_worker()
        reminder_worker.start()
        out.print(f"worker {reminder_worker.worker_id} running; Ctrl-C stops", highlight=False)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            reminder_worker.stop()


@app.command()
def subscribe(
    channel: Annotated[
        str, typer.Option(help="An email address, or an Apprise URL: ntfy://, json://, ...")
    ],
    visit: Annotated[
        list[str] | None, typer.Option(help="A visit slug to follow (repeatable).")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these segment kinds.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only segments with these tags.")] = None,
    before: Annotated[str | None, typer.Option(help="Offsets, e.g. 1d,1h,15m.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="The follower's IANA zone.")] = "UTC",
    language: Annotated[
        str, typer.Option("--language", help="Reminders written in: en, ja, ko or it.")
    ] = "en",
) -> None:
    """Sign a channel up for reminders; prints the subscription id and its manage token."""
    from service.reminders.subscriptions import (
        SubscriptionRequest,
        create_subscription,
        request_from,
    )

    with _services() as services:
        services.db.migrate()
        data: dict[str, Any] = {
            "channel": channel,
            "visits": visit or [],
            "kinds": kind or [],
            "tags": tag or [],
            "timezone": tz,
            "language": language,
        }
        if before is not None:
            data["offsets"] = [part for part in before.split(",") if part.strip()] or [""]
        # An operator at the console vouches for the channel: no confirmation message.
        created = create_subscription(
            services.db,
            services.settings,
            request_from(data, SubscriptionRequest),
            datetime.now(UTC),
            confirmed=True,
        )
        out.print(
            f"subscribed {created.subscription.id} ({created.subscription.channel_redacted})\n"
            f"manage token (shown once): {created.token}",
            highlight=False,
        )


@app.command()
def subscriptions() -> None:
    """The active subscriptions (channels shown redacted)."""
    from service.offsets import describe_offset
    from service.reminders.subscriptions import list_subscriptions

    with _services() as services:
        services.db.migrate()
        table = Table(title="Subscriptions")
        for column in ("id", "channel", "follows", "before", "zone"):
            table.add_column(column)
        for sub in list_subscriptions(services.db):
            follows = (
                ", ".join(sub.visits + sub.kinds + [f"#{t}" for t in sub.tags]) or "everything"
            )
            before = ", ".join(describe_offset(s) for s in sub.offsets)
            table.add_row(sub.id, sub.channel_redacted, follows, before, sub.timezone)
        out.print(table)


@app.command()
def unsubscribe(
    subscription_id: Annotated[str, typer.Argument(help="The subscription id.")],
) -> None:
    """End a subscription (operator command: no token needed); pending reminders are cancelled."""
    from service.reminders.subscriptions import end_subscription

    with _services() as services:
        services.db.migrate()
        end_subscription(services.db, subscription_id, datetime.now(UTC))
        out.print(f"unsubscribed {subscription_id}", highlight=False)


@app.command()
def deliveries(
    subscription: Annotated[str | None, typer.Option(help="Only this subscription.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    tz: Annotated[str, typer.Option("--tz", help="Show times in this zone.")] = "UTC",
) -> None:
    """What was sent, when, how late, and failures with their reason."""
    from service.localtime import zone
    from service.reminders.subscriptions import deliveries as list_deliveries

    with _services() as services:
        services.db.migrate()
        try:
            shown = zone(tz)
        except ValueError as error:
            raise InputError("--tz", str(error)) from None
        table = Table(title=f"Deliveries (times in {tz})")
        for column in (
            "id",
            "subscription",
            "kind",
            "segment",
            "due",
            "state",
            "late by",
            "tries",
            "answer",
        ):
            table.add_column(column)
        for row in list_deliveries(services.db, subscription, limit):
            late_by = f"{row.lateness_seconds:.3f}s" if row.lateness_seconds is not None else ""
            state = row.state + (" (late)" if row.late else "")
            table.add_row(
                str(row.id),
                row.subscription_id,
                row.kind,
                row.segment,
                f"{row.due_at.astimezone(shown):%Y-%m-%d %H:%M:%S %Z}",
                state,
                late_by,
                str(row.attempts),
                row.result,
            )
        out.print(table)


app.add_typer(mail_app, name="mail")

broadcast_app = typer.Typer(
    help="A visit's broadcast channels: one channel (ntfy topic, Telegram, Matrix...) for all.",
    no_args_is_help=True,
)
app.add_typer(broadcast_app, name="broadcast")


@broadcast_app.command("add")
def broadcast_add(
    visit: Annotated[str, typer.Argument(help="The visit's slug.")],
    channel: Annotated[str, typer.Argument(help="An Apprise URL: ntfys://ntfy.sh/topic, ...")],
    label: Annotated[str, typer.Option(help="What the visit page calls it.")] = "",
    follow_url: Annotated[
        str, typer.Option(help="Where people follow it (an ntfy topic's is found by itself).")
    ] = "",
    before: Annotated[str | None, typer.Option(help="Offsets, e.g. 1h,15m.")] = None,
) -> None:
    """Send every reminder and notice of a visit to this channel too, once."""
    from service.reminders.broadcasts import add_broadcast

    with _services() as services:
        services.db.migrate()
        offsets = [p for p in before.split(",") if p.strip()] or [""] if before else None
        added = add_broadcast(
            services.db,
            services.settings,
            visit,
            channel,
            datetime.now(UTC),
            label=label,
            follow_url=follow_url,
            offsets=offsets,
        )
        where = f"; followed at {added.follow_url}" if added.follow_url else ""
        out.print(f"broadcast {added.id} for {visit}: {added.channel}{where}", highlight=False)


@broadcast_app.command("list")
def broadcast_list(
    visit: Annotated[str | None, typer.Argument(help="Only this visit's.")] = None,
) -> None:
    """Broadcast channels (redacted), their visit, label and where they are followed."""
    from service.reminders.broadcasts import broadcasts

    with _services() as services:
        services.db.migrate()
        table = Table("id", "visit", "channel", "label", "followed at", title="Broadcast channels")
        for row in broadcasts(services.db, visit):
            table.add_row(row.id, row.visit, row.channel, row.label, row.follow_url)
        out.print(table)


@broadcast_app.command("remove")
def broadcast_remove(
    broadcast_id: Annotated[str, typer.Argument(help="The id `broadcast list` shows.")],
) -> None:
    """Stop sending to a broadcast channel (what is pending for it is cancelled)."""
    from service.reminders.broadcasts import remove_broadcast

    with _services() as services:
        services.db.migrate()
        remove_broadcast(services.db, broadcast_id, datetime.now(UTC))
        out.print(f"removed broadcast {broadcast_id}", highlight=False)


token_app = typer.Typer(help="Organizer tokens for the write API.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who holds it, e.g. press-office.")],
) -> None:
    """Make a token; it is printed once and only its hash is kept."""
    from service.schedules.organizer_tokens import create_token

    with _services() as services:
        services.db.migrate()
        token = create_token(services.db, name, datetime.now(UTC))
        out.print(f"token for {name} (shown once): {token}", highlight=False)


@token_app.command("list")
def token_list() -> None:
    """Tokens by name, with when they were made or revoked (never the tokens)."""
    from service.schedules.organizer_tokens import list_tokens

    with _services() as services:
        services.db.migrate()
        table = Table(title="Organizer tokens")
        for column in ("name", "created", "revoked"):
            table.add_column(column)
        for row in list_tokens(services.db):
            revoked = f"{row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else ""
            table.add_row(row.name, f"{row.created_at:%Y-%m-%d %H:%M} UTC", revoked)
        out.print(table)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: writes with it get 401 from now on."""
    from service.schedules.organizer_tokens import revoke_token

    with _services() as services:
        services.db.migrate()
        revoke_token(services.db, name, datetime.now(UTC))
        out.print(f"revoked {name}", highlight=False)


feed_app = typer.Typer(help="Saved private feeds behind unguessable URLs.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")


@feed_app.command("create")
def feed_create(
    name: Annotated[str, typer.Option(help="What it is for, e.g. press-pool.")],
    visit: Annotated[list[str] | None, typer.Option(help="Only this visit (repeatable).")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only this kind (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only this tag (repeatable).")] = None,
    include_restricted: Annotated[
        bool, typer.Option("--include-restricted", help="Also restricted segments.")
    ] = False,
) -> None:
    """Save a private feed; prints its URL once (only a hash of its token is kept)."""
    from service.publishing.private_feeds import create_private_feed

    with _services() as services:
        services.db.migrate()
        token = create_private_feed(
            services.db,
            name,
            visit or [],
            kind or [],
            tag or [],
            include_restricted,
            datetime.now(UTC),
        )
        url = private_feed(services.settings.base_url, token)
        out.print(
            f"private feed {name} (URL shown once):\n  {url}", highlight=False, soft_wrap=True
        )


@feed_app.command("list")
def feed_list() -> None:
    """Private feeds by name and what they hold (never their URLs)."""
    from service.publishing.private_feeds import list_private_feeds

    with _services() as services:
        services.db.migrate()
        table = Table(title="Private feeds")
        for column in ("name", "holds", "restricted", "revoked"):
            table.add_column(column)
        for row in list_private_feeds(services.db):
            holds = ", ".join(row.visits + row.kinds + [f"#{t}" for t in row.tags]) or "everything"
            revoked = f"{row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else ""
            table.add_row(row.name, holds, "yes" if row.include_restricted else "no", revoked)
        out.print(table)


@feed_app.command("revoke")
def feed_revoke(name: Annotated[str, typer.Argument(help="The private feed's name.")]) -> None:
    """Revoke a private feed: its URL answers 404 at once."""
    from service.publishing.private_feeds import revoke_private_feed

    with _services() as services:
        services.db.migrate()
        revoke_private_feed(services.db, name, datetime.now(UTC))
        out.print(f"revoked {name}", highlight=False)


@app.command()
def demo(
    speed: Annotated[
        float, typer.Option(help="Run the demo's timeline this many times faster.")
    ] = 1.0,
    database: Annotated[
        str, typer.Option(help="Where the demo keeps its data.")
    ] = "sqlite:///var/demo.db",
) -> None:
    """A sample visit a few minutes ahead; watch its reminders and a change notice arrive."""
    from service.cli.demo import run_demo

    if speed <= 0 or speed > 100:
        err.print("error: --speed: give a number above 0 and at most 100", highlight=False)
        raise typer.Exit(2)
    # The demo's receiver listens on 127.0.0.1: the demo allows loopback channels, for itself.
    demo_settings = {"database_url": database, "channel_allow_private": True}
    services = Services.build(get_settings().model_copy(update=demo_settings))
    try:
        services.db.migrate()
        run_demo(services, out, speed=speed)
    finally:
        services.close()
