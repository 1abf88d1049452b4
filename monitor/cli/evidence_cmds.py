"""`socmon evidence export`: an alert's evidence pack (PDF, JSON, hash manifest, audit) as a ZIP."""

from __future__ import annotations

import getpass
import hashlib
import os
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from monitor.alerts import NotFound
from monitor.cli.common import CommandError, ConfigOption, console, open_runtime
from monitor.db import transaction

app = typer.Typer(no_args_is_help=True)

#: where packs go unless --out says otherwise, under the data directory
EXPORTS = "exports"


def default_target(data_dir: Path, alert_id: int) -> Path:
    """exports/evidence-<id>.zip in the data directory (the folder made if missing, 0700)."""
    folder = data_dir / EXPORTS
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"evidence-{alert_id}.zip"


@app.callback()
def evidence() -> None:
    """Evidence packs for the police, the platform or the board."""
    # A callback keeps `export` a subcommand even while it is the only one.


@app.command()
def export(
    alert_id: Annotated[int, typer.Argument(help="The alert to export", min=1)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", dir_okay=False,
        help="ZIP file (default: exports/evidence-<ALERT_ID>.zip in the data directory)")] = None,
    actor: Annotated[str | None, typer.Option(help="who exports (default: your login)")] = None,
    config: ConfigOption = None,
) -> None:
    """Write the evidence pack of one alert; the export is recorded in the audit trail."""
    # Imported here: the PDF library takes a while to load and only this command needs it.
    from monitor.evidence_pack import build_pack

    if out is not None and not out.parent.is_dir():
        raise CommandError(f"folder {out.parent} does not exist")
    who = f"cli:{actor or getpass.getuser()}"
    runtime = open_runtime(config, quiet=True)
    try:
        target = out or default_target(runtime.settings.data_dir, alert_id)
    except OSError as exc:
        runtime.close()
        raise CommandError(f"cannot create {runtime.settings.data_dir / EXPORTS}: "
                           f"{exc.strerror or exc}") from None
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        # Written before the commit and renamed after it: the audit trail never names a pack
        # that failed to reach the disk, and no half-written ZIP is left under the real name.
        with transaction(runtime.factory) as session:
            data = build_pack(session, alert_id=alert_id, actor=who)
            partial.write_bytes(data)
        partial.replace(target)
    except NotFound as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
        runtime.close()
    with zipfile.ZipFile(target) as archive:
        manifest = archive.read("manifest.json")
    console.print(f"wrote {target} ({len(data)} bytes); manifest SHA-256 "
                  f"{hashlib.sha256(manifest).hexdigest()}")
