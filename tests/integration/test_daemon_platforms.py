"""`socmon run` polls, takes down and verifies on all four platforms' emulators, end to end."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from monitor import db
from monitor.cli import app
from monitor.models import Alert, Channel, Item, TakedownStatus
from tests.integration.conftest import (
    ABUSIVE,
    BENIGN,
    DaemonProcess,
    Rig,
    secrets_env,
    stored_ids,
    write_config,
)

#: the longest a takedown may take to be performed and verified (the worker runs every 1 s)
TAKEDOWN_DEADLINE = 30.0

runner = CliRunner()


@pytest.fixture
def daemon_slot() -> Iterator[list[DaemonProcess]]:
    """Where the test puts its daemon, so a failing test never leaves it running."""
    slot: list[DaemonProcess] = []
    yield slot
    for daemon in slot:
        daemon.kill()


def _socmon(args: list[str], env: dict[str, str]) -> str:
    """Run a socmon command (the same Typer app as the console script); exit 0 expected."""
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def _alert_for(factory: sessionmaker[Session], channel: str, external_id: str) -> int:
    with factory() as session:
        alert_id = session.execute(
            select(Alert.id)
            .join(Item, Item.id == Alert.item_id)
            .join(Channel, Channel.id == Alert.channel_id)
            .where(Channel.name == channel, Item.external_id == external_id)
        ).scalar_one_or_none()
    assert alert_id is not None, f"no alert for the abusive comment on {channel}"
    return alert_id


def _wait_verified(
    factory: sessionmaker[Session], alert_ids: dict[str, int], daemon: DaemonProcess
) -> dict[str, str]:
    """Re-read the alerts until every takedown is verified; a failure ends the wait at once."""
    pause = threading.Event()  # never set: a bounded wait between reads, not a timing sleep
    deadline = time.monotonic() + TAKEDOWN_DEADLINE
    statuses: dict[str, str] = {}
    while True:
        with factory() as session:
            rows = session.execute(
                select(Alert.id, Alert.takedown_status, Alert.takedown_error).where(
                    Alert.id.in_(alert_ids.values())
                )
            ).all()
        by_id = {row.id: (row.takedown_status, row.takedown_error) for row in rows}
        statuses = {name: str(by_id[aid][0]) for name, aid in alert_ids.items()}
        failed = {n: by_id[a][1] for n, a in alert_ids.items() if by_id[a][0] == "failed"}
        assert not failed, f"takedowns failed: {failed}\n{daemon.log}"
        if all(s == TakedownStatus.VERIFIED for s in statuses.values()):
            return statuses
        assert daemon.proc.poll() is None, f"daemon exited:\n{daemon.log}"
        assert time.monotonic() < deadline, f"not verified in time: {statuses}\n{daemon.log}"
        pause.wait(0.2)


def test_all_four_platforms_poll_take_down_and_verify_through_the_daemon(
    database_url: str, tmp_path: Path, rigs: dict[str, Rig], daemon_slot: list[DaemonProcess]
) -> None:
    abusive = {name: rig.publish(ABUSIVE) for name, rig in rigs.items()}
    benign = {name: [rig.publish(text) for text in BENIGN] for name, rig in rigs.items()}
    config = write_config(
        tmp_path / "socmon.yaml", database_url=database_url, data_dir=tmp_path / "data",
        rigs=rigs,
    )
    env = secrets_env(rigs)

    daemon = DaemonProcess.start(config, env)
    daemon_slot.append(daemon)
    polled: set[str] = set()
    while polled != set(rigs):
        found = daemon.wait_for(r"polled (\S+): \d+ pages, (\d+) new items")
        polled.add(found[1])
        assert int(found[2]) > 0, f"{found[1]} stored nothing on its first poll"

    engine = db.make_engine(database_url)
    factory = db.session_factory(engine)
    try:
        for name in rigs:
            assert {abusive[name], *benign[name]} <= stored_ids(factory, name), name
        alert_ids = {name: _alert_for(factory, name, abusive[name]) for name in rigs}
        for name, rig in rigs.items():
            assert not rig.taken_down(abusive[name])
            out = _socmon(
                ["queue", "act", str(alert_ids[name]), rig.takedown.value,
                 "--config", str(config), "--actor", "e2e", "--json"],
                env,
            )
            assert json.loads(out)["state"] == "actioned"

        statuses = _wait_verified(factory, alert_ids, daemon)
        assert set(statuses.values()) == {TakedownStatus.VERIFIED}
    finally:
        engine.dispose()

    for name, rig in rigs.items():
        assert rig.taken_down(abusive[name]), f"{name}: the platform does not show the takedown"
        assert not any(rig.taken_down(b) for b in benign[name]), name

    verified = json.loads(_socmon(["audit", "verify", "--config", str(config), "--json"], env))
    assert verified["ok"] is True
    assert verified["checked"] >= 3 * len(rigs)  # requested, performed, verified per alert

    assert daemon.terminate() == 0, daemon.log
    assert "Traceback" not in daemon.log
    assert "failed" not in daemon.log
    assert ABUSIVE not in daemon.log, "comment text must never reach the INFO log"

