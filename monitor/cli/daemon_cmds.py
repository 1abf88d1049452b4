"""`socmon demo`, `run`, `init` and `poll`: the daemon and one-off passes."""

from __future__ import annotations

import shutil
import socket
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from config.loader import DEFAULT_YAML, ConfigError, load
from config.settings import Settings
from monitor import db
from monitor import demo as demo_extras
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
VerboseOption = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Also log every web request and other libraries' INFO lines")]


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


def take_port(settings: Settings) -> socket.socket | None:
    """The web UI's socket, taken before anything else: a busy port stops socmon at once."""
    # Imported here, as in _run_daemon: the web app is for the daemon commands only.
    from monitor.web.server import WebServerError, listen

    if not settings.web.enabled:
        return None
    try:
        return listen(settings.web.host, settings.web.port)
    except WebServerError as exc:
        raise CommandError(str(exc)) from None


def _demo_once(settings: Settings, *, as_json: bool) -> None:
    runtime = build_runtime(settings)
    try:
        summary = summarise(poll_all(runtime))
    finally:
        runtime.close()
    summary["database"] = settings.sqlalchemy_url()
    if as_json:
        print_json(summary)
        return
    print_summary(summary)
    console.print(
        f"database: {settings.sqlalchemy_url()}\n"
        "next: [bold]socmon queue list[/] to see the alerts"
    )


def _start(settings: Settings) -> tuple[Runtime, socket.socket | None]:
    """Take the web UI's port first, then open the database: a busy port costs nothing."""
    sock = take_port(settings)
    try:
        return build_runtime(settings), sock
    except BaseException:
        if sock is not None:
            sock.close()
        raise


def _run_daemon(runtime: Runtime, sock: socket.socket | None,
                on_ready: Callable[[], None] | None = None) -> None:
    # Imported here: the daemon brings the scheduler, the web app and every job, which
    # commands that only read the database (and `socmon --help`) do not need.
    from monitor.daemon import Daemon
    from monitor.web.server import WebServerError

    try:
        Daemon(runtime).run_forever(sock=sock, on_ready=on_ready)
    except WebServerError as exc:
        raise CommandError(str(exc)) from None


def print_logins(settings: Settings, accounts: Sequence[tuple[str, str, str]],
                 logins_file: Path) -> None:
    """The block a newcomer needs, printed in one write once the demo is ready: the last lines."""
    if not settings.web.enabled:
        lines = ["", f"socmon demo is ready (web.enabled is false: no web UI; the logins are "
                     f"in {logins_file})"]
    else:
        lines = ["", f"socmon demo is ready: open {settings.web.public_url} and sign in "
                     "(new passwords each start)"]
        lines += [f"  {row}" for row in demo_extras.login_table(accounts)]
        lines.append(f"The logins are also in {logins_file} (readable only by you).")
    lines.append("The school's day arrives over the next minute; then the Page rests. "
                 "Ctrl-C stops.")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add the daemon commands to the app."""

    @app.command()
    def demo(
        once: Annotated[
            bool, typer.Option("--once", help="One cycle, print a summary, exit")
        ] = False,
        as_json: JsonOption = False,
        verbose: VerboseOption = False,
    ) -> None:
        """The embedded default: a simulated school Page, SQLite, the moderator UI."""
        settings = load_settings(None, verbose=verbose)
        if once:
            _demo_once(settings, as_json=as_json)
            return
        settings = demo_extras.use_inbox(settings)
        runtime, sock = _start(settings)
        try:
            with transaction(runtime.factory) as session:
                accounts = seed_demo_users(session)
            logins = demo_extras.write_logins(settings.data_dir, url=settings.web.public_url,
                                              accounts=accounts)
            console.print(f"socmon demo: starting a simulated school Page (data in "
                          f"{settings.data_dir}) ...", highlight=False, soft_wrap=True)
            _run_daemon(runtime, sock, lambda: print_logins(settings, accounts, logins))
        finally:
            if sock is not None:
                sock.close()
            runtime.close()

    @app.command()
    def run(config: ConfigOption = None, verbose: VerboseOption = False) -> None:
        """The daemon from a config file (--config or $SOCMON_CONFIG)."""
        if config is None:
            raise ConfigError(
                "no config file: pass --config FILE or set SOCMON_CONFIG "
                "(socmon init writes a starter one)"
            )
        runtime, sock = _start(load_settings(config, verbose=verbose))
        try:
            _run_daemon(runtime, sock)
        finally:
            if sock is not None:
                sock.close()
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
