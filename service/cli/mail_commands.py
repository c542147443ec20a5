"""`visitcal mail list` / `visitcal mail show ID`: the mail kept in the local mail store when no
relay is configured (what would have been sent, confirmation links included)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.reminders.mail_store import MailStore, readable_text
from service.settings import get_settings

mail_app = typer.Typer(
    help="Mail kept in the local mail store (no relay configured).", no_args_is_help=True
)
out = Console()
err = Console(stderr=True, soft_wrap=True)


def _store() -> MailStore:
    settings = get_settings()
    if settings.smtp_url:
        err.print(
            "note: a relay is configured (smtp_url): new mail is sent, not kept here",
            markup=False,
            highlight=False,
        )
    return MailStore(settings.mail_dir)


@mail_app.command("list")
def list_mail(
    to: Annotated[str, typer.Option(help="Only mail to this address.")] = "",
    last: Annotated[int, typer.Option(help="Only the newest N mails (0: all).")] = 0,
) -> None:
    """Every kept mail, oldest first: id, date, recipient, subject."""
    store = _store()
    mails = [m for m in store.list() if not to or to.lower() in m.to.lower()]
    if last > 0:
        mails = mails[-last:]
    if not mails:
        out.print(f"no mail kept in {store.path}/", highlight=False)
        return
    table = Table("id", "date (UTC)", "to", "subject", "invitation")
    for mail in mails:
        when = mail.date.strftime("%Y-%m-%d %H:%M:%S") if mail.date else ""
        table.add_row(mail.id, when, mail.to, mail.subject, "yes" if mail.has_invitation else "")
    out.print(table)


@mail_app.command("show")
def show_mail(
    mail_id: Annotated[str, typer.Argument(help="A mail's id, or its first characters.")],
    raw: Annotated[bool, typer.Option(help="The whole message (headers, every part).")] = False,
) -> None:
    """One kept mail: its headers and its text (links included), or --raw the whole message."""
    store = _store()
    try:
        key, message = store.get(mail_id)
    except KeyError:
        err.print(
            f"error: mail: no single kept mail whose id starts with {mail_id!r} "
            "(see `visitcal mail list`)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2) from None
    if raw:
        typer.echo(message.as_string())
        return
    for name in ("Date", "From", "To", "Subject", "List-Unsubscribe"):
        if message[name]:
            typer.echo(f"{name}: {message[name]}")
    typer.echo(f"Id: {key}")
    typer.echo("")
    typer.echo(readable_text(message))
