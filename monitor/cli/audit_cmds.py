"""`socmon audit verify|export`: prove the trail is intact, hand it over."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from sqlalchemy import select

from monitor import audit
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
)
from monitor.models import AuditEvent

app = typer.Typer(no_args_is_help=True)


@app.command()
def verify(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 naming the first edited, deleted or reordered event."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            result = audit.verify(session)
    finally:
        runtime.close()
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "bad_seq": result.bad_seq,
                "problem": result.problem,
            }
        )
        if not result.ok:
            raise typer.Exit(1)
        return
    if not result.ok:
        raise CommandError(
            f"audit trail broken at event {result.bad_seq}: {result.problem} "
            f"({result.checked} events before it are intact)"
        )
    console.print(f"audit trail intact: {result.checked} events verified")


@app.command()
def export(
    config: ConfigOption = None,
    fmt: Annotated[Literal["jsonl", "csv"], typer.Option("--format")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File (default: stdout)")] = None,
) -> None:
    """Every audit event, with its hashes, as JSON lines or CSV."""
    runtime = open_runtime(config)
    handle = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    fields = [
        "seq",
        "at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "details",
        "evidence_sha256",
        "prev_hash",
        "hash",
    ]
    try:
        writer = csv.writer(handle) if fmt == "csv" else None
        if writer:
            writer.writerow(fields)
        with runtime.factory() as session:
            for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
                row = {f: getattr(event, f) for f in fields}
                row["at"] = event.at.isoformat()
                if writer:
                    row["details"] = json.dumps(event.details, sort_keys=True)
                    writer.writerow([row[f] for f in fields])
                else:
                    handle.write(json.dumps(row, sort_keys=True, default=str) + "\n")
    finally:
        runtime.close()
        if out:
            handle.close()
