"""People's rights: export and erasure for an author, honouring holds and safeguarding records."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from monitor import alerts, audit, evidence_pack
from monitor.db import transaction
from monitor.models import AuditEvent, Evidence, Item, utcnow
from monitor.people.roles import DSL, HOLD_KEEPERS, RIGHTS_OFFICERS, Role
from monitor.records import holds, rights
from monitor.records.errors import NotAllowed, RecordsError
from monitor.runtime import Runtime
from tests.records.conftest import seed_item

TEXTS = {"c1": "Lovely sports day", "f1": "You useless idiot", "f2": "Held insult",
         "s1": "I am scared at home"}


def _seed(runtime: Runtime) -> dict[str, tuple[int, int | None]]:
    t0 = utcnow()
    ids = {ext: seed_item(runtime, external_id=ext, text=text, at=t0,
                          labels={"c1": None, "f1": ["abuse"], "f2": ["abuse"],
                                  "s1": ["safeguarding"]}[ext],
                          queue="safeguarding" if ext == "s1" else "moderation")
           for ext, text in TEXTS.items()}
    seed_item(runtime, external_id="other", text="Someone else entirely", at=t0, author_id="a2")
    f1_alert, f2_alert = ids["f1"][1], ids["f2"][1]
    assert f1_alert is not None
    assert f2_alert is not None
    with transaction(runtime.factory) as session:
        alerts.add_note(session, alert_id=f1_alert, actor="mo", body="Parent rang about it")
        alerts.dismiss(session, alert_id=f1_alert, actor="mo",
                       reason=alerts.DismissReason.NOT_A_BREACH)
        holds.set_hold(session, actor="dee", role=Role.SAFEGUARDING_LEAD,
                       reason="police asked", alert_id=f2_alert)
    return ids


def test_export_holds_everything_about_the_author(runtime: Runtime) -> None:
    ids = _seed(runtime)
    with transaction(runtime.factory) as session:
        doc = rights.export_author(session, platform="demo", author_id="a1", actor="ada",
                                   role=Role.ADMIN)
    assert doc["subject"] == {"platform": "demo", "author_id": "a1"}
    assert {i["external_id"]: i["text"] for i in doc["items"]} == TEXTS
    by_ext = {i["external_id"]: i for i in doc["items"]}
    assert by_ext["c1"]["alert"] is None
    assert by_ext["f1"]["alert"]["notes"][0]["body"] == "Parent rang about it"
    assert by_ext["f1"]["evidence"][0]["snapshot"]["text"] == TEXTS["f1"]
    assert by_ext["s1"]["alert"]["safeguarding"] is True
    assert [h["alert_id"] for h in doc["legal_holds"]] == [ids["f2"][1]]
    actions = {(e["action"], e["target_id"]) for e in doc["audit_events"]}
    assert ("alert.open", str(ids["f1"][1])) in actions
    assert ("alert.note", str(ids["f1"][1])) in actions
    assert "Someone else" not in str(doc)
    with runtime.factory() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "people.export")
                                ).scalar_one()
        assert event.target_id == holds.author_key("demo", "a1")
        assert event.details["items"] == 4
        assert all(text not in str(event.details) for text in TEXTS.values())
        assert "a1" not in event.target_id


def test_erasure_refused_in_part_by_a_hold_and_a_safeguarding_record(runtime: Runtime) -> None:
    ids = _seed(runtime)
    with transaction(runtime.factory) as session:
        hold_id = holds.active(session)[0].id
        erasure = rights.erase_author(session, platform="demo", author_id="a1", actor="ada",
                                      role=Role.ADMIN)
    item = {ext: ids[ext][0] for ext in TEXTS}
    assert erasure.outcomes == {
        item["c1"]: rights.ERASED,
        item["f1"]: rights.ERASED,
        item["f2"]: f"kept: legal hold #{hold_id}",
        item["s1"]: "kept: safeguarding record awaiting DSL sign-off",
    }
    with runtime.factory() as session:
        texts = {row.external_id: row.text for row in session.execute(select(Item)).scalars()}
        assert texts == {"c1": "", "f1": "", "f2": TEXTS["f2"], "s1": TEXTS["s1"],
                         "other": "Someone else entirely"}
        snapshots = {e.item_id: e.snapshot for e in session.execute(select(Evidence)).scalars()}
        assert "useless" not in snapshots[item["f1"]]
        assert "Held insult" in snapshots[item["f2"]]
        f1_events = session.execute(select(AuditEvent.details).where(
            AuditEvent.target_type == "alert", AuditEvent.target_id == str(ids["f1"][1]))
        ).scalars().all()
        assert f1_events
        assert all(d == audit.REDACTED_DETAILS for d in f1_events)
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "people.erase")
                                ).scalar_one()
        assert event.details["erased_items"] == sorted([item["c1"], item["f1"]])
        assert event.details["kept_items"][str(item["f2"])] == f"kept: legal hold #{hold_id}"
        assert all(text not in str(event.details) for text in TEXTS.values())
        assert audit.verify(session).ok
    # An evidence pack of an erased alert still builds, and says its snapshot was removed.
    with transaction(runtime.factory) as session:
        pack = zipfile.ZipFile(io.BytesIO(evidence_pack.build_pack(
            session, alert_id=ids["f1"][1] or 0, actor="ada")))
    manifest = json.loads(pack.read("manifest.json"))
    assert [c["match"] for c in manifest["evidence"]] == [False]
    snapshot = json.loads(json.loads(pack.read("evidence.json"))["evidence"][0]["snapshot"])
    assert snapshot["redacted"] == "erasure"
    assert manifest["audit_chain"]["ok"] is True
    # What is left to export is what was kept.
    with transaction(runtime.factory) as session:
        doc = rights.export_author(session, platform="demo", author_id="a1", actor="ada",
                                   role=Role.ADMIN)
    assert sorted(i["external_id"] for i in doc["items"]) == ["f2", "s1"]
    assert any(e["action"] == "people.erase" for e in doc["audit_events"])


@pytest.mark.parametrize("who", [("dee", Role.SAFEGUARDING_LEAD), ("mo", Role.MODERATOR),
                                 ("meg", Role.MANAGER)])
def test_only_rights_officers_export_or_erase(runtime: Runtime, who: tuple[str, Role]) -> None:
    _seed(runtime)
    actor, role = who
    with transaction(runtime.factory) as session, pytest.raises(NotAllowed):
        rights.export_author(session, platform="demo", author_id="a1", actor=actor, role=role)
    with transaction(runtime.factory) as session, pytest.raises(NotAllowed):
        rights.erase_author(session, platform="demo", author_id="a1", actor=actor, role=role)
    with transaction(runtime.factory) as session, pytest.raises(RecordsError, match="author id"):
        rights.erase_author(session, platform="demo", author_id=" ", actor="ada",
                            role=Role.ADMIN)


def test_holds_need_a_reason_a_target_and_the_right_role(runtime: Runtime) -> None:
    _seed(runtime)
    with transaction(runtime.factory) as session:
        with pytest.raises(NotAllowed):
            holds.set_hold(session, actor="mo", role=Role.MODERATOR, reason="x", channel="demo")
        with pytest.raises(RecordsError, match="reason is required"):
            holds.set_hold(session, actor="ada", role=Role.ADMIN, reason=" ", channel="demo")
        with pytest.raises(RecordsError, match="exactly one target"):
            holds.set_hold(session, actor="ada", role=Role.ADMIN, reason="x", channel="demo",
                           alert_id=1)
        with pytest.raises(RecordsError, match="does not exist"):
            holds.set_hold(session, actor="ada", role=Role.ADMIN, reason="x", channel="nope")
        hold = holds.set_hold(session, actor="ada", role=Role.ADMIN, reason="x",
                              channel="demo")
        holds.release_hold(session, hold_id=hold.id, actor="ada", role=Role.ADMIN,
                           reason="done")
        with pytest.raises(RecordsError, match="already lifted"):
            holds.release_hold(session, hold_id=hold.id, actor="ada", role=Role.ADMIN,
                               reason="again")


def test_whoever_answers_rights_requests_also_sees_safeguarding_records() -> None:
    """An export must be complete, and it holds safeguarding records: one rule ties them."""
    assert RIGHTS_OFFICERS <= DSL
    assert {Role.ADMIN} == RIGHTS_OFFICERS
    assert {Role.ADMIN, Role.SAFEGUARDING_LEAD} == HOLD_KEEPERS
