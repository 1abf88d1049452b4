"""`socmon channels list|check`: each channel's health and whether its credentials work."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import select

from connectors.base import ConnectorError
from monitor import quarantine
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
    print_table,
)
from monitor.models import Channel, ChannelState

app = typer.Typer(no_args_is_help=True)


def _iso(value: object) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


@app.command("list")
def list_channels(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Health, last poll, last error and next poll of every channel."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            set_aside = quarantine.counts_by_channel(session)
            rows: list[dict[str, Any]] = [
                {
                    "name": c.name,
                    "platform": c.platform,
                    "enabled": c.enabled,
                    "health": s.health,
                    "last_poll_at": _iso(s.last_poll_at),
                    "last_success_at": _iso(s.last_success_at),
                    "next_poll_at": _iso(s.next_poll_at),
                    "last_error": s.last_error,
                    "items": s.items_total,
                    "quarantined": set_aside.get(c.id, 0),
                }
                for c, s in session.execute(
                    select(Channel, ChannelState).join(ChannelState).order_by(Channel.name)
                )
            ]
    finally:
        runtime.close()
    if as_json:
        print_json(rows)
        return
    print_table(
        "Channels",
        ["name", "platform", "health", "last poll", "next poll", "items", "set aside",
         "last error"],
        [
            (
                r["name"],
                r["platform"],
                "needs re-authorisation" if r["health"] == "needs_reauth" else r["health"],
                (r["last_poll_at"] or "never")[:19],
                (r["next_poll_at"] or "-")[:19],
                r["items"],
                r["quarantined"],
                (r["last_error"] or "")[:80],
            )
            for r in rows
        ],
    )


@app.command()
def check(
    name: Annotated[str, typer.Argument(help="Channel name")],
    config: ConfigOption = None,
) -> None:
    """Call the platform once; say which credential or permission is missing."""
    runtime = open_runtime(config)
    try:
        runtime.channel_config(name)
        connector = runtime.connectors[name]
        try:
            problems = list(connector.check_credentials())
        except ConnectorError as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
    finally:
        runtime.close()
    if problems:
        raise CommandError(f"channel {name}: " + "; ".join(problems))
    console.print(f"channel {name}: credentials and permissions look right")
