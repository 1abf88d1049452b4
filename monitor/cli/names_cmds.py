"""`socmon names import|list|consent`: the register of protected names and photo consent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import delete, func, select

from classifiers.names import RosterError, parse_roster
from config.loader import ConfigError
from monitor import audit
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
)
from monitor.db import transaction
from monitor.models import ProtectedName
from monitor.runtime import NAMES_CHANGED

#: the audit action of a change of a name's photo consent
NAMES_CONSENT = "names.consent"

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_names(
    roster: Annotated[
        Path,
        typer.Argument(help="CSV: first_name,last_name,role,aliases[,photo_consent]", exists=True,
                       dir_okay=False),
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
                            photo_consent_withdrawn=bool(name.photo_consent_withdrawn),
                        )
                    )
                    added += 1
                else:
                    row.role = name.role
                    row.aliases = sorted(set(row.aliases or []) | set(name.aliases))
                    if name.photo_consent_withdrawn is not None:  # blank: left as it was
                        row.photo_consent_withdrawn = name.photo_consent_withdrawn
            session.flush()
            total = session.execute(select(func.count()).select_from(ProtectedName)).scalar_one()
            withdrawn = session.execute(
                select(func.count()).where(ProtectedName.photo_consent_withdrawn.is_(True))
            ).scalar_one()
            # The audit trail records that the register changed, never the names themselves.
            audit.record(
                session,
                actor="cli",
                action=NAMES_CHANGED,
                target_type="register",
                target_id="protected_names",
                details={"rows": len(names), "added": added, "total": total, "replace": replace,
                         "photo_consent_withdrawn": withdrawn,
                         **({"reason": reason.strip()} if reason and reason.strip() else {})},
            )
    finally:
        runtime.close()
    if as_json:
        print_json({"rows": len(names), "added": added, "total": total,
                    "photo_consent_withdrawn": withdrawn})
    else:
        console.print(f"{len(names)} rows read, {added} names added; the register holds {total}"
                      f" ({withdrawn} with photo consent withdrawn)")


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


@app.command("consent")
def set_consent(
    first_name: Annotated[str, typer.Argument(help="First name as in the register")],
    last_name: Annotated[str, typer.Argument(help="Last name as in the register")],
    withdrawn: Annotated[bool, typer.Option(
        "--withdrawn/--given",
        help="Photo consent withdrawn (the organisation's own posts naming them are flagged) "
             "or given")] = True,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that a family withdrew (or gave back) photo consent for a registered child."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            row = session.execute(
                select(ProtectedName).where(
                    func.lower(ProtectedName.first_name) == first_name.strip().lower(),
                    func.lower(ProtectedName.last_name) == last_name.strip().lower())
            ).scalar_one_or_none()
            if row is None:
                raise CommandError("no such name in the register; add it with "
                                   "`socmon names import` first")
            row.photo_consent_withdrawn = withdrawn
            # The register's row id, never the name, goes into the audit trail.
            audit.record(session, actor="cli", action=NAMES_CONSENT, target_type="register",
                         target_id=f"protected_names:{row.id}",
                         details={"photo_consent_withdrawn": withdrawn})
            name_id = row.id
    finally:
        runtime.close()
    state = "withdrawn" if withdrawn else "given"
    if as_json:
        print_json({"id": name_id, "photo_consent": state})
    else:
        console.print(f"photo consent {state} for register entry {name_id}")
