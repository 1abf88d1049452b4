"""`socmon demo` as a newcomer meets it: a school's day that ends, logins last, quiet logs."""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from config.loader import DEFAULT_YAML, load
from connectors.demo import STREAMS
from monitor.cli.common import OwnOrWarning
from monitor.demo import LOGINS_FILE
from monitor.models import Alert, Item
from monitor.poller import PollResult, poll_channel
from monitor.runtime import Runtime, build_runtime

DAY = STREAMS["school-day"]
SCHOOL = "Riverside Primary School"
#: what the demo prints once it is ready, first and last line
READY = "socmon demo is ready"
LAST = "Ctrl-C stops."
#: an access-log line as uvicorn writes it
ACCESS = re.compile(r'"(GET|POST|HEAD) \S+ HTTP/1\.[01]" \d{3}')
#: a log line: time, level, logger
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) (\S+):")
OWN = ("monitor", "connectors", "classifiers", "config", "socmon")


def _script() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DAY.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def demo_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The demo's own configuration (config/default.yaml) on the test database."""
    settings = load(DEFAULT_YAML).model_copy(
        update={"data_dir": tmp_path / "data", "database_url": database_url})
    runtime = build_runtime(settings, env={})
    yield runtime
    runtime.close()


def _poll(runtime: Runtime) -> PollResult:
    channel = runtime.settings.channels[0]
    return poll_channel(runtime.factory, name=channel.name,
                        connector=runtime.connectors[channel.name],
                        classifier=runtime.classifier, routing=runtime.settings.routing,
                        owner="test", interval=channel.interval, force=True)


def test_the_script_is_a_varied_day() -> None:
    lines = _script()
    texts = [line["text"] for line in lines]
    assert 30 <= len(texts) <= 60
    assert len(set(texts)) == len(texts)  # no repeated texts
    flagged = {label for line in lines for label in line["expect"]}
    assert {"safeguarding", "threat", "spam"} <= flagged
    assert len(flagged) >= 6
    replies = [line for line in lines if line["author"] == SCHOOL and line["kind"] != "post"]
    assert len(replies) >= 5
    assert all(not line["expect"] for line in lines if line["author"] == SCHOOL)


def test_demo_day_tells_its_story_then_rests(demo_runtime: Runtime) -> None:
    script = _script()
    polls = [_poll(demo_runtime)]
    while polls[-1].totals.new_items:
        polls.append(_poll(demo_runtime))
        assert len(polls) < 20, "the demo channel never ran out"
    *story, rest = polls
    assert sum(p.totals.new_items for p in story) == len(script)
    assert story[0].totals.new_items == 12  # the first screen already has alerts
    assert story[0].totals.alerts > 0
    assert len(story) <= 8  # at the demo's 10 s interval: all of it within about a minute
    assert (rest.totals.new_items, rest.totals.alerts) == (0, 0)

    with demo_runtime.factory() as session:
        rows = session.execute(select(Item, Alert).outerjoin(Alert, Alert.item_id == Item.id)
                               .order_by(Item.id)).all()
        first_alert = session.get_one(Alert, 1)
        first_item = session.get_one(Item, first_alert.item_id)
    flagged = {item.text: set(alert.labels) for item, alert in rows if alert is not None}
    expected = {line["text"]: set(line["expect"]) for line in script if line["expect"]}
    assert flagged == expected
    own = [item for item, _alert in rows if item.is_own]
    assert {item.text for item in own} == {
        line["text"] for line in script if line["author"] == SCHOOL}
    assert all(alert is None for item, alert in rows if item.is_own)  # the school's replies
    # The README's example acts on alert 1: on a fresh database, the day's first spam comment.
    assert first_alert.labels == ["spam"]
    assert first_item.author_name != SCHOOL

    again = _poll(demo_runtime)  # a resting Page: nothing stored, nothing alerted
    assert (again.totals.new_items, again.totals.alerts) == (0, 0)
    with demo_runtime.factory() as session:
        assert len(session.execute(select(Item.id)).all()) == len(script)


# -- the real process ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update(SOCMON_DATA_DIR=str(data_dir), SOCMON_WEB__PORT=str(port), PYTHONUNBUFFERED="1")
    return env


