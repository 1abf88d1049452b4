"""`socmon lab` as a script uses it: rules with history, back-tests as JSON, promote, discard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from config.settings import Settings
from monitor.models import AuditEvent
from monitor.runtime import Runtime
from tests.lab.conftest import ingest

HISTORY = ["Typical Grendon rats hanging round the school gates again",
           "gr3nd0n r@ts all over the car park at pickup",
           "Thank you Mrs Patel for a wonderful trip",
           "Buy cheap followers now at socialboost dot biz"]


def _socmon(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": settings.database_url or "",
                "SOCMON_DATA_DIR": str(settings.data_dir)})
    return subprocess.run([sys.executable, "-m", "monitor", "lab", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def _ok(args: list[str], settings: Settings) -> object:
    done = _socmon([*args, "--json"], settings)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_rules_backtest_promote_and_discard_from_the_cli(runtime: Runtime, settings: Settings,
                                                         now: datetime, tmp_path: Path) -> None:
    ingest(runtime, HISTORY, now=now, weeks=2)
    added = _ok(["rules", "add", "Grendon rats", "--label", "abuse", "--severity", "high",
                 "--reason", "a local slur"], settings)
    assert added == {**added, "rule": 1, "version": 1, "state": "draft"}

    tested = _ok(["backtest", "--weeks", "8"], settings)
    assert tested["method"] == "stored scores"
    assert tested["newly_flagged"]["count"] == 2
    assert tested["newly_flagged"]["by_label_severity"] == {"abuse/high": 2}
    assert tested["alerts_per_week_change"] == 0.25
    assert "text" not in json.dumps(tested["newly_flagged"]["items"])  # ids, never comments

    # A candidate file for scripts: an author rule and a threshold, over the live rules.
    # (the author of a harmless comment, so only the rule can flag it)
    spam_author = runtime_author(runtime, HISTORY[2])
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        "rules:\n"
        f"  - {{kind: author, text: '{spam_author}', platform: demo, label: spam,"
        " severity: low}\n"
        "thresholds: {abuse: 0.6}\n", encoding="utf-8")
    from_file = _ok(["backtest", "--candidate", str(candidate), "--weeks", "8"], settings)
    assert from_file["comments"] == len(HISTORY)
    assert from_file["newly_flagged"]["by_label_severity"].get("spam/low") == 1

    edited = _ok(["rules", "edit", "1", "--severity", "critical", "--reason", "it is a threat"],
                 settings)
    assert (edited["version"], edited["severity"]) == (2, "critical")
    history = _ok(["rules", "list", "--history", "1"], settings)
    assert [(v["version"], v["state"]) for v in history] == [(1, "discarded"), (2, "draft")]

    promoted = _ok(["promote", "--reason", "two in history"], settings)
    assert promoted["state"] == "promoted"
    live = _ok(["rules", "list"], settings)
    assert [(r["rule"], r["state"], r["severity"]) for r in live] == [(1, "live", "critical")]

    assert _socmon(["rules", "remove", "1", "--reason", "no longer needed"],
                   settings).returncode == 0
    assert _socmon(["discard", "--reason", "keep it after all"], settings).returncode == 0
    live = _ok(["rules", "list"], settings)
    assert [(r["rule"], r["state"]) for r in live] == [(1, "live")]

    with runtime.factory() as session:
        actions = list(session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("lab.%")).order_by(AuditEvent.seq)).scalars())
    assert actions == ["lab.rule.add", "lab.rule.edit", "lab.promote", "lab.rule.remove",
                       "lab.discard"]


def runtime_author(runtime: Runtime, text: str) -> str:
    """The stored author id of the history comment `text`."""
    from monitor.models import Item

    with runtime.factory() as session:
        return str(session.execute(select(Item.author_id).where(Item.text == text)).scalar_one())


def test_bad_input_gets_one_clear_line(runtime: Runtime, settings: Settings,
                                       tmp_path: Path) -> None:
    cases = [
        (["rules", "add", "x y", "--kind", "nonsense", "--reason", "r"], "kind: 'nonsense'"),
        (["rules", "add", "Grendon rats"], "reason: every rule change needs a reason"),
        (["rules", "add", "***", "--reason", "r"], "text: the phrase has no letters"),
        (["rules", "edit", "99", "--reason", "r"], "no rule 99"),
        (["promote", "--reason", "r"], "nothing to promote"),
        (["backtest", "--candidate", str(tmp_path / "missing.yaml")], "no such file"),
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("sensitivity: 7\n", encoding="utf-8")
    cases.append((["backtest", "--candidate", str(bad)], "sensitivity: between 0 and 1"))
    odd = tmp_path / "odd.yaml"
    odd.write_text("treshold: {abuse: 0.5}\n", encoding="utf-8")
    cases.append((["backtest", "--candidate", str(odd)], "unknown key 'treshold'"))
    for args, message in cases:
        done = _socmon(args, settings)
        assert done.returncode == 1, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
