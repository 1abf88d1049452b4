"""SIGKILL the outbox worker mid-takedown twenty times: nothing lost, called or recorded twice.

The worker runs in a child process (tests/backoffice/outbox_worker.py) against the Graph
emulator, which counts every hide, delete and check. The emulator's tap holds each comment's
hide or delete at one of three points, in turn, while the test kills the worker there:

- before_apply: the request has reached the platform, which has not acted yet; it acts
  after the worker is dead (as a platform does with a request already received), before
  the worker is restarted;
- applied: the platform has acted and the worker never gets the answer;
- answered: the worker has the platform's answer and dies before it can mark the entry
  done. The test holds the entry's row (on SQLite the write lock), so the worker cannot
  finish first; on PostgreSQL the kill waits until the worker is blocked on that row, which
  is after anything it commits before finishing the entry (the window of issue 14.4).

After each kill a new worker starts. In the end every takedown must be on the platform once,
verified once and audited once, and the audit chain must verify.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from typer.testing import CliRunner

from connectors.base import Action
from monitor import alerts
from monitor.cli import app
from monitor.db import transaction
from monitor.models import Alert, AuditEvent, OutboxEntry, OutboxStatus, TakedownStatus
from tests.backoffice.takedown_rig import (
    OBJECT_PATH,
    WRITES,
    GraphStack,
    audit_actions,
    open_alerts,
    started_stack,
)
from tests.emulators.server import Phase
from tests.integration.conftest import write_config

KILLS_PER_ACTION = 10
MODES = ("before_apply", "applied", "answered")
#: the longest any one step may take (a worker start, a request, the last verifications)
WAIT = 60.0
ROOT = Path(__file__).resolve().parents[2]


class KillPoints:
    """The emulator's tap: holds each comment's first hide or delete where its mode says."""

    def __init__(self, stack: GraphStack) -> None:
        self.changed = threading.Condition()
        self.held: list[tuple[str, str]] = []
        self.modes: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self.phases: set[tuple[str, Phase]] = set()
        self.release: dict[str, threading.Event] = {}
        stack.rig.graph.tap = self

    def __call__(self, phase: Phase, method: str, path: str) -> None:
        found = OBJECT_PATH.match(path)
        if method not in WRITES or found is None:
            return
        comment = found["id"]
        with self.changed:
            if phase == "received":
                self.requests[comment] += 1
                self.modes.setdefault(comment, MODES[len(self.modes) % len(MODES)])
                self.release.setdefault(comment, threading.Event())
            first = self.requests[comment] == 1
            if first:
                self.phases.add((comment, phase))
            mode = self.modes[comment]
            hold = first and phase == ("received" if mode == "before_apply" else "handled")
            if hold:
                self.held.append((comment, mode))
            self.changed.notify_all()
        if hold:
            self.release[comment].wait(WAIT)

    def next_held(self) -> tuple[str, str]:
        """The next request held for a kill: (comment, mode)."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.held, WAIT), "no takedown reached a kill"
            return self.held.pop(0)

    def wait_phase(self, comment: str, phase: Phase) -> None:
        """Block until the first request on `comment` has passed `phase`."""
        with self.changed:
            assert self.changed.wait_for(lambda: (comment, phase) in self.phases, WAIT), (
                f"the request on {comment} never reached {phase}"
            )