class Output:
    """A process's merged stdout and stderr, line by line, read in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, text: str, *, timeout: float = 180.0) -> list[str]:
        """Lines up to the first containing `text` (no sleeping: blocks on the pipe)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in:\n" + "\n".join(self.lines)) from None
            if line is None:
                raise AssertionError(f"exited before {text!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                return self.lines

    def rest(self, *, timeout: float = 60.0) -> list[str]:
        """Every line until the process exits."""
        self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return self.lines


def _sign_in(base: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/login")
    client.post("/login", data={"username": "demo-moderator", "password": password,
                                "csrftoken": client.cookies.get("csrftoken", ""), "next": "/"})
    return client


def test_socmon_demo_prints_its_logins_last_and_logs_quietly(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "demo"], cwd=tmp_path,
                            env=_env(data_dir, port), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = Output(proc)
    try:
        printed = out.until(LAST)
        # Start-up is over before the logins: the web UI was started and the first poll done.
        ready = next(i for i, line in enumerate(printed) if READY in line)
        before, block = printed[:ready], printed[ready:]
        assert any("web UI on" in line for line in before)
        assert any("polled demo: 1 pages, 12 new items" in line for line in before)
        assert not any(LOG_LINE.match(line) for line in block)  # nothing between the logins
        logins = {m[1]: m[2] for line in block
                  if (m := re.match(r"^\s+\S.*?\s(demo-\S+)\s+(\S+)$", line))}
        assert set(logins) == {"demo-admin", "demo-moderator", "demo-dsl", "demo-manager"}
        assert f"http://127.0.0.1:{port}" in block[0]

        saved = data_dir / LOGINS_FILE
        assert str(saved) in "\n".join(block)
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert all(password in saved.read_text(encoding="utf-8")
                   for password in logins.values())

        # Listening when the logins appear, and the first alerts are there to see.
        client = _sign_in(f"http://127.0.0.1:{port}", logins["demo-moderator"])
        try:
            listed = client.get("/api/v1/alerts")
            assert listed.status_code == 200
            assert listed.json()["alerts"]
            assert client.get("/queue").status_code == 200
        finally:
            client.close()
    finally:
        proc.send_signal(signal.SIGINT)
    lines = out.rest()
    assert proc.returncode == 0, "\n".join(lines)
    after = lines[next(i for i, line in enumerate(lines) if LAST in line) + 1:]
    # Only what the day brings follows the logins: polls, the demo inbox, the stop.
    for line in after:
        match = LOG_LINE.match(line)
        assert match is not None, line
        assert match[2].startswith(OWN), line
    assert not [line for line in lines if ACCESS.search(line)]  # no access log by default
    third_party = [line for line in lines
                   if (m := LOG_LINE.match(line)) and not m[2].startswith(OWN)]
    assert third_party == []
    assert "Traceback" not in "\n".join(lines)


def test_a_busy_port_stops_the_demo_first_and_names_the_setting(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "monitor", "demo"], cwd=tmp_path,
                              env=_env(data_dir, port), capture_output=True, text=True,
                              timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "SOCMON_WEB__PORT" in done.stderr
    assert "web.port" in done.stderr
    assert "demo-moderator" not in done.stdout  # no passwords made, no poll run
    assert "polled" not in done.stderr
    assert not (data_dir / LOGINS_FILE).exists()
    assert not (data_dir / "socmon.sqlite3").exists()


@pytest.mark.parametrize(("name", "level", "shown"), [
    ("fontTools.subset", logging.INFO, False),
    ("uvicorn.access", logging.INFO, False),
    ("uvicorn.error", logging.WARNING, True),
    ("monitor.poller", logging.INFO, True),
    ("connectors.demo", logging.INFO, True),
    ("monitoring_lib", logging.INFO, False),
])
def test_quiet_logs_keep_our_lines_and_other_libraries_warnings(
        name: str, level: int, shown: bool) -> None:
    record = logging.LogRecord(name, level, __file__, 1, "message", None, None)
    assert OwnOrWarning().filter(record) is shown
