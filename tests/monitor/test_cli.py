"""The CLI as a newcomer meets it: `demo --once`, the queue, acting, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from config.settings import Settings


def _socmon(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": settings.database_url or "",
                "SOCMON_DATA_DIR": str(settings.data_dir)})
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_demo_once_then_queue_and_act(settings: Settings) -> None:
    done = _socmon(["demo", "--once", "--json"], settings)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["items"] == 12  # the school day's first poll
    assert summary["alerts"] > 0
    assert sum(summary["alerts_by_label"].values()) >= summary["alerts"]
    assert set(summary["alerts_by_label"]) <= {
        "safeguarding", "threat", "identifying", "hate", "abuse", "sexual", "spam", "profanity"}

    human = _socmon(["demo", "--once"], settings)  # a second cycle: only new items
    assert human.returncode == 0
    assert "new items ingested" in human.stdout

    listed = json.loads(_socmon(["queue", "list", "--json", "--limit", "500"], settings).stdout)
    assert listed
    assert all(a["state"] == "new" for a in listed)
    ranks = {"critical": 3, "high": 2, "low": 1}
    severities = [ranks[a["severity"]] for a in listed]
    assert severities == sorted(severities, reverse=True)  # most severe first
    for alert in listed:  # safeguarding text never shows in lists
        if "safeguarding" in alert["labels"]:
            assert alert["text"].startswith("[safeguarding item")

    # The README's example: find the spam comment's id, hide it (alert 1 on a fresh database).
    spam = json.loads(_socmon(["queue", "list", "--label", "spam", "--json"], settings).stdout)
    assert [a["id"] for a in spam][:1] == [1]
    assert spam[0]["author"] != "Riverside Primary School"
    hidden = _socmon(["queue", "act", "1", "hide", "--json"], settings)
    assert hidden.returncode == 0, hidden.stderr
    assert json.loads(hidden.stdout)["state"] == "actioned"
    listed = [a for a in listed if a["id"] != 1]
    exported = _socmon(["evidence", "export", "1"], settings)
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == ""  # no library's INFO lines (fontTools wrote 75 per pack)
    assert (settings.data_dir / "exports" / "evidence-1.zip").is_file()

    target = listed[-1]["id"]
    acted = _socmon(["queue", "act", str(target), "dismiss", "--reason", "false_positive",
                     "--json"], settings)
    assert acted.returncode == 0, acted.stderr
    assert json.loads(acted.stdout)["state"] == "dismissed"
    again = _socmon(["queue", "act", str(target), "hide"], settings)
    assert again.returncode == 1
    assert "cannot" in again.stderr
    assert "Traceback" not in again.stderr
    missing = _socmon(["queue", "show", "999999"], settings)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "socmon: alert 999999 does not exist"
    usage = _socmon(["queue", "act", str(target), "explode"], settings)
    assert usage.returncode == 2
    assert _socmon(["audit", "verify"], settings).returncode == 0


def test_init_writes_config_and_database(tmp_path: Path, settings: Settings) -> None:
    target = tmp_path / "socmon.yaml"
    created = _socmon(["init", str(target)], settings)
    assert created.returncode == 0, created.stderr
    assert "channels:" in target.read_text(encoding="utf-8")
    refused = _socmon(["init", str(target)], settings)
    assert refused.returncode == 2
    assert "--force" in refused.stderr
