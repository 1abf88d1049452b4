"""Evidence packs: hashes that check out, a snapshot that outlives the platform copy and any
later edit of the store, a readable PDF, and the export recorded in the audit trail."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from typer.testing import CliRunner

from config.settings import Settings
from connectors.base import Action, ItemRef, Visibility
from monitor import alerts, audit, evidence, outbox
from monitor.cli.common import CommandError
from monitor.cli.evidence_cmds import app as evidence_app
from monitor.db import transaction
from monitor.evidence_pack import build_pack, printable
from monitor.models import (
    SEVERITY_RANK,
    Alert,
    AuditEvent,
    Channel,
    Evidence,
    Item,
    Verdict,
    utcnow,
)
from monitor.poller import poll_channel
from monitor.runtime import Runtime
from monitor.takedown import TakedownHandlers
from tests.backoffice.conftest import make_due, seed_alerts

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None,
                                     reason="pdftotext (poppler-utils) is not installed")


def _open(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    assert PDFTOTEXT is not None
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True)
    return out.stdout


def _export(rt: Runtime, alert_id: int, actor: str = "cli:tester") -> bytes:
    with transaction(rt.factory) as session:
        return build_pack(session, alert_id=alert_id, actor=actor)


def _demo_alert(rt: Runtime, external_id: str = "demo-4") -> int:
    """Poll the demo Page, then the alert of one of its comments (opened here if the
    classifier, which another helper is rebuilding, did not flag it)."""
    channel_cfg = rt.settings.channels[0]
    poll_channel(rt.factory, name=channel_cfg.name, connector=rt.connectors[channel_cfg.name],
                 classifier=rt.classifier, routing=rt.settings.routing, owner="test",
                 interval=channel_cfg.interval, force=True)
    with transaction(rt.factory) as session:
        item = session.execute(select(Item).where(Item.external_id == external_id)).scalar_one()
        existing = session.execute(select(Alert.id).where(Alert.item_id == item.id)).scalar()
        if existing is not None:
            return int(existing)
        now = utcnow()
        verdict = Verdict(item_id=item.id, model_version="test-1", labels=["identifying"],
                          scores={"identifying": 0.9}, spans=[], reasons=["a pupil's full name"],
                          severity="high", created_at=now)
        session.add(verdict)
        session.flush()
        channel = session.get_one(Channel, item.channel_id)
        alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id,
                      queue="moderation", labels=["identifying"], primary_label="identifying",
                      severity="high", severity_rank=SEVERITY_RANK["high"], state="new",
                      created_at=now, updated_at=now, due_at=now + timedelta(hours=24),
                      takedown_status="none")
        session.add(alert)
        session.flush()
        snap = evidence.preserve(session, item=item, channel_name=channel.name,
                                 alert_id=alert.id, now=now)
        session.flush()
        audit.record(session, actor="system", action="alert.open", target_type="alert",
                     target_id=alert.id, evidence_sha256=snap.sha256, at=now)
        return alert.id


def _recompute(line: dict[str, Any]) -> str:
    # The chain covers the details' hash; the details must still match it.
    assert audit.details_digest(line["details"]) == line["details_sha256"]
    return audit.event_hash(
        seq=line["seq"], at=datetime.fromisoformat(line["at"]), actor=line["actor"],
        action=line["action"], target_type=line["target_type"], target_id=line["target_id"],
        details=line["details"], evidence_sha256=line["evidence_sha256"],
        prev_hash=line["prev_hash"], details_sha256=line["details_sha256"])


def test_pack_survives_deletion_on_the_platform_and_edits_of_the_store(
        runtime: Runtime, tmp_path: Path) -> None:
    alert_id = _demo_alert(runtime)
    with runtime.factory() as session:
        alert = session.get_one(Alert, alert_id)
        item = session.get_one(Item, alert.item_id)
        original_text, permalink, posted = item.text, item.url, item.created_at
        stored = session.execute(select(Evidence).where(Evidence.alert_id == alert_id)
                                 ).scalar_one()
    assert permalink
    # A moderator deletes it; the outbox worker deletes it on the platform and verifies.
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.DELETE)
    handlers = TakedownHandlers(runtime.connectors, verify_after=timedelta(minutes=1),
                                max_attempts=3).as_mapping()
    assert outbox.run_once(runtime.factory, handlers, owner="t", max_attempts=3).done == 1
    make_due(runtime)
    assert outbox.run_once(runtime.factory, handlers, owner="t", max_attempts=3).done == 1
    connector = runtime.connectors["demo"]
    assert connector.check(ItemRef(item.external_id, item.kind, item.parent_id,  # type: ignore[arg-type]
                                   item.thread_id)) is Visibility.GONE
    # Someone later edits socmon's working copy of the text.
    with transaction(runtime.factory) as session:
        session.execute(update(Item).where(Item.id == item.id).values(text="nothing to see"))

    files = _open(_export(runtime, alert_id))
    assert set(files) == {"report.pdf", "evidence.json", "audit.jsonl", "manifest.json"}
    manifest = json.loads(files["manifest.json"])
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == {"report.pdf", "evidence.json", "audit.jsonl"}
    for name, entry in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"]
        assert entry["bytes"] == len(files[name])

    ev = json.loads(files["evidence.json"])
    [snap_row] = ev["evidence"]
    assert snap_row["sha256"] == stored.sha256
    assert audit.sha256_hex(snap_row["snapshot"]) == stored.sha256
    assert json.loads(snap_row["snapshot"])["text"] == original_text
    assert manifest["evidence"] == [{"id": stored.id, "stored_sha256": stored.sha256,
                                     "recomputed_sha256": stored.sha256, "match": True}]
    assert ev["alert"]["id"] == alert_id
    assert ev["alert"]["takedown_status"] == "verified"
    assert ev["verdict"]["labels"]
    assert ev["current_item_record"]["matches_snapshot"] is False

    lines = [json.loads(x) for x in files["audit.jsonl"].decode().splitlines()]
    events, verification = lines[:-1], lines[-1]["verification"]
    actions = [e["action"] for e in events]
    assert actions[0] == "alert.open"
    assert {"alert.delete", "takedown.delete", "takedown.verified"} <= set(actions)
    for event in events:
        assert _recompute(event) == event["hash"]
    for before, after in itertools.pairwise(events):
        assert before["seq"] < after["seq"]
    assert verification["ok"] is True
    assert verification["through_seq"] == events[-1]["seq"]
    assert verification["checked"] == events[-1]["seq"]
    assert verification["last_hash"] == events[-1]["hash"]
    assert manifest["audit_chain"] == verification

    # The export itself is on the trail, naming this exact manifest.
    with runtime.factory() as session:
        export = session.execute(select(AuditEvent).where(
            AuditEvent.action == "evidence.export")).scalar_one()
        assert export.actor == "cli:tester"
        assert export.details["manifest_sha256"] == hashlib.sha256(
            files["manifest.json"]).hexdigest()
        assert export.evidence_sha256 == stored.sha256
        assert audit.verify(session).ok

    if PDFTOTEXT is not None:
        text = _pdf_text(files["report.pdf"], tmp_path)
        assert permalink in text
        assert posted.strftime("%Y-%m-%d %H:%M:%S UTC") in text
        assert "Amelia Clarke" in text  # the snapshot's text, not the edited copy
        assert "nothing to see" not in text
        assert "MATCHES" in text
        assert "differs from the snapshot" in text
        assert "Audit chain, events 1 to" in text


@needs_pdftotext
def test_pdf_never_chokes_on_emoji_rtl_or_invisible_characters(
        runtime: Runtime, tmp_path: Path) -> None:
    odd = ("Run 🏃‍♀️ now \u202eevil\u202c שלום مرحبا zero\u200bwidth bell\x07 "
           + "x" * 3000 + " https://example.org/" + "a" * 400)
    [alert_id] = seed_alerts(runtime, 1, text=odd, notify=False)
    files = _open(_export(runtime, alert_id))
    text = _pdf_text(files["report.pdf"], tmp_path)
    assert "[U+1F3C3]" in text  # the emoji the font lacks, named instead of dropped
    assert "[U+0007]" in text
    assert "zero[U+200B]width" in text  # obfuscation made visible
    assert "[U+202E]evil" in text  # a bidi override cannot reorder the report
    assert "שלום" in text or "םולש" in text
    ev = json.loads(files["evidence.json"])
    assert json.loads(ev["evidence"][0]["snapshot"])["text"] == odd  # exact, unlike the PDF


def test_printable_names_what_a_font_cannot_draw() -> None:
    font = frozenset(map(ord, "a\u00e9\u200b\u200d"))
    assert printable("a\u00e9🏃\x00\n", font) == "a\u00e9[U+1F3C3][U+0000]\n"
    assert printable("a\u200ba\u200d", font) == "a[U+200B]a\u200d"
    assert printable("\u00e9\u05e9", None) == "\u00e9[U+05E9]"


@needs_pdftotext
def test_tampering_is_reported_not_hidden(runtime: Runtime, tmp_path: Path) -> None:
    [alert_id] = seed_alerts(runtime, 1, notify=False)
    with transaction(runtime.factory) as session:
        alerts.add_note(session, alert_id=alert_id, actor="dsl", body="Called the police, ref 42")
        snap = session.execute(select(Evidence).where(Evidence.alert_id == alert_id)).scalar_one()
        session.execute(update(Evidence).where(Evidence.id == snap.id).values(
            snapshot=snap.snapshot.replace("Amelia", "Someone")))
        first = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().first()
        assert first is not None
        session.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(
            actor="somebody else"))
    files = _open(_export(runtime, alert_id))
    manifest = json.loads(files["manifest.json"])
    assert manifest["evidence"][0]["match"] is False
    assert manifest["audit_chain"]["ok"] is False
    assert manifest["audit_chain"]["bad_seq"] == first.seq
    notes = json.loads(files["evidence.json"])["notes"]
    assert [n["body"] for n in notes] == ["Called the police, ref 42"]
    text = _pdf_text(files["report.pdf"], tmp_path)
    assert "DOES NOT MATCH" in text
    assert f"BROKEN at event {first.seq}" in text
    assert "Called the police, ref 42" in text


def test_unknown_alert_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(alerts.NotFound), transaction(runtime.factory) as session:
        build_pack(session, alert_id=999_999)


def _config(settings: Settings, tmp_path: Path) -> Path:
    path = tmp_path / "socmon.yaml"
    path.write_text(yaml.safe_dump({
        "data_dir": str(settings.data_dir), "database_url": settings.database_url,
        "channels": [c.model_dump(mode="json") for c in settings.channels],
    }), encoding="utf-8")
    return path


def test_cli_export_writes_the_zip(runtime: Runtime, settings: Settings, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    [alert_id] = seed_alerts(runtime, 1, notify=False)
    config = _config(settings, tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(evidence_app, ["export", str(alert_id), "--config", str(config),
                                          "--actor", "alice"])
    assert result.exit_code == 0, result.output
    # Into the data directory's exports folder, not the current directory.
    target = settings.data_dir / "exports" / f"evidence-{alert_id}.zip"
    assert not list(tmp_path.glob("*.zip"))
    files = _open(target.read_bytes())
    assert "manifest.json" in files
    assert hashlib.sha256(files["manifest.json"]).hexdigest() in result.output
    out = tmp_path / "packs" / "x.zip"
    out.parent.mkdir()
    result = runner.invoke(evidence_app, ["export", str(alert_id), "--out", str(out),
                                          "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert list(out.parent.iterdir()) == [out]  # no partial file left behind
    with runtime.factory() as session:
        actors = session.execute(select(AuditEvent.actor).where(
            AuditEvent.action == "evidence.export").order_by(AuditEvent.seq)).scalars().all()
    assert actors[0] == "cli:alice"
    assert len(actors) == 2
    missing = runner.invoke(evidence_app, ["export", "424242", "--config", str(config)])
    assert isinstance(missing.exception, CommandError)
    assert "alert 424242 does not exist" in str(missing.exception)
