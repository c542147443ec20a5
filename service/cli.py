"""The `visitcal` command: a thin shell over the service's functions."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from service.errors import InputError, VisitcalError
from service.services import Services, all_links, visit_links
from service.settings import Settings, get_settings

app = typer.Typer(
    help="visitcal: official visit schedules as calendar feeds and reminders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

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
    except Exception as error:  # settings or database unusable: still one clear line
        if isinstance(error, typer.Exit | KeyboardInterrupt):
            raise
        err.print(f"error: {type(error).__name__}: {error}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        if services is not None:
            services.close()


def _load(services: Services, paths: list[Path]) -> None:
    from service.schedule_file import read_schedules

    schedules = read_schedules(paths, services.settings.part_of_day)
    report = services.catalog.apply(schedules, datetime.now(UTC))
    services.feeds.invalidate()
    out.print(
        f"loaded {len(schedules)} visit(s): "
        f"{len(report.visits_added)} new, {len(report.visits_changed)} changed; segments "
        f"{report.count('added')} added, "
        f"{sum(report.count(k) for k in ('changed', 'moved', 'refined', 'restored'))} changed, "
        f"{report.count('cancelled')} cancelled, {report.unchanged} unchanged",
        highlight=False,
    )


def _print_links(services: Services) -> None:
    from sqlmodel import select

    from service.models import Visit

    with services.db.session() as session:
        slugs = [(v.slug, v.title) for v in session.exec(select(Visit).order_by(Visit.first_day))]  # type: ignore[arg-type]
    everything = all_links(services.settings)
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


def _serve(
    services: Services, host: str, port: int, on_start: Callable[[], Any] | None = None
) -> None:
    import uvicorn

    from service.api.app import create_app

    if on_start:
        on_start()
    uvicorn.run(create_app(services), host=host, port=port, log_level="info", access_log=False)


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


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the HTTP API and feeds (no schedule loading)."""
    with _services() as services:
        services.db.migrate()
        services.catalog.rerender_if_needed()
        _serve(services, host, port)


@app.command()
def up(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, load config/visits/, and serve: the one-process default."""
    with _services() as services:
        services.db.migrate()
        services.catalog.rerender_if_needed()
        _load(services, [services.settings.visits_dir])
        _print_links(services)
        _serve(services, host, port)


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write the static feeds.")],
) -> None:
    """Write every feed as static files, byte-identical to what the server answers."""
    from service.exporter import export_feeds

    with _services() as services:
        services.db.migrate()
        written = export_feeds(services, directory)
        out.print(f"wrote {len(written)} feed(s) under {directory}", highlight=False)


@app.command()
def visits(
    tz: Annotated[str | None, typer.Option("--tz", help="Show times in this IANA zone.")] = None,
) -> None:
    """A table of visits and their segments, in the visit's zone or the one given."""
    from service.listing import visits_table

    with _services() as services:
        services.db.migrate()
        table: Table = visits_table(services, tz)
        out.print(table)


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except InputError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(2)


def _settings() -> Settings:
    return get_settings()
