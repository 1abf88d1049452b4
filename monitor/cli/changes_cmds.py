"""`socmon changes list|note`: every change to how socmon judges, and the reason for the next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from monitor import changes
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    load_settings,
    open_runtime,
    print_json,
    print_table,
)
from monitor.db import transaction
from monitor.runtime import build_runtime

app = typer.Typer(no_args_is_help=True)

YearOption = Annotated[int | None, typer.Option(
    "--year", min=2000, max=2999, help="Only changes made in this calendar year (UTC)")]


@app.command("list")
def list_command(config: ConfigOption = None, year: YearOption = None,
                 as_json: JsonOption = False) -> None:
    """Configuration changes, model promotions and rollbacks, names imports: who, when, why."""
    runtime = open_runtime(config, quiet=True)
    start = datetime(year, 1, 1, tzinfo=UTC) if year else None
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if year else None
    try:
        with runtime.factory() as session:
            rows = changes.list_changes(session, start=start, end=end)
    finally:
        runtime.close()
    if as_json:
        print_json([{"seq": c.seq, "at": c.at.isoformat(), "actor": c.actor, "kind": c.kind,
                     "summary": c.summary, "reason": c.reason,
                     "keys": {k: {"old": o, "new": n} for k, (o, n) in c.keys.items()}}
                    for c in rows])
        return
    print_table("Changes to how socmon judges", ["when (UTC)", "who", "what", "change", "reason"],
                [(c.at.strftime("%Y-%m-%d %H:%M"), c.actor, c.kind, c.summary, c.reason)
                 for c in rows])


@app.command("note")
def note_command(
    reason: Annotated[str, typer.Option(
        "--reason", help="Why the judging configuration changed (or is about to)")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give the reason for a configuration change: recorded now if the config differs, else
    kept for the next change recorded (the daemon's next start)."""
    if not reason.strip():
        raise CommandError("--reason: give the reason in words (it is shown to governors)")
    settings = load_settings(config, quiet=True)
    actor = changes.process_actor()
    runtime = build_runtime(settings, change_reason=reason)
    try:
        recorded = runtime.config_change_seq is not None
        if not recorded:
            with transaction(runtime.factory) as session:
                changes.note_reason(session, reason=reason.strip(), actor=actor)
    finally:
        runtime.close()
    if as_json:
        print_json({"recorded": recorded, "pending": not recorded})
    elif recorded:
        console.print("the configuration change was recorded with this reason")
    else:
        console.print("no change to record yet: the reason is kept for the next change "
                      "(when the daemon starts with the new configuration)")
