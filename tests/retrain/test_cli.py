"""`socmon model retrain|versions|rollback` end to end on a moderated demo channel."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from monitor import changes
from monitor.cli.retrain_cmds import app
from monitor.retrain import MIN_NEW_FEEDBACK
from monitor.runtime import Runtime

from .conftest import FRACTION, adopt_baseline, moderate_honestly, needs_datasets, open_alerts


def _config(tmp_path: Path, rt: Runtime) -> str:
    path = tmp_path / "socmon.yaml"
    path.write_text(yaml.safe_dump({
        "data_dir": str(rt.settings.data_dir), "database_url": rt.settings.database_url,
        "channels": [{"name": "demo", "platform": "demo"}],
    }), encoding="utf-8")
    return str(path)


def test_nothing_to_show_or_roll_back_before_any_retrain(runtime: Runtime,
                                                         tmp_path: Path) -> None:
    config = _config(tmp_path, runtime)
    cli = CliRunner()
    shown = cli.invoke(app, ["versions", "--config", config])
    assert shown.exit_code == 0, shown.output
    assert "packaged model is in use" in shown.output
    back = cli.invoke(app, ["rollback", "--config", config])
    assert back.exit_code == 1
    assert "packaged model is in use" in str(back.exception)
    moderate_honestly(runtime, limit=MIN_NEW_FEEDBACK - 1)
    early = cli.invoke(app, ["retrain", "--config", config])
    assert early.exit_code == 1
    assert "retraining waits for 50" in str(early.exception)


@needs_datasets
def test_retrain_versions_rollback(runtime: Runtime, baseline_dir: Path,
                                   tmp_path: Path) -> None:
    texts = [text for _, _, text in open_alerts(runtime)]
    moderate_honestly(runtime)
    baseline = adopt_baseline(runtime, baseline_dir)
    config = _config(tmp_path, runtime)
    cli = CliRunner()

    trained = cli.invoke(app, ["retrain", "--force", "--base-fraction", str(FRACTION),
                               "--actor", "alice", "--json", "--config", config])
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)
    assert result["outcome"] == "promoted", result["regressions"]
    assert result["compared_with"] == baseline
    assert not [t for t in texts if t in trained.output]  # no comment text on the screen

    listed = cli.invoke(app, ["versions", "--json", "--config", config])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["version"] for r in rows if r["active"]] == [result["version"]]
    assert {r["origin"] for r in rows} == {"retrain", "adopted", "packaged"}
    table = cli.invoke(app, ["versions", "--config", config], env={"COLUMNS": "160"})
    assert f"* {result['version']}" in table.output

    back = cli.invoke(app, ["rollback", "--json", "--config", config, "--actor", "alice",
                            "--reason", "More false alarms on spam since the promotion"])
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout) == {"active": baseline, "packaged": False}
    with runtime.factory() as session:
        model_changes = [c for c in changes.list_changes(session) if c.kind.startswith("model")]
    assert [(c.kind, c.actor, c.reason) for c in model_changes][-2:] == [
        ("model promoted", "cli:alice", "retraining: the candidate passed the promotion gate"),
        ("model rolled back", "cli:alice", "More false alarms on spam since the promotion")]
    unknown = cli.invoke(app, ["rollback", "policy-nope", "--config", config])
    assert unknown.exit_code == 1
    assert "no model version 'policy-nope'" in str(unknown.exception)
    forward = cli.invoke(app, ["rollback", result["version"], "--config", config])
    assert forward.exit_code == 0, forward.output
    assert f"model {result['version']} is active again" in forward.output