class Worker:
    """The outbox worker as a child process, restarted after each kill."""

    def __init__(self, config: Path, env: dict[str, str], logs: Path) -> None:
        self.config, self.env, self.logs = config, env, logs
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        with (self.logs / f"worker-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.backoffice.outbox_worker", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT,
            )

    def kill(self) -> None:
        """SIGKILL, and reap it (a zombie's pid still looks alive to lock recovery)."""
        assert self.proc is not None
        assert self.proc.poll() is None, self.tail("the worker had already exited")
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)

    def stop(self) -> int:
        """SIGTERM, wait; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)

    def tail(self, message: str) -> str:
        text = (self.logs / f"worker-{self.starts}.log").read_text(errors="replace")
        return message + ":\n" + "\n".join(text.splitlines()[-30:])


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[GraphStack]:
    with started_stack(database_url, tmp_path / "data") as started:
        yield started


def _queue_takedowns(stack: GraphStack) -> dict[str, tuple[int, Action, int]]:
    """Half hides, half deletes, interleaved; comment -> (alert, action, outbox entry)."""
    opened = open_alerts(stack, 2 * KILLS_PER_ACTION)
    with transaction(stack.runtime.factory) as session:
        for i, alert_id in enumerate(opened):
            action = Action.HIDE if i % 2 == 0 else Action.DELETE
            alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=action)
    with stack.runtime.factory() as session:
        entries = {
            int(e.payload["alert_id"]): (Action(e.payload["action"]), e.id)
            for e in session.execute(select(OutboxEntry)).scalars() if e.kind == "takedown"
        }
    return {comment: (alert_id, *entries[alert_id]) for alert_id, comment in opened.items()}


def _wait_until_blocked_by(lock: Connection) -> None:
    """PostgreSQL: poll (bounded) until another session waits for a lock `lock` holds."""
    if lock.dialect.name != "postgresql":
        return  # SQLite cannot say who waits; holding the write lock already stops a commit
    pid = lock.execute(text("SELECT pg_backend_pid()")).scalar_one()
    blocked = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + WAIT
    while not lock.execute(blocked, {"pid": pid}).scalar_one():
        assert time.monotonic() < deadline, "the worker never reached the held entry"
        time.sleep(0.01)  # polling the database's state, bounded by the deadline


def _all_verified(stack: GraphStack, n: int) -> bool:
    with stack.runtime.factory() as session:
        rows = session.execute(select(Alert.takedown_status)).scalars().all()
    return sum(status == TakedownStatus.VERIFIED for status in rows) == n


def test_sigkill_mid_takedown_loses_nothing_and_doubles_nothing(
    stack: GraphStack, tmp_path: Path, database_url: str
) -> None:
    started = time.monotonic()
    targets = _queue_takedowns(stack)
    config = write_config(tmp_path / "socmon.yaml", database_url=database_url,
                          data_dir=tmp_path / "data", rigs={"facebook": stack.rig},
                          log_level="INFO")
    env = {**os.environ, **stack.rig.env()}
    env.pop("SOCMON_CONFIG", None)
    points = KillPoints(stack)
    worker = Worker(config, env, tmp_path)
    worker.start()
    kills: Counter[str] = Counter()
    try:
        for _ in range(len(targets)):
            comment, mode = points.next_held()
            if mode == "answered":
                # Hold what the worker must write to record the answer, let the answer go,
                # and kill it once the answer is on its way: it cannot have recorded it.
                with stack.runtime.engine.connect() as lock:
                    lock.execute(select(OutboxEntry.id)
                                 .where(OutboxEntry.id == targets[comment][2])
                                 .with_for_update())
                    points.release[comment].set()
                    points.wait_phase(comment, "sent")
                    _wait_until_blocked_by(lock)
                    worker.kill()
                    lock.rollback()
            else:
                worker.kill()
                points.release[comment].set()
                if mode == "before_apply":
                    points.wait_phase(comment, "handled")  # the platform acted after the kill
            kills[mode] += 1
            worker.start()
        deadline = time.monotonic() + WAIT
        while not _all_verified(stack, len(targets)):
            assert time.monotonic() < deadline, worker.tail("takedowns still unverified")
            time.sleep(0.1)  # polling the database's state, bounded by the deadline
        assert worker.stop() == 0, worker.tail("the worker did not stop cleanly")
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()
        for event in points.release.values():
            event.set()

    writes = stack.writes()
    audited = audit_actions(stack)
    with stack.runtime.factory() as session:
        statuses = Counter((e.kind, e.status)
                           for e in session.execute(select(OutboxEntry)).scalars())
        outcomes = Counter(
            details["outcome"] for details in session.execute(
                select(AuditEvent.details).where(AuditEvent.action.in_(
                    ["takedown.hide", "takedown.delete"]))
            ).scalars()
        )
    summary = {
        "lost": sorted(c for c in targets if not stack.rig.taken_down(c)),
        "duplicate platform calls": {c: n for c, n in writes.items() if n > 1},
        "duplicate audit events": {k: n for k, n in audited.items() if n > 1},
        "missing audit events": sorted(
            (alert_id, action) for alert_id, a, _ in targets.values()
            for action in (f"alert.{a.value}", f"takedown.{a.value}", "takedown.verified")
            if audited[(alert_id, action)] == 0
        ),
    }
    print(f"\ncrash test ({stack.runtime.engine.dialect.name}): {sum(kills.values())} kills "
          f"{dict(kills)}, {worker.starts} worker starts, hide+delete calls "
          f"{sum(writes.values())} for {len(targets)} takedowns, duplicate audit events "
          f"{sum(n - 1 for n in audited.values() if n > 1)}, checks "
          f"{sum(stack.calls('GET').values())}, outcomes {dict(outcomes)}, "
          f"{time.monotonic() - started:.1f} s")
    assert summary == {"lost": [], "duplicate platform calls": {},
                       "duplicate audit events": {}, "missing audit events": []}
    assert kills == {mode: len(targets) // len(MODES) + (i < len(targets) % len(MODES))
                     for i, mode in enumerate(MODES)}
    assert statuses == {("takedown", OutboxStatus.DONE): len(targets),
                        ("verify", OutboxStatus.DONE): len(targets)}
    result = CliRunner().invoke(app, ["audit", "verify", "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
