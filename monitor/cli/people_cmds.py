"""`socmon people export|erase`: answer a person's rights request for an author on a platform."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    print_json,
    print_table,
)
from monitor.cli.records_cmds import AsOption, acting
from monitor.records import rights

app = typer.Typer(no_args_is_help=True)

PlatformOption = Annotated[str, typer.Option("--platform", help="e.g. facebook, instagram, x")]
AuthorOption = Annotated[str, typer.Option("--author", help="the author's id on the platform")]


@app.command()
def export(
    platform: PlatformOption,
    author: AuthorOption,
    actor: AsOption,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", dir_okay=False, help="JSON file (default: stdout)")] = None,
    config: ConfigOption = None,
) -> None:
    """Everything socmon holds about an author, as JSON (the export is audited)."""
    if out is not None and not out.parent.is_dir():
        raise CommandError(f"--out: folder {out.parent} does not exist")
    # Written before the commit: the audit trail never records an export that failed.
    with acting(config, actor) as (session, name, role):
        document = rights.export_author(session, platform=platform, author_id=author,
                                        actor=name, role=role)
        body = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
        try:
            if out is None:
                sys.stdout.write(body)
            else:
                # Personal data: readable by its owner only.
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(body)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    if out is not None:
        console.print(f"wrote {out}: {len(document['items'])} item(s)")


@app.command()
def erase(
    platform: PlatformOption,
    author: AuthorOption,
    actor: AsOption,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase what socmon holds about an author, except what a legal hold or an unsigned
    safeguarding record keeps; says, per item, what it did and why."""
    if not yes and not typer.confirm(
            f"Erase the content socmon holds about {platform} author {author}? "
            "This cannot be undone"):
        raise typer.Abort
    with acting(config, actor) as (session, name, role):
        result = rights.erase_author(session, platform=platform, author_id=author,
                                     actor=name, role=role)
    if as_json:
        print_json({"items": {str(k): v for k, v in result.outcomes.items()},
                    "audit_seq": result.audit_seq})
        return
    print_table(f"erasure of {platform} author {author}: {len(result.erased())} erased, "
                f"{len(result.kept())} kept", ["item", "outcome"],
                sorted(result.outcomes.items()))
    console.print(f"recorded as audit event {result.audit_seq}")
