"""`socmon queue list|show|act|assign`: the alert queue from the terminal."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Label
from connectors.base import Action
from monitor import alerts
from monitor.alerts import policy
from monitor.alerts.queries import StateFilter, label_clause, state_clause
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
from monitor.models import Alert, AuditEvent, Channel, Item
from monitor.models import Verdict as VerdictRow

app = typer.Typer(no_args_is_help=True)

#: safeguarding text is shown only by `queue show`, never in lists that others may glance at
REDACTED = "[safeguarding item: open it with `socmon queue show`]"


def alert_summary(alert: Alert, item: Item, channel: Channel) -> dict[str, Any]:
    """The list view of one alert."""
    text = REDACTED if policy.is_safeguarding(alert) else item.text
    return {
        "id": alert.id,
        "state": alert.state,
        "queue": alert.queue,
        "severity": alert.severity,
        "labels": alert.labels,
        "channel": channel.name,
        "platform": item.platform,
        "author": item.author_name,
        "text": text[:200],
        "due_at": alert.due_at.isoformat(),
        "takedown": alert.takedown_status,
    }


def _rows(
    session: Session,
    *,
    state: StateFilter,
    queue: str | None,
    label: Label | None,
    channel: str | None,
    limit: int,
) -> list[tuple[Alert, Item, Channel]]:
    stmt = (
        select(Alert, Item, Channel)
        .join(Item, Alert.item_id == Item.id)
        .join(Channel, Alert.channel_id == Channel.id)
    )
    wanted = state_clause(state)
    if wanted is not None:
        stmt = stmt.where(wanted)
    if queue:
        stmt = stmt.where(Alert.queue == queue)
    if label:
        stmt = stmt.where(label_clause(label))
    if channel:
        stmt = stmt.where(Channel.name == channel)
    stmt = stmt.order_by(Alert.severity_rank.desc(), Alert.due_at, Alert.id).limit(limit)
    return [(a, i, c) for a, i, c in session.execute(stmt).all()]


@app.command("list")
def list_alerts(
    config: ConfigOption = None,
    state: Annotated[
        StateFilter,
        typer.Option(help="open: everything still needing someone (failed takedowns too)"),
    ] = StateFilter.OPEN,
    queue: Annotated[str | None, typer.Option(help="e.g. moderation, safeguarding, urgent")] = None,
    label: Annotated[Label | None, typer.Option(help="carrying this label, first or not")] = None,
    channel: Annotated[str | None, typer.Option(help="channel name")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Alerts, most severe and most urgent first (the same states and labels as the web UI)."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            rows = [
                alert_summary(a, i, c)
                for a, i, c in _rows(
                    session, state=state, queue=queue, label=label, channel=channel, limit=limit
                )
            ]
    finally:
        runtime.close()
    if as_json:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} alerts",
        ["id", "sev", "labels", "state", "channel", "due", "text"],
        [
            (
                r["id"],
                r["severity"],
                ",".join(r["labels"]),
                r["state"],
                r["channel"],
                r["due_at"][:16],
                r["text"][:60].replace("\n", " "),
            )
            for r in rows
        ],
    )


@app.command()
def show(
    alert_id: Annotated[int, typer.Argument(help="Alert id")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One alert in full: the text, the classifier's reasons, its audit trail."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                raise CommandError(f"alert {alert_id} does not exist")
            item = session.get_one(Item, alert.item_id)
            verdict = session.get_one(VerdictRow, alert.verdict_id)
            channel = session.get_one(Channel, alert.channel_id)
            events = (
                session.execute(
                    select(AuditEvent)
                    .where(AuditEvent.target_type == "alert", AuditEvent.target_id == str(alert_id))
                    .order_by(AuditEvent.seq)
                )
                .scalars()
                .all()
            )
            data = {
                **alert_summary(alert, item, channel),
                "text": item.text,
                "url": item.url,
                "external_id": item.external_id,
                "created_at": item.created_at.isoformat(),
                "scores": verdict.scores,
                "spans": verdict.spans,
                "reasons": verdict.reasons,
                "model_version": verdict.model_version,
                "audit": [
                    {
                        "seq": e.seq,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "details": e.details,
                    }
                    for e in events
                ],
            }
    finally:
        runtime.close()
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]Alert {data['id']}[/] {data['severity']} {','.join(data['labels'])} "
        f"({data['state']}, due {data['due_at'][:16]})"
    )
    console.print(
        f"{data['channel']} / {data['platform']} {data['external_id']} by "
        f"{data['author']} at {data['created_at'][:16]}  {data['url'] or ''}"
    )
    console.print(data["text"], markup=False, highlight=False)
    for reason in data["reasons"]:
        console.print(f"  - {reason}", markup=False)
    for e in data["audit"]:
        console.print(f"  #{e['seq']} {e['at'][:19]} {e['actor']} {e['action']}")


ACTIONS = ("claim", "release", "hide", "delete", "dismiss", "escalate", "note")


def _who(actor: str | None) -> str:
    return f"cli:{actor or getpass.getuser()}"


def _report(change: alerts.Change, *, as_json: bool) -> None:
    result = {"alert": change.alert_id, "state": change.state.value, "audit_seq": change.audit_seq}
    if as_json:
        print_json(result)
    else:
        console.print(
            f"alert {change.alert_id} is now {change.state.value} (audit event {change.audit_seq})"
        )


ActorOption = Annotated[str | None, typer.Option(help="who acts (default: your login)")]


@app.command()
def assign(
    alert_id: Annotated[int, typer.Argument(help="Alert id")],
    username: Annotated[str, typer.Argument(help="who is given it (a web account)")],
    config: ConfigOption = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give an alert to someone who may work it (it goes into review, theirs); audited."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            change = alerts.assign(
                session, alert_id=alert_id, actor=_who(actor), assignee=username
            )
    except (alerts.NotFound, alerts.InvalidTransition, alerts.CannotAssign) as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    _report(change, as_json=as_json)


@app.command()
def act(
    alert_id: Annotated[int, typer.Argument(help="Alert id")],
    action: Annotated[str, typer.Argument(help=" | ".join(ACTIONS))],
    config: ConfigOption = None,
    reason: Annotated[
        str | None,
        typer.Option(help="dismiss: " + ", ".join(r.value for r in alerts.DismissReason)),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="escalate: " + ", ".join(t.value for t in alerts.EscalationTarget)),
    ] = None,
    note: Annotated[str | None, typer.Option(help="a note (required for `note`)")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claim, hide, delete, dismiss, escalate or note an alert; every step is audited."""
    if action not in ACTIONS:
        raise typer.BadParameter(f"expected one of {', '.join(ACTIONS)}", param_hint="ACTION")
    who = _who(actor)
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            change = _apply(session, alert_id, action, who, reason=reason, to=to, note=note)
    except alerts.NotFound as exc:
        raise CommandError(str(exc)) from None
    except alerts.InvalidTransition as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    _report(change, as_json=as_json)


