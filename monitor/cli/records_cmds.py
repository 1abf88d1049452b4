"""`socmon records purge|hold|release-hold|holds|reviews|sign-off`: retention and legal holds."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import users
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
    print_table,
)
from monitor.db import transaction
from monitor.models import Channel, LegalHold, utcnow
from monitor.people.roles import Role
from monitor.records import holds as holds_service
from monitor.records import reviews as reviews_service
from monitor.records.errors import RecordsError
from monitor.records.purge import purge as run_purge

app = typer.Typer(no_args_is_help=True)

AsOption = Annotated[str, typer.Option(
    "--as", help="your socmon username: the role it has decides whether you may")]
ReasonOption = Annotated[str, typer.Option("--reason", help="why (kept with the record)")]


def acting_user(session: Session, username: str) -> tuple[str, Role]:
    """The username and role of the person acting, or a CommandError naming the problem."""
    try:
        person = users.get(session, username=users.normalise(username))
    except users.UnknownUser:
        raise CommandError(f"--as: no user called {username!r} (see `socmon users list`)"
                           ) from None
    if person.disabled:
        raise CommandError(f"--as: {person.username} is disabled")
    return person.username, Role(person.role)


@contextmanager
def acting(config: Path | None, username: str) -> Iterator[tuple[Session, str, Role]]:
    """One transaction as the user `username` (their role decides what is allowed); a
    refusal of the records services becomes a one-line CommandError."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            name, role = acting_user(session, username)
            yield session, name, role
    except RecordsError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()


@app.command()
def purge(config: ConfigOption = None,
          dry_run: Annotated[bool, typer.Option(
              "--dry-run", help="say what would go, change nothing")] = False,
          as_json: JsonOption = False) -> None:
    """Remove or redact what is past its retention period (the daemon does this daily)."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            report = run_purge(session, runtime.settings.retention, now=utcnow(),
                               dry_run=dry_run, actor=f"cli:{getpass.getuser()}")
    finally:
        runtime.close()
    summary = report.summary()
    if as_json:
        print_json({**summary, "audit_seq": report.audit_seq})
        return
    verb = "would remove" if dry_run else "removed"
    print_table(f"purge {verb}", ["kind", "count"], sorted(summary["counts"].items()))
    console.print(f"safeguarding records newly due for the DSL's review: "
                  f"{len(report.due_for_review)}; kept by legal holds: {report.kept_by_hold}")
    if report.audit_seq is not None:
        console.print(f"recorded as audit event {report.audit_seq}")


def _hold_row(hold: LegalHold, channels: dict[int, str]) -> dict[str, Any]:
    target = {"alert": f"alert {hold.alert_id}",
              "channel": f"channel {channels.get(hold.channel_id or 0, hold.channel_id)}",
              "author": f"author {hold.platform}:{hold.author_id}"}[hold.scope]
    return {"id": hold.id, "scope": hold.scope, "target": target, "reason": hold.reason,
            "set_by": hold.set_by, "set_at": hold.set_at.isoformat(),
            "released_at": hold.released_at.isoformat() if hold.released_at else None,
            "released_by": hold.released_by}


@app.command()
def hold(
    actor: AsOption,
    reason: ReasonOption,
    alert: Annotated[int | None, typer.Option(help="hold one alert (its item)", min=1)] = None,
    channel: Annotated[str | None, typer.Option(help="hold a whole channel")] = None,
    platform: Annotated[str | None, typer.Option(help="with --author: hold an author")] = None,
    author: Annotated[str | None, typer.Option(help="the author's id on the platform")] = None,
    config: ConfigOption = None,
) -> None:
    """Put a legal hold on an alert, a channel or an author: no purge or erasure touches it."""
    with acting(config, actor) as (session, name, role):
        hold_id = holds_service.set_hold(session, actor=name, role=role, reason=reason,
                                         alert_id=alert, channel=channel, platform=platform,
                                         author_id=author).id
    console.print(f"legal hold #{hold_id} set")


@app.command("release-hold")
def release_hold(
    hold_id: Annotated[int, typer.Argument(help="the hold's number", min=1)],
    actor: AsOption,
    reason: ReasonOption,
    config: ConfigOption = None,
) -> None:
    """Lift a legal hold; what it kept is purged at the next run if its time is up."""
    with acting(config, actor) as (session, name, role):
        holds_service.release_hold(session, hold_id=hold_id, actor=name, role=role,
                                   reason=reason)
    console.print(f"legal hold #{hold_id} lifted")


@app.command("holds")
def list_holds(config: ConfigOption = None,
               show_all: Annotated[bool, typer.Option("--all", help="lifted ones too")] = False,
               as_json: JsonOption = False) -> None:
    """Legal holds in force (or all of them)."""
    runtime = open_runtime(config, quiet=True)
    try:
        with runtime.factory() as session:
            channels = {c.id: c.name for c in session.execute(select(Channel)).scalars()}
            stmt = select(LegalHold).order_by(LegalHold.id)
            if not show_all:
                stmt = stmt.where(LegalHold.released_at.is_(None))
            rows = [_hold_row(h, channels) for h in session.execute(stmt).scalars()]
    finally:
        runtime.close()
    if as_json:
        print_json(rows)
        return
    print_table(f"{len(rows)} legal holds", ["id", "target", "reason", "set by", "lifted"],
                [(r["id"], r["target"], r["reason"][:60], r["set_by"],
                  r["released_at"] or "") for r in rows])


@app.command()
def reviews(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Safeguarding records past their period, waiting for the DSL's sign-off."""
    runtime = open_runtime(config, quiet=True)
    try:
        with runtime.factory() as session:
            rows: list[dict[str, Any]] = [
                {"alert_id": r.alert_id, "due_since": r.due_since.isoformat()}
                for r in reviews_service.due(session)]
    finally:
        runtime.close()
    if as_json:
        print_json(rows)
        return
    print_table(f"{len(rows)} safeguarding records due for review", ["alert", "due since"],
                [(r["alert_id"], r["due_since"][:16]) for r in rows])


@app.command("sign-off")
def sign_off(
    alert_id: Annotated[int, typer.Argument(help="the safeguarding alert", min=1)],
    actor: AsOption,
    reason: ReasonOption,
    config: ConfigOption = None,
) -> None:
    """As the DSL, agree that a safeguarding record due for review may go at the next purge."""
    with acting(config, actor) as (session, name, role):
        reviews_service.sign_off(session, alert_id=alert_id, actor=name, role=role,
                                 reason=reason)
    console.print(f"alert {alert_id} signed off: its record goes at the next purge")
