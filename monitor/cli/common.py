"""What every command shares: loading config, building the runtime, printing tables or JSON."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config.loader import DEFAULT_YAML, ConfigError, load
from config.settings import Settings
from monitor.runtime import Runtime, build_runtime

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config (default: $SOCMON_CONFIG, else the demo)",
        envvar="SOCMON_CONFIG",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]

console = Console()
err_console = Console(stderr=True)


class CommandError(Exception):
    """A failure to report in one line with exit code 1."""


def setup_logging(level: str) -> None:
    """Plain, lazy logging to stderr; comment text is only ever logged at DEBUG."""
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every job run at INFO; keep the daemon's log readable.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # "skipped: maximum number of running instances" is expected while a long pass runs.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def load_settings(path: Path | None) -> Settings:
    """Settings from `path` (--config or $SOCMON_CONFIG), else the built-in demo config.

    Falling back to the demo lets a newcomer explore every command; `run` refuses to.
    """
    settings = load(path or DEFAULT_YAML)
    setup_logging(settings.log_level)
    return settings


def open_runtime(path: Path | None, *, migrate: bool = True) -> Runtime:
    """Settings and runtime in one step."""
    return build_runtime(load_settings(path), migrate=migrate)


def print_json(data: Any) -> None:
    """JSON to stdout, one document."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A human-readable table."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


__all__ = [
    "CommandError",
    "ConfigError",
    "ConfigOption",
    "JsonOption",
    "load_settings",
    "open_runtime",
    "print_json",
    "print_table",
]
