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


#: the packages whose INFO lines are ours; every other logger is a library's
OWN_LOGGERS = ("monitor", "connectors", "classifiers", "config", "socmon")
#: libraries whose routine goes unlogged unless `log_verbose`, even at WARNING
ROUTINE_LOGGERS = {
    # "skipped: maximum number of running instances" is expected while a long pass runs.
    "apscheduler.scheduler": logging.ERROR,
}
_HANDLER = "socmon-stderr"


def _is_own(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


class OwnOrWarning(logging.Filter):
    """Pass socmon's own records at any level, other libraries' from WARNING up.

    A handler filter, so it holds for every library, named or not (fontTools.subset writes
    75 INFO lines per evidence pack; uvicorn, apprise and httpx report routine at INFO).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or _is_own(record.name)


def setup_logging(level: str, *, verbose: bool = False) -> None:
    """Plain, lazy logging to stderr; comment text is only ever logged at DEBUG.

    Quiet by default: other libraries' lines below WARNING are dropped unless `verbose`.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER), None)
    if handler is None and not root.handlers:  # as basicConfig: never a second handler
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    if handler is None:
        return  # someone else (a test runner, an embedding program) owns logging
    root.setLevel(level)
    for existing in list(handler.filters):
        if isinstance(existing, OwnOrWarning):
            handler.removeFilter(existing)
    if not verbose:
        handler.addFilter(OwnOrWarning())
    for name, floor in ROUTINE_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else floor)


def load_settings(path: Path | None, *, verbose: bool = False, quiet: bool = False) -> Settings:
    """Settings from `path` (--config or $SOCMON_CONFIG), else the built-in demo config.

    Falling back to the demo lets a newcomer explore every command; `run` refuses to.
    `verbose` (the --verbose flag) turns `log_verbose` on whatever the config says. `quiet`,
    for a command that prints its own result: its INFO lines are not repeated on stderr
    (`log_level: DEBUG` still shows everything).
    """
    settings = load(path or DEFAULT_YAML)
    if verbose:
        settings = settings.model_copy(update={"log_verbose": True})
    level = "WARNING" if quiet and settings.log_level == "INFO" else settings.log_level
    setup_logging(level, verbose=settings.log_verbose)
    return settings


def open_runtime(path: Path | None, *, migrate: bool = True, quiet: bool = False) -> Runtime:
    """Settings and runtime in one step."""
    return build_runtime(load_settings(path, quiet=quiet), migrate=migrate)


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
