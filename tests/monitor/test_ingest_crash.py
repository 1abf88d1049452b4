"""SIGKILL `socmon run` twenty times mid-ingest: nothing lost, nothing doubled, the chain intact.

A demo channel publishes a backlog of BACKLOG comments at once (pages of PAGE_SIZE, one commit
each) and nothing after, so the expected store is known exactly: ids 0 to BACKLOG - 1, each
once, each with one verdict, one alert per flagged verdict, one `alert.open` event and one
evidence snapshot per alert. The daemon is killed with SIGKILL at one of three points, in
turn, and restarted each time:

- committed: as soon as it logs that page k of its pass committed (k = 1, 2, 3 in turn):
  the next page is then being fetched, classified or written;
- uncommitted: the test holds the channel's `channel_state` row (SQLite: the write lock)
  once page k committed. On PostgreSQL the kill waits until the daemon's page transaction
  is blocked on that row, which is its last write: the page's items, verdicts, alerts,
  audit events and evidence are written but not committed. On SQLite the daemon cannot
  begin its next page while the test holds the lock;
- starting: as soon as the restarted daemon logs that it started, while it recovers the
  dead process's lease and starts its first page.

After every kill the committed state must be whole (items == the cursor's position, one
verdict each, one alert per flagged verdict) and the pass unfinished. Then one more daemon is
stopped with SIGTERM mid-pass (it must finish its page and exit 0), and a last one, the plain
`python -m monitor run`, finishes the backlog. The first daemon is the plain command too; the
others are warm forks (tests/monitor/daemons.py) so that twenty restarts fit in seconds.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from monitor.cli import app
from monitor.models import (
    Alert,
    AuditEvent,
    ChannelHealth,
    ChannelState,
    Evidence,
    Item,
    QuarantinedItem,
    Verdict,
)
from tests.monitor.daemons import Daemon, fork_server

pytestmark = pytest.mark.slow

BACKLOG = 600
PAGE_SIZE = 10
KILLS = 20
MODES = ("committed", "uncommitted", "starting")
#: the kill points in order: (mode, page k of the daemon's pass)
SCHEDULE = [(MODES[i % len(MODES)], 1 + (i // len(MODES)) % 3) for i in range(KILLS)]
#: the longest any one step may take (a cold start on a busy machine, a page, a shutdown)
WAIT = 90.0


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "socmon.yaml"
    path.write_text(
        "log_level: DEBUG\n"  # the page markers are DEBUG lines
        "web: {enabled: false}\n"
        "channels:\n"
        "  - name: demo\n"
        "    platform: demo\n"
        "    interval: 1s\n"
        f"    options: {{initial: {BACKLOG}, batch: 0, page_size: {PAGE_SIZE}}}\n",
        encoding="utf-8",
    )
    return path


def _committed(engine: Engine) -> dict[str, int]:
    """What the database holds, as counts the crash must keep consistent."""
    with engine.connect() as conn:
        cursor = conn.execute(select(ChannelState.cursor)).scalar_one()
        position = json.loads(cursor)["state"]["pos"] if cursor else 0
        flagged = conn.execute(text("SELECT count(*) FROM verdicts WHERE severity <> 'none'"))
        return {
            "position": position,
            "items": conn.execute(select(func.count()).select_from(Item)).scalar_one(),
            "verdicts": conn.execute(select(func.count()).select_from(Verdict)).scalar_one(),
            "flagged": flagged.scalar_one(),
            "alerts": conn.execute(select(func.count()).select_from(Alert)).scalar_one(),
            "opened": conn.execute(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "alert.open")).scalar_one(),
            "evidence": conn.execute(select(func.count()).select_from(Evidence)).scalar_one(),
        }


def _whole(counts: dict[str, int]) -> dict[str, int]:
    """The counts a consistent state must have, given how far its cursor says it got."""
    return {**counts, "items": counts["position"], "verdicts": counts["position"],
            "alerts": counts["flagged"], "opened": counts["flagged"],
            "evidence": counts["flagged"]}


def _kill_mid_page(engine: Engine, daemon: Daemon) -> str:
    """Kill the daemon inside a page's transaction, as far as the database lets us see it;
    says where it was."""
    with engine.connect() as lock:
        if lock.dialect.name == "postgresql":
            # Hold the channel's row, which the page writes last, and kill once the page
            # waits for it: everything else the page writes is written, nothing committed.
            lock.execute(select(ChannelState.channel_id).with_for_update())
            _wait_until_page_blocked(lock)
            daemon.kill(timeout=WAIT)
            lock.rollback()
            return "blocked on its last write"
        # SQLite has one write lock, taken when a page begins. A writer waiting for it loses
        # every race to a daemon committing page after page, so the test only asks once,
        # without waiting: refused means a page transaction is open right now.
        lock.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            lock.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError:
            daemon.kill(timeout=WAIT)
            return "inside its page transaction"
        daemon.kill(timeout=WAIT)  # it cannot begin its next page meanwhile
        lock.rollback()
        return "waiting to begin its page"


def _wait_until_page_blocked(lock: Connection) -> None:
    """PostgreSQL: poll (bounded) until the daemon's page transaction waits for our lock.

    The waiter that has written something (it has a transaction id) is the page: it writes
    the channel's row last, after the page's items, verdicts, alerts and events. Starting a
    pass and renewing the lease also wait for the row, but have written nothing.
    """
    pid = lock.execute(text("SELECT pg_backend_pid()")).scalar_one()
    blocked = text(
        "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid)) "
        "AND backend_xid IS NOT NULL"
    )
    deadline = time.monotonic() + WAIT
    while True:
        # pg_stat_activity is a snapshot kept for the rest of the transaction: drop it.
        lock.execute(text("SELECT pg_stat_clear_snapshot()"))
        if lock.execute(blocked, {"pid": pid}).scalar_one():
            return
        assert time.monotonic() < deadline, "the daemon's page never waited for the lock"
        time.sleep(0.01)  # polling the database's state, bounded by the deadline


def test_sigkill_mid_ingest_loses_nothing_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    config = _config(tmp_path)
    argv = ["run", "--config", str(config)]
    env = {**os.environ, "SOCMON_DATABASE_URL": database_url,
           "SOCMON_DATA_DIR": str(tmp_path / "data")}
    env.pop("SOCMON_CONFIG", None)
    engine = create_engine(database_url)
    daemons: list[Daemon] = []
    after_kill: list[dict[str, int]] = []
    kills: Counter[str] = Counter()
    where: Counter[str] = Counter()
    # The fork server imports socmon while the first (cold) daemon starts.
    with fork_server():
        try:
            for number, (mode, page) in enumerate(SCHEDULE):
                daemon = (Daemon.cold if number == 0 else Daemon.warm)(argv, env)
                daemons.append(daemon)
                if mode == "starting":
                    daemon.wait_for("socmon daemon started", timeout=WAIT)
                    daemon.kill(timeout=WAIT)
                elif mode == "committed":
                    daemon.wait_for(rf"page {page} committed", timeout=WAIT)
                    daemon.kill(timeout=WAIT)
                else:
                    daemon.wait_for(rf"page {page} committed", timeout=WAIT)
                    where[_kill_mid_page(engine, daemon)] += 1
                kills[mode] += 1
                counts = _committed(engine)
                after_kill.append(counts)
                assert counts == _whole(counts), f"kill {number + 1} ({mode}) left a torn page"
                assert counts["position"] < BACKLOG, f"kill {number + 1} came after the backlog"

            # A clean stop mid-pass: the page in hand is finished, the lease given back.
            stopping = Daemon.warm(argv, env)
            daemons.append(stopping)
            stopping.wait_for("page 2 committed", timeout=WAIT)
            assert stopping.terminate(timeout=WAIT) == 0, stopping.tail("SIGTERM: not exit 0")
            assert "socmon daemon stopped" in stopping.log
            stopped = _committed(engine)
            assert stopped == _whole(stopped)
            assert stopped["position"] < BACKLOG

            # The plain command finishes the backlog.
            last = Daemon.cold(argv, env)
            daemons.append(last)
            last.wait_for(r"polled demo: ", timeout=WAIT)
            assert last.terminate(timeout=WAIT) == 0, last.tail("SIGTERM: not exit 0")
        finally:
            for daemon in daemons:
                daemon.stop()

    with engine.connect() as conn:
        ids = Counter(conn.execute(select(Item.external_id)).scalars())
        verdicts = Counter(conn.execute(select(Verdict.item_id)).scalars())
        alerted = Counter(conn.execute(select(Alert.item_id)).scalars())
        events = Counter(tuple(row) for row in conn.execute(
            select(AuditEvent.action, AuditEvent.target_type, AuditEvent.target_id)))
        snapshots = Counter(conn.execute(select(Evidence.alert_id)).scalars())
        quarantined = conn.execute(select(func.count()).select_from(QuarantinedItem)).scalar_one()
        state = conn.execute(select(ChannelState.health, ChannelState.lease_owner)).one()
    final = _committed(engine)
    dialect = engine.dialect.name
    engine.dispose()
    summary = {
        "missing": sorted(set(range(BACKLOG)) - {int(i.rsplit("-", 1)[1]) for i in ids}),
        "unexpected": sorted(i for i in ids if int(i.rsplit("-", 1)[1]) >= BACKLOG),
        "duplicate items": {i: n for i, n in ids.items() if n > 1},
        "duplicate verdicts": {i: n for i, n in verdicts.items() if n > 1},
        "duplicate alerts": {i: n for i, n in alerted.items() if n > 1},
        "duplicate events": {e: n for e, n in events.items() if n > 1},
        "duplicate snapshots": {a: n for a, n in snapshots.items() if n > 1},
    }
    logs = "".join(d.log for d in daemons)
    recovered = sum("recovered 1 poll leases" in d.log for d in daemons)
    print(f"\ningest crash test ({dialect}): {sum(kills.values())} kills {dict(kills)}, "
          f"{len(daemons)} daemons ({sum(d.kind == 'cold' for d in daemons)} cold), "
          f"{recovered} recovered the dead lease; uncommitted kills {dict(where)}; "
          f"items at each kill {[c['position'] for c in after_kill]}; final {final}; "
          f"{time.monotonic() - started:.1f} s")
    assert summary == {"missing": [], "unexpected": [], "duplicate items": {},
                       "duplicate verdicts": {}, "duplicate alerts": {},
                       "duplicate events": {}, "duplicate snapshots": {}}
    assert final == _whole(final)
    assert final["position"] == BACKLOG
    assert len(verdicts) == BACKLOG
    assert kills == {"committed": 7, "uncommitted": 7, "starting": 6}
    assert quarantined == 0
    assert state == (ChannelHealth.OK, None)
    assert "Traceback" not in logs
    assert " ERROR " not in logs
    result = CliRunner().invoke(app, ["audit", "verify", "--json", "--config", str(config)],
                                env=env)
    assert result.exit_code == 0, result.output
    verified = json.loads(result.stdout)
    assert verified["ok"]
    assert verified["checked"] == sum(events.values())
