"""What a first-time user meets: `socmon demo` from start to the first alert in the web UI.

    .venv/bin/python -m bench.demo_start [--seconds 60] [--browse-every 5] [--show]

Runs `python -m monitor demo` as a real process on a free port with a fresh data directory
(stdout and stderr together, unbuffered, as a terminal shows them) and reports:

- `logins_s`: seconds from start until the demo-moderator's password has been printed;
- `first_alert_web_s`: seconds from start until the moderator, signed in with that password,
  sees at least one alert through the web UI (the database is watched first, so the web UI
  is asked only once there is an alert to see: two or three requests in all);
- `lines`: lines printed in the first `--seconds`, and how many of them are access-log lines,
  third-party log lines, and the demo's own poll lines. With `--browse-every N` a person
  clicks around from the first alert on (the queue page with its assets and an alert every
  N seconds, one evidence pack), as the walk-through in issue 16 did.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.report import emit

ROOT = Path(__file__).resolve().parents[1]
ACCESS = re.compile(r'"(GET|POST|HEAD) \S+ HTTP/1\.[01]" \d{3}')
PASSWORD = re.compile(r"demo-moderator\s+(\S+)")
OURS = ("monitor.", "connectors.", "classifiers.", "config.", "socmon")


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Output:
    """Every line the demo prints, with the second it arrived."""

    def __init__(self, proc: subprocess.Popen[str], start: float) -> None:
        self.lines: list[tuple[float, str]] = []
        self.start = start
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append((time.monotonic() - self.start, line.rstrip("\n")))

    def password(self) -> tuple[float, str] | None:
        for at, line in list(self.lines):
            match = PASSWORD.search(line)
            if match:
                return at, match.group(1)
        return None

    def join(self) -> None:
        self._thread.join(timeout=30)


def alerts_in_database(path: Path) -> int:
    """Alerts committed so far (0 while the database or its tables do not exist yet)."""
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM alerts").fetchone()[0])
    except sqlite3.Error:
        return 0


def sign_in(base: str, password: str) -> httpx.Client:
    """A client signed in as the demo moderator."""
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/login")
    token = client.cookies.get("csrftoken", "")
    client.post("/login", data={"username": "demo-moderator", "password": password,
                                "csrftoken": token, "next": "/"})
    return client


def web_alerts(client: httpx.Client) -> list[int]:
    """The ids of the alerts the JSON API lists to the signed-in user."""
    listed = client.get("/api/v1/alerts")
    listed.raise_for_status()
    body: Any = listed.json()
    return [int(a["id"]) for a in body["alerts"]]


def browse(client: httpx.Client, alert_ids: list[int], step: int) -> None:
    """What a person clicking around does: the queue with its assets, an alert, a pack."""
    for path in ("/queue", "/static/app.css", "/static/app.js"):
        client.get(path)
    client.get(f"/alerts/{alert_ids[step % len(alert_ids)]}")
    if step == 0:  # the first pack the moderator may take (safeguarding ones are the DSL's)
        for alert in alert_ids:
            if client.get(f"/alerts/{alert}/evidence.zip").status_code == 200:
                break


def classify(line: str) -> str:
    """access, third-party, poll, or other."""
    if ACCESS.search(line):
        return "access_log"
    parts = line.split()
    if len(parts) >= 4 and parts[2] in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        name = parts[3].rstrip(":")
        if not name.startswith(OURS):
            return "third_party"
        if name.startswith("monitor.poller"):
            return "poll"
    return "other"


def measure(seconds: float, browse_every: float, *, show: bool, root: Path) -> dict[str, Any]:
    """One run of the demo on a fresh data directory."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
        env.update(SOCMON_DATA_DIR=str(data), SOCMON_WEB__PORT=str(port), PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(root), COLUMNS="120")
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "demo"], cwd=tmp, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = Output(proc, start)
        first_alert: float | None = None
        logins: float | None = None
        client: httpx.Client | None = None
        alert_ids: list[int] = []
        steps = 0
        try:
            while time.monotonic() - start < seconds and proc.poll() is None:
                found = out.password()
                if found and logins is None:
                    logins = found[0]
                if (first_alert is None and found
                        and alerts_in_database(data / "socmon.sqlite3") > 0):
                    try:
                        client = client or sign_in(f"http://127.0.0.1:{port}", found[1])
                        alert_ids = web_alerts(client)
                        if alert_ids:
                            first_alert = time.monotonic() - start
                    except httpx.HTTPError:
                        pass
                if (client and alert_ids and browse_every
                        and time.monotonic() - start >= first_alert + steps * browse_every):
                    browse(client, alert_ids, steps)
                    steps += 1
                time.sleep(0.2)
        finally:
            if client is not None:
                client.close()
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            out.join()
    window = [line for at, line in out.lines if at <= seconds]
    kinds: dict[str, int] = {}
    for line in window:
        kinds[classify(line)] = kinds.get(classify(line), 0) + 1
    return {
        "logins_s": None if logins is None else round(logins, 1),
        "first_alert_web_s": None if first_alert is None else round(first_alert, 1),
        "window_s": seconds,
        "browse_every_s": browse_every,
        "lines": len(window),
        "lines_by_kind": dict(sorted(kinds.items())),
        **({"printed": window} if show else {}),
    }


def main() -> None:
    """Parse arguments, run once, emit the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--browse-every", type=float, default=0.0,
                        help="after the first alert, browse like a person every N seconds "
                        "(the queue with its assets and an alert; the first time an evidence "
                        "pack too); 0: only the one check")
    parser.add_argument("--show", action="store_true", help="include every line printed")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose socmon runs (to compare with another one)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    emit(measure(args.seconds, args.browse_every, show=args.show, root=args.root), args.out)


if __name__ == "__main__":
    main()
