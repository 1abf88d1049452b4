"""`socmon run` as a real process: SIGKILL mid-ingest, restart, SIGTERM; nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from monitor.models import Alert, Item, Verdict

BACKLOG = 1500


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "socmon.yaml"
    path.write_text(
        "log_level: DEBUG\n"
        "web: {enabled: false}\n"
        "channels:\n"
        "  - name: demo\n"
        "    platform: demo\n"
        "    interval: 1s\n"
        f"    options: {{initial: {BACKLOG}, batch: 3, page_size: 10}}\n",
        encoding="utf-8",
    )
    return path


def _start(config: Path, database_url: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SOCMON_DATABASE_URL": database_url, "SOCMON_DATA_DIR": str(data_dir)}
    env.pop("SOCMON_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_until(proc: subprocess.Popen[str], marker: str) -> list[str]:
    """Block on the daemon's log until a line contains `marker` (no sleeping)."""
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"daemon exited before logging {marker!r}:\n{''.join(lines[-30:])}")


def test_kill_restart_and_terminate(database_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path)
    data_dir = tmp_path / "data"

    first = _start(config, database_url, data_dir)
    _read_until(first, "page 7 committed")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    engine = create_engine(database_url)
    with engine.connect() as conn:
        after_kill = conn.execute(select(func.count()).select_from(Item)).scalar_one()
    assert 0 < after_kill < BACKLOG

    second = _start(config, database_url, data_dir)
    _read_until(second, "page 3 committed")
    second.send_signal(signal.SIGTERM)
    log = second.communicate(timeout=60)[1]
    assert second.returncode == 0, log
    assert "Traceback" not in log

    third = _start(config, database_url, data_dir)
    _read_until(third, "polled demo")  # the backlog pass finished
    third.send_signal(signal.SIGTERM)
    third.communicate(timeout=60)
    assert third.returncode == 0

    with engine.connect() as conn:
        items = conn.execute(select(func.count()).select_from(Item)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(Item.external_id)))).scalar_one()
        verdicts = conn.execute(select(func.count()).select_from(Verdict)).scalar_one()
        alerts = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
        alerted_items = conn.execute(select(func.count(func.distinct(Alert.item_id)))).scalar_one()
        flagged = conn.execute(
            text("SELECT count(*) FROM verdicts WHERE severity <> 'none'")
        ).scalar_one()
        ids = {int(x.rsplit("-", 1)[1]) for x in conn.execute(select(Item.external_id)).scalars()}
    engine.dispose()
    assert items >= BACKLOG
    assert distinct == items  # nothing stored twice
    assert ids == set(range(len(ids)))  # nothing skipped
    assert verdicts == items  # every item classified exactly once
    assert alerts == alerted_items == flagged  # one alert per flagged item, no duplicates
