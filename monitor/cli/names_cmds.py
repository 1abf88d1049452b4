"""`socmon names import|list`: the register of protected names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import delete, func, select

from classifiers.names import RosterError, parse_roster
from config.loader import ConfigError
from monitor import audit
from monitor.cli.common import ConfigOption, JsonOption, console, open_runtime, print_json
from monitor.db import transaction
from monitor.models import ProtectedName
from monitor.runtime import NAMES_CHANGED

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_names(
    roster: Annotated[
        Path,
        typer.Argument(help="CSV: first_name,last_name,role,aliases", exists=True, dir_okay=False),
    ],
    config: ConfigOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Drop names not in this file")] = False,
    reason: Annotated[str | None, typer.Option(
        help="Why (shown on the changes page and in the annual review)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Load a roster into the register; a running daemon uses it from its next poll."""
    try:
        names = parse_roster(roster)
    except RosterError as exc:
        raise ConfigError(f"{roster}: {exc}") from None
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            if replace:
                session.execute(delete(ProtectedName))
            existing = {
                (n.first_name.lower(), n.last_name.lower()): n
                for n in session.execute(select(ProtectedName)).scalars()
            }
            added = 0
            for name in names:
                row = existing.get((name.first_name.lower(), name.last_name.lower()))
                if row is None:
                    session.add(
                        ProtectedName(
                            first_name=name.first_name,
                            last_name=name.last_name,
                            role=name.role,
                            aliases=list(name.aliases),
                        )
                    )
                    added += 1
                else:
                    row.role = name.role
                    row.aliases = sorted(set(row.aliases or []) | set(name.aliases))
            session.flush()
            total = session.execute(select(func.count()).select_from(ProtectedName)).scalar_one()
            # The audit trail records that the register changed, never the names themselves.
            audit.record(
                session,
                actor="cli",
                action=NAMES_CHANGED,
                target_type="register",
                target_id="protected_names",
                details={"rows": len(names), "added": added, "total": total, "replace": replace,
                         **({"reason": reason.strip()} if reason and reason.strip() else {})},
            )
    finally:
        runtime.close()
    if as_json:
        print_json({"rows": len(names), "added": added, "total": total})
    else:
        console.print(f"{len(names)} rows read, {added} names added; the register holds {total}")


@app.command("list")
def list_names(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """How many names the register holds, by role (names themselves are not printed)."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            counts = dict(
                session.execute(
                    select(ProtectedName.role, func.count()).group_by(ProtectedName.role)
                ).all()
            )
    finally:
        runtime.close()
    if as_json:
        print_json(counts)
    else:
        for role, count in sorted(counts.items()):
            console.print(f"{role}: {count}")
