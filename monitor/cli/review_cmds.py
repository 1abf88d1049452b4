"""`socmon review --year 2026`: the governors' annual review pack, as PDF and HTML files."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
)
from monitor.db import transaction


def review_command(
    year: Annotated[int, typer.Option("--year", help="The calendar year to review, e.g. 2026")],
    out: Annotated[Path, typer.Option(
        "--out", help="Directory to write the PDF and HTML into", file_okay=False)] = Path("."),
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the annual review pack for governors (PDF and HTML; counts only, no names)."""
    # Imported here: the PDF and template libraries stay out of every other command's start.
    from monitor import review
    from monitor.review.audit import record_export

    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            try:
                pack = review.produce(session, runtime.settings, year)
            except review.YearError as exc:
                raise CommandError(f"--year: {exc}") from None
            record_export(session, pack, actor=f"cli:{getpass.getuser()}",
                          formats=("pdf", "html"))
    finally:
        runtime.close()
    try:
        out.mkdir(parents=True, exist_ok=True)
        pdf, html = out / f"{pack.stem}.pdf", out / f"{pack.stem}.html"
        pdf.write_bytes(pack.pdf)
        html.write_text(pack.html, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"--out: cannot write to {out} ({exc.strerror})") from None
    if as_json:
        print_json({"year": year, "pdf": str(pdf), "html": str(html)})
    else:
        console.print(f"review pack for {year}: {pdf} and {html}")
