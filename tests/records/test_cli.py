"""The records and people commands as an operator meets them: output, audit, clear errors."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from config.settings import Settings
from monitor.cli import main
from monitor.models import Item, utcnow
from monitor.runtime import Runtime
from tests.records.conftest import seed_item


class Run:
    """`socmon ARGS` in this process, on the test database: exit code, stdout, stderr."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch, self.capsys = monkeypatch, capsys
        monkeypatch.setenv("SOCMON_DATABASE_URL", settings.database_url or "")
        monkeypatch.setenv("SOCMON_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("SOCMON_CHANNELS", json.dumps([
            {"name": "demo", "platform": "demo"}, {"name": "other", "platform": "demo"}]))

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "argv", ["socmon", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        out = self.capsys.readouterr()
        assert "Traceback" not in out.err
        code = exited.value.code
        return (code if isinstance(code, int) else 1), out.out, out.err


@pytest.fixture
def socmon(settings: Settings, runtime: Runtime, people: dict[str, str],
           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """The CLI on the records runtime's database."""
    return Run(settings, monkeypatch, capsys)


def test_purge_dry_run_then_for_real(socmon: Run, runtime: Runtime) -> None:
    old, _ = seed_item(runtime, external_id="c1", text="Lovely sports day",
                       at=utcnow() - timedelta(days=40))
    code, out, _ = socmon("records", "purge", "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["counts"]["item"] == 1
    with runtime.factory() as session:
        assert session.get_one(Item, old).text == "Lovely sports day"
    code, out, _ = socmon("records", "purge", "--json")
    assert code == 0
    done = json.loads(out)
    assert done["counts"]["item"] == 1
    assert done["audit_seq"] >= 1
    with runtime.factory() as session:
        assert session.get_one(Item, old).text == ""
    code, out, _ = socmon("audit", "verify")
    assert code == 0, out


def test_holds_from_the_command_line(socmon: Run) -> None:
    code, _, err = socmon("records", "hold", "--channel", "nope", "--reason", "x", "--as", "ada")
    assert (code, err.strip()) == (1, "socmon: channel 'nope' does not exist")
    code, _, err = socmon("records", "hold", "--channel", "demo", "--reason", "x", "--as", "mo")
    assert code == 1
    assert "may not set or lift legal holds" in err
    code, _, err = socmon("records", "hold", "--channel", "demo", "--reason", "x",
                          "--as", "nobody")
    assert code == 1
    assert "--as: no user called 'nobody'" in err
    code, _, err = socmon("records", "hold", "--reason", "x", "--as", "ada")
    assert code == 1
    assert "exactly one target" in err
    code, out, _ = socmon("records", "hold", "--platform", "demo", "--author", "a1",
                          "--reason", "police inquiry", "--as", "dee")
    assert (code, out.strip()) == (0, "legal hold #1 set")
    code, out, _ = socmon("records", "holds", "--json")
    assert [(h["id"], h["target"], h["set_by"]) for h in json.loads(out)] == [
        (1, "author demo:a1", "dee")]
    code, _, err = socmon("records", "release-hold", "1", "--as", "dee")
    assert code == 2  # usage: --reason is required
    assert "--reason" in err
    code, out, _ = socmon("records", "release-hold", "1", "--reason", "closed", "--as", "ada")
    assert code == 0
    code, out, _ = socmon("records", "holds", "--json")
    assert json.loads(out) == []


def test_people_export_and_erase(socmon: Run, runtime: Runtime, tmp_path: Path) -> None:
    seed_item(runtime, external_id="c1", text="Lovely sports day", at=utcnow())
    _, held_alert = seed_item(runtime, external_id="f1", text="Held insult", at=utcnow(),
                              labels=["abuse"])
    code, _, err = socmon("records", "hold", "--alert", str(held_alert), "--reason", "police",
                          "--as", "ada")
    assert code == 0, err
    target = tmp_path / "a1.json"
    code, out, err = socmon("people", "export", "--platform", "demo", "--author", "a1",
                            "--as", "ada", "--out", str(target))
    assert code == 0, err
    assert target.stat().st_mode & 0o077 == 0
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert sorted(i["text"] for i in exported["items"]) == ["Held insult", "Lovely sports day"]
    code, _, err = socmon("people", "export", "--platform", "demo", "--author", "a1",
                          "--as", "mo")
    assert code == 1
    assert "may not export or erase" in err
    code, _, err = socmon("people", "export", "--platform", "demo", "--author", "a1",
                          "--as", "ada", "--out", str(tmp_path / "missing" / "x.json"))
    assert code == 1
    assert "does not exist" in err
    code, out, err = socmon("people", "erase", "--platform", "demo", "--author", "a1",
                            "--as", "ada", "--yes", "--json")
    assert code == 0, err
    outcomes = sorted(json.loads(out)["items"].values())
    assert outcomes == ["erased", "kept: legal hold #1"]
    code, out, _ = socmon("audit", "verify")
    assert code == 0, out


def test_bad_retention_config_names_the_key(socmon: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCMON_RETENTION__CLEAN", "2h")
    code, _, err = socmon("records", "purge", "--dry-run")
    assert code == 2
    assert "retention.clean: expected a period of at least 1 day" in err
    monkeypatch.setenv("SOCMON_RETENTION__CLEAN", "400d")
    code, _, err = socmon("records", "purge", "--dry-run")
    assert code == 2
    assert "flagged must be at least as long as clean" in err
