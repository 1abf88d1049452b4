"""`socmon privacy record`: what socmon holds and why, from the configuration in force."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from monitor import privacy
from monitor.cli.common import ConfigOption, console, load_settings

app = typer.Typer(no_args_is_help=True)


@app.command("record")
def record_command(
    config: ConfigOption = None,
    as_markdown: Annotated[bool, typer.Option(
        "--markdown", help="Markdown, as docs/privacy.md (which is this for the default config)")
    ] = False,
) -> None:
    """Each kind of data held: where, how long, who can see it, the lawful basis; SARs."""
    text = privacy.markdown(privacy.build(load_settings(config, quiet=True)))
    if as_markdown:
        sys.stdout.write(text)
    else:
        console.print(text, markup=False, highlight=False)