def _apply(
    session: Session,
    alert_id: int,
    action: str,
    who: str,
    *,
    reason: str | None,
    to: str | None,
    note: str | None,
) -> alerts.Change:
    if action == "claim":
        return alerts.claim(session, alert_id=alert_id, actor=who)
    if action == "release":
        return alerts.release(session, alert_id=alert_id, actor=who)
    if action in ("hide", "delete"):
        return alerts.request_takedown(session, alert_id=alert_id, actor=who, action=Action(action))
    if action == "dismiss":
        try:
            why = alerts.DismissReason(reason or "")
        except ValueError:
            raise typer.BadParameter(
                "expected one of " + ", ".join(r.value for r in alerts.DismissReason),
                param_hint="--reason",
            ) from None
        return alerts.dismiss(session, alert_id=alert_id, actor=who, reason=why, note=note)
    if action == "escalate":
        try:
            target = alerts.EscalationTarget(to or "")
        except ValueError:
            raise typer.BadParameter(
                "expected one of " + ", ".join(t.value for t in alerts.EscalationTarget),
                param_hint="--to",
            ) from None
        return alerts.escalate(session, alert_id=alert_id, actor=who, to=target, note=note)
    if not note:
        raise typer.BadParameter("a note needs --note TEXT", param_hint="--note")
    return alerts.add_note(session, alert_id=alert_id, actor=who, body=note)
