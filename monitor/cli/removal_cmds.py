"""`socmon removals add|list|contact|confirm`: removal requests from the terminal."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from connectors.base import Action
from monitor import alerts, removals
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
from monitor.models import utcnow
from monitor.removals import policy
from monitor.removals.queries import StatusFilter, list_requests

app = typer.Typer(no_args_is_help=True)

ActorOption = Annotated[str | None, typer.Option(help="who acts (default: your login)")]


def _who(actor: str | None) -> str:
    return f"cli:{actor or getpass.getuser()}"


@app.command("add")
def add(
    requester: Annotated[str, typer.Option(help="who asked (kept from roles that may not see)")],
    requester_role: Annotated[str, typer.Option(
        "--role", help="their relation: parent, staff, pupil ...")],
    what: Annotated[str, typer.Option(help="what is to go (a photo, a comment ...)")],
    reason: Annotated[str, typer.Option(help="why (e.g. photo consent withdrawn)")],
    url: Annotated[str | None, typer.Option(
        help="the page's address: an item socmon watches, or a page elsewhere")] = None,
    item: Annotated[int | None, typer.Option(help="a watched item's id")] = None,
    alert: Annotated[int | None, typer.Option(help="the alert of a watched item")] = None,
    hide: Annotated[bool, typer.Option(
        "--hide", help="hide instead of delete (watched channels)")] = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a removal request; on a watched channel its takedown is queued at once."""
    if sum(x is not None for x in (url, item, alert)) != 1:
        raise CommandError("give exactly one of --url, --item or --alert")
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            request = removals.add(
                session, config=runtime.settings.removals, actor=_who(actor),
                requester=removals.Requester(requester, requester_role, what, reason),
                url=url, item_id=item, alert_id=alert,
                action=Action.HIDE if hide else Action.DELETE)
            result: dict[str, Any] = {"id": request.id, "target": str(request.target),
                      "due_at": request.due_at.isoformat(), "alert_id": request.alert_id,
                      "status": str(request.status)}
    except (removals.RemovalError, alerts.NotFound, alerts.InvalidTransition) as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json(result)
    elif result["alert_id"] is not None:
        console.print(f"removal request {result['id']} recorded; the takedown is queued through "
                      f"alert {result['alert_id']}; due {result['due_at'][:16]} UTC")
    else:
        console.print(f"removal request {result['id']} recorded (a page elsewhere); "
                      f"due {result['due_at'][:16]} UTC")


@app.command("list")
def list_command(
    status: Annotated[str, typer.Option(help="open, done or all")] = "open",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Removal requests, the nearest deadline first."""
    if status not in ("open", "done", "all"):
        raise CommandError(f"--status: expected open, done or all, not {status!r}")
    wanted: StatusFilter = status  # type: ignore[assignment]
    runtime = open_runtime(config, quiet=True)
    try:
        with runtime.factory() as session:
            rows = list_requests(session, status=wanted, now=utcnow(), role=None)
    finally:
        runtime.close()
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        f"Removal requests ({status})",
        ["id", "where", "requester", "due (UTC)", "status", "progress"],
        [(r.id, r.channel or r.host, f"{r.requester_name} ({r.requester_role})",
          f"{r.due_at:%Y-%m-%d %H:%M}" + (" OVERDUE" if r.overdue else ""),
          r.resolution or r.status,
          f"takedown {r.takedown_status}" if r.alert_id else f"{len(r.contacts)} contact(s)")
         for r in rows])


@app.command("contact")
def contact(
    request_id: Annotated[int, typer.Argument(help="Removal request id")],
    note: Annotated[str, typer.Option(help="what was sent or said, and to whom")],
    method: Annotated[removals.ContactMethod, typer.Option(help="how")] = (
        removals.ContactMethod.EMAIL),
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record an approach to the host of a page elsewhere."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            entry = removals.contact(session, request_id=request_id, actor=_who(actor),
                                     method=method, note=note)
            contact_id = entry.id
    except (removals.RemovalError, removals.NotFound) as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json({"request": request_id, "contact": contact_id})
    else:
        console.print(f"contact {contact_id} recorded on removal request {request_id}")


@app.command("confirm")
def confirm(
    request_id: Annotated[int, typer.Argument(help="Removal request id")],
    note: Annotated[str, typer.Option(help="how you checked that it is gone")],
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Confirm that a page elsewhere is gone: closes the request."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            request = removals.confirm(session, request_id=request_id, actor=_who(actor),
                                       note=note)
            in_time = policy.in_time(request.due_at, request.resolved_at or utcnow())
    except (removals.RemovalError, removals.NotFound) as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json({"request": request_id, "status": "done", "in_time": in_time})
    else:
        console.print(f"removal request {request_id} confirmed gone "
                      + ("within its deadline" if in_time else "after its deadline"))
