"""`socmon digest preview|send`: render the weekly management digest, or send it now."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from config.settings import Settings
from monitor.cli.common import CommandError, ConfigOption, console, open_runtime
from monitor.db import transaction
from monitor.digest.deliver import (
    DigestBusyError,
    DigestSender,
    NoRecipientsError,
    RunStatus,
    reserve,
    send_now,
)
from monitor.digest.render import Options, render, standalone_html
from monitor.digest.stats import IsoWeek, WeekError, compute
from monitor.models import utcnow

app = typer.Typer(no_args_is_help=True)

WeekOption = Annotated[
    str | None,
    typer.Option("--week", help="ISO week such as 2026-W46 (preview: this week so far; "
                 "send: the previous week)"),
]


def _week(text: str | None, settings: Settings, *, back: int) -> IsoWeek:
    if text is None:
        tz = ZoneInfo(settings.digest.timezone)
        return IsoWeek.containing(utcnow(), tz).shift(-back)
    try:
        return IsoWeek.parse(text)
    except WeekError as exc:
        raise typer.BadParameter(str(exc), param_hint="--week") from None


@app.command()
def preview(
    week: WeekOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML here (chart "
                                             "inlined) instead of printing the text",
                                             dir_okay=False)] = None,
    config: ConfigOption = None,
) -> None:
    """Render a digest without sending it."""
    runtime = open_runtime(config)
    try:
        settings = runtime.settings
        chosen = _week(week, settings, back=0)
        options = Options.from_settings(settings)
        with runtime.factory() as session:
            stats = compute(session, chosen, ZoneInfo(settings.digest.timezone),
                            with_names=options.show_account_names,
                            with_examples=options.quote_text)
        rendered = render(stats, options)
    finally:
        runtime.close()
    if out is None:
        typer.echo(f"Subject: {rendered.subject}\n")
        typer.echo(rendered.text)
        return
    try:
        out.write_text(standalone_html(rendered), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"wrote {out}: {rendered.subject}")


@app.command()
def send(
    week: WeekOption = None,
    to: Annotated[list[str] | None, typer.Option("--to", help="Recipient (repeatable; "
                                                 "default: digest.recipients)")] = None,
    config: ConfigOption = None,
) -> None:
    """Send a week's digest now (once: a digest already sent to the same list is not resent)."""
    runtime = open_runtime(config)
    try:
        settings = runtime.settings
        chosen = _week(week, settings, back=1)
        recipients = to or settings.digest.recipients
        if chosen.bounds(ZoneInfo(settings.digest.timezone))[1] > utcnow():
            # Sending a partial week would also mark that week as sent for this list.
            raise CommandError(f"week {chosen} has not ended yet; use `socmon digest preview`")
        try:
            with transaction(runtime.factory) as session:
                reservation = reserve(session, week=chosen, recipients=recipients,
                                      from_address=settings.smtp.from_address)
        except NoRecipientsError as exc:
            raise CommandError(f"{exc} (or pass --to)") from None
        if reservation.status == RunStatus.SENT:
            console.print(f"digest {chosen} was already sent to this list "
                          f"(Message-ID {reservation.message_id}); not sending again")
            return
        try:
            run = send_now(runtime.factory, DigestSender(settings), reservation.run_id,
                           owner=runtime.owner)
        except DigestBusyError as exc:
            raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if run.status != RunStatus.SENT:
        later = " (the daemon will retry)" if run.status == RunStatus.RETRYING else ""
        raise CommandError(f"digest {chosen} not sent: {run.last_error}{later}")
    console.print(f"digest {chosen} sent to {len(recipients)} recipient(s) "
                  f"(Message-ID {run.message_id})")
