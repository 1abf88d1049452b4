"""Three `socmon run` replicas on one PostgreSQL schema; the lease holder is SIGKILLed mid-pass.

The replicas start together (so they migrate the empty schema and register the channel
concurrently), one of them takes the demo channel's poll lease for its 30-page backlog, and
is killed with SIGKILL after a few pages. Another replica must carry on within 60 s (once the
dead holder's lease has expired, and not before), and in the end nothing is stored, classified
or alerted twice and the audit chain verifies.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, func, select

from monitor.models import Alert, AuditEvent, ChannelState, Item, Verdict, utcnow
from tests.conftest import PG_URL
from tests.integration.conftest import DaemonProcess

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set SOCMON_TEST_DATABASE_URL"),
    pytest.mark.slow,
]

REPLICAS = 3
BACKLOG = 300
PAGE_SIZE = 10
#: the poll lease the replicas run with (`poll_lease`; 45 s by default)
LEASE_SECONDS = 8
#: how long another replica may take to carry on after the kill
TAKEOVER_DEADLINE = 60.0


@dataclass
class ChannelSnapshot:
    """The demo channel's state row at one moment."""

    cursor: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_success_at: datetime | None


def _snapshot(engine: Engine) -> ChannelSnapshot:
    with engine.connect() as conn:
        row = conn.execute(select(ChannelState.cursor, ChannelState.lease_owner,
                                  ChannelState.lease_expires_at,
                                  ChannelState.last_success_at)).one()
    return ChannelSnapshot(*row)


def _wait_for_state(engine: Engine, what: str, ok: object, *,
                    timeout: float) -> tuple[ChannelSnapshot, float]:
    """Block until `ok(snapshot)` holds (checked every 50 ms); the snapshot and when it held."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        snapshot = _snapshot(engine)
        if ok(snapshot):  # type: ignore[operator]
            return snapshot, time.monotonic()
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s: {snapshot}"
        pause.wait(0.05)


def _config(path: Path, database_url: str) -> Path:
    config = {
        "log_level": "DEBUG",  # each committed page is logged
        "database_url": database_url,
        "poll_lease": f"{LEASE_SECONDS}s",
        # Each replica serves the web UI too (on a port of its own), as in production.
        "web": {"enabled": True, "host": "127.0.0.1", "port": 0},
        "notifications": {"enabled": False},
        "digest": {"enabled": False},
        "channels": [{"name": "demo", "platform": "demo", "interval": "1s",
                      "options": {"initial": BACKLOG, "batch": 1, "page_size": PAGE_SIZE}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_lease_holder_is_taken_over_and_nothing_is_doubled(
        database_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path / "socmon.yaml", database_url)
    engine = create_engine(database_url)
    started = time.monotonic()
    replicas = [DaemonProcess.start(config, {"SOCMON_DATA_DIR": str(tmp_path / f"replica-{i}")})
                for i in range(REPLICAS)]
    try:
        for replica in replicas:
            replica.wait_for(r"socmon daemon started", timeout=90)
        all_started = time.monotonic() - started

        # The replica that won the lease works through the backlog, 30 pages of 10.
        state, _ = _wait_for_state(engine, "a replica took the lease",
                                   lambda s: s.lease_owner is not None, timeout=30)
        owners = {f"{socket.gethostname()}-{r.proc.pid}": r for r in replicas}
        holder = owners[state.lease_owner or ""]
        holder.wait_for(r"channel demo: page 2 committed", timeout=30)
        holder.proc.send_signal(signal.SIGKILL)
        holder.proc.wait(timeout=30)
        killed_at, killed_mono = utcnow(), time.monotonic()

        at_kill = _snapshot(engine)
        assert at_kill.lease_owner == state.lease_owner, "the kill missed the pass"
        assert at_kill.lease_expires_at is not None
        assert at_kill.lease_expires_at > killed_at, "the lease had already run out"
        position = json.loads(at_kill.cursor or "{}")["state"]
        assert position["pos"] < position["released"] == BACKLOG, "the kill missed the pass"

        # Another replica commits the next page once the dead holder's lease has expired ...
        taken, taken_mono = _wait_for_state(
            engine, "another replica committed a page", lambda s: s.cursor != at_kill.cursor,
            timeout=TAKEOVER_DEADLINE)
        takeover = taken_mono - killed_mono
        assert taken.lease_owner in set(owners) - {state.lease_owner}
        # ... and finishes the pass.
        _, done_mono = _wait_for_state(
            engine, "the pass finished",
            lambda s: s.last_success_at is not None and s.last_success_at > killed_at,
            timeout=TAKEOVER_DEADLINE - (time.monotonic() - killed_mono))
        survivors = [r for r in replicas if r is not holder]
        for replica in survivors:
            assert replica.terminate() == 0, replica.log
    finally:
        for replica in replicas:
            replica.kill()

    for replica in replicas:
        assert "Traceback" not in replica.log, replica.log
        assert " ERROR " not in replica.log, replica.log
    print(f"\nreplicas: all {REPLICAS} started in {all_started:.1f} s; holder killed after page "
          f"{position['pos'] // PAGE_SIZE} of {BACKLOG // PAGE_SIZE} with "
          f"{(at_kill.lease_expires_at - killed_at).total_seconds():.1f} s of lease left; "
          f"next page committed {takeover:.1f} s after the kill, pass finished after "
          f"{done_mono - killed_mono:.1f} s (lease {LEASE_SECONDS} s)")

    with engine.connect() as conn:
        items = conn.execute(select(func.count()).select_from(Item)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(Item.external_id)))).scalar_one()
        verdicts = conn.execute(select(func.count()).select_from(Verdict)).scalar_one()
        judged = conn.execute(select(func.count(func.distinct(Verdict.item_id)))).scalar_one()
        alerts = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
        alerted = conn.execute(select(func.count(func.distinct(Alert.item_id)))).scalar_one()
        flagged = conn.execute(select(func.count()).select_from(Verdict)
                               .where(Verdict.severity != "none")).scalar_one()
        events = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        fetched = {int(x.rsplit("-", 1)[1]): at for x, at in conn.execute(
            select(Item.external_id, Item.fetched_at))}
    engine.dispose()
    ids = set(fetched)
    # The first page after the kill was stored once the dead holder's lease had run out.
    resumed = min(at for i, at in fetched.items() if i >= position["pos"])
    assert resumed >= at_kill.lease_expires_at, "a live lease was taken over"
    assert items >= BACKLOG
    assert distinct == items  # nothing stored twice
    assert ids == set(range(items))  # nothing skipped
    assert verdicts == judged == items  # every item classified exactly once
    assert alerts == alerted == flagged > 0  # one alert per flagged item

    env = {**os.environ, "SOCMON_DATA_DIR": str(tmp_path / "verify")}
    env.pop("SOCMON_CONFIG", None)
    verify = subprocess.run([sys.executable, "-m", "monitor", "audit", "verify", "--json",
                             "--config", str(config)], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    result = json.loads(verify.stdout)
    assert result["ok"] is True
    assert result["checked"] == events
