"""`socmon demo`, `run`, `init` and `poll`: the daemon and one-off passes."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from config.loader import DEFAULT_YAML, ConfigError, load
from monitor import db
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    load_settings,
    print_json,
    print_table,
)
from monitor.db import transaction
from monitor.poller import PollResult, poll_channel
from monitor.runtime import Runtime, build_runtime
from monitor.users import seed_demo_users

EXAMPLE_YAML = Path(DEFAULT_YAML).with_name("example.yaml")


def poll_all(runtime: Runtime, *, only: str | None = None, force: bool = True) -> list[PollResult]:
    """One poll pass of every enabled channel (or one), in this process."""
    results = []
    for channel in runtime.settings.channels:
        if (only and channel.name != only) or not channel.enabled:
            continue
        results.append(
            poll_channel(
                runtime.factory,
                name=channel.name,
                connector=runtime.connectors[channel.name],
                classifier=runtime.classifier,
                routing=runtime.settings.routing,
                owner=runtime.owner,
                interval=channel.interval,
                force=force,
                lease=runtime.settings.poll_lease,
            )
        )
    if only and not results:
        raise ConfigError(f"--channel: no enabled channel named {only!r}")
    return results


def summarise(results: list[PollResult]) -> dict[str, Any]:
    """Totals across channels, for humans and scripts."""
    by_label: Counter[str] = Counter()
    for r in results:
        by_label.update(r.totals.by_label)
    return {
        "channels": {
            r.channel: {
                "pages": r.pages,
                "requests": r.requests,
                "fetched": r.totals.fetched,
                "new_items": r.totals.new_items,
                "alerts": r.totals.alerts,
                "health": r.health.value,
                "skipped": r.skipped,
                "error": r.error,
            }
            for r in results
        },
        "items": sum(r.totals.new_items for r in results),
        "alerts": sum(r.totals.alerts for r in results),
        "alerts_by_label": dict(by_label.most_common()),
    }


def print_summary(summary: dict[str, Any]) -> None:
    """The short human summary of a cycle."""
    console.print(
        f"[bold]{summary['items']}[/] new items ingested, "
        f"[bold]{summary['alerts']}[/] alerts opened"
    )
    for name, ch in summary["channels"].items():
        extra = f" ({ch['skipped'] or ch['error']})" if ch["skipped"] or ch["error"] else ""
        console.print(
            f"  channel {name}: {ch['new_items']} new, {ch['alerts']} alerts, "
            f"health {ch['health']}{extra}"
        )
    if summary["alerts_by_label"]:
        print_table(
            "Alerts by label", ["label", "alerts"], list(summary["alerts_by_label"].items())
        )


def _run_daemon(runtime: Runtime) -> None:
    # Imported here: the daemon brings the scheduler, the web app and every job, which
    # commands that only read the database (and `socmon --help`) do not need.
    from monitor.daemon import Daemon
    from monitor.web.server import WebServerError

    try:
        Daemon(runtime).run_forever()
    except WebServerError as exc:
        raise CommandError(f"{exc} (is another socmon running? set web.port)") from None


def register(app: typer.Typer) -> None:
    """Add the daemon commands to the app."""

    @app.command()
    def demo(
        once: Annotated[
            bool, typer.Option("--once", help="One cycle, print a summary, exit")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """The embedded default: a simulated school Page, SQLite, the moderator UI."""
        settings = load_settings(None)
        runtime = build_runtime(settings)
        try:
            if once:
                results = poll_all(runtime)
                summary = summarise(results)
                summary["database"] = settings.sqlalchemy_url()
                if as_json:
                    print_json(summary)
                else:
                    print_summary(summary)
                    console.print(
                        f"database: {settings.sqlalchemy_url()}\n"
                        "next: [bold]socmon queue list[/] to see the alerts"
                    )
                return
            with transaction(runtime.factory) as session:
                accounts = seed_demo_users(session)
            console.print(
                f"socmon demo: database {settings.sqlalchemy_url()}; polling the simulated "
                f"channel every {int(settings.channels[0].interval.total_seconds())}s."
            )
            if settings.web.enabled:
                console.print(
                    f"moderator web UI: {settings.web.public_url}  (demo accounts, "
                    "new passwords each start)"
                )
                for username, password, role in accounts:
                    console.print(f"  {role:<18} {username:<16} {password}", highlight=False)
            console.print("Ctrl-C stops.")
            _run_daemon(runtime)
        finally:
            runtime.close()

    @app.command()
    def run(config: ConfigOption = None) -> None:
        """The daemon from a config file (--config or $SOCMON_CONFIG)."""
        if config is None:
            raise ConfigError(
                "no config file: pass --config FILE or set SOCMON_CONFIG "
                "(socmon init writes a starter one)"
            )
        runtime = build_runtime(load_settings(config))
        try:
            _run_daemon(runtime)
        finally:
            runtime.close()

    @app.command()
    def init(
        path: Annotated[Path, typer.Argument(help="Where to write the config")] = Path(
            "socmon.yaml"
        ),
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file")] = False,
    ) -> None:
        """Write a starter config (the documented example) and create the database."""
        if path.exists() and not force:
            raise ConfigError(f"{path} exists; pass --force to overwrite it")
        shutil.copyfile(EXAMPLE_YAML, path)
        settings = load(path)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = db.make_engine(settings.sqlalchemy_url())
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
        console.print(f"wrote {path}; database ready at {settings.sqlalchemy_url()}")

    @app.command()
    def poll(
        config: ConfigOption = None,
        channel: Annotated[str | None, typer.Option("--channel", help="Only this channel")] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Poll even a rate-limited or re-auth channel")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """One poll pass now, outside the daemon (rate limits respected unless --force)."""
        runtime = build_runtime(load_settings(config))
        try:
            summary = summarise(poll_all(runtime, only=channel, force=force))
        finally:
            runtime.close()
        if as_json:
            print_json(summary)
        else:
            print_summary(summary)
