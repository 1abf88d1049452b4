"""A name imported while the daemon runs protects its next poll (issue 15), no restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from classifiers.base import Label
from config.settings import ChannelConfig, Settings
from monitor.daemon import Daemon
from monitor.db import transaction
from monitor.models import ChannelState, Item, Verdict
from monitor.runtime import build_runtime

#: two comments naming the same pupil; the demo channel releases one per poll
COMMENTS = ["Amelia Richardson was crying at the gate today",
            "Amelia Richardson was crying at the gate again"]


def _stream(path: Path) -> Path:
    path.write_text("".join(json.dumps({"kind": "comment", "post": 0, "author": "a parent",
                                        "text": t}) + "\n" for t in COMMENTS),
                    encoding="utf-8")
    return path


def _names_import(settings: Settings, roster: Path) -> None:
    """`socmon names import` in its own process, as an administrator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": settings.database_url or "",
                "SOCMON_DATA_DIR": str(settings.data_dir)})
    done = subprocess.run([sys.executable, "-m", "monitor", "names", "import", str(roster)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def _labels(factory: sessionmaker[Session], text: str) -> set[str]:
    with factory() as session:
        row = session.execute(select(Verdict).join(Item, Item.id == Verdict.item_id)
                              .where(Item.text == text)).scalar_one()
        return set(row.labels)


def test_a_name_imported_while_running_protects_the_next_poll(settings: Settings,
                                                               tmp_path: Path) -> None:
    channel = ChannelConfig(name="demo", platform="demo", options={
        "stream_path": str(_stream(tmp_path / "stream.jsonl")), "initial": 1, "batch": 1,
        "page_size": 1, "repeat": False})
    runtime = build_runtime(settings.model_copy(update={"channels": [channel]}), env={})
    try:
        daemon = Daemon(runtime)
        assert daemon.poll("demo") is not None
        assert Label.IDENTIFYING.value not in _labels(runtime.factory, COMMENTS[0])

        roster = tmp_path / "roster.csv"
        roster.write_text("first_name,last_name,role,aliases\nAmelia,Richardson,pupil,\n",
                          encoding="utf-8")
        _names_import(settings, roster)

        with transaction(runtime.factory) as session:  # the channel's next poll falls due
            session.execute(update(ChannelState).values(next_poll_at=None))
        assert daemon.poll("demo") is not None
        assert Label.IDENTIFYING.value in _labels(runtime.factory, COMMENTS[1])
    finally:
        runtime.close()
