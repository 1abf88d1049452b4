"""Removal requests on a watched channel, and photo consent, against the emulated Facebook Page.

The Graph emulator is the platform: a request's takedown goes through the alerts' takedown
path (the outbox worker, the connector, the re-check), and the request closes when the
platform shows the item gone. The organisation's own post naming a child whose photo consent
is withdrawn opens an alert that says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import ClassifierConfig
from connectors.base import Action
from monitor import audit, removals
from monitor.consent import REASON
from monitor.db import transaction
from monitor.models import (
    Alert,
    AuditEvent,
    Item,
    RemovalRequest,
    RemovalStatus,
    TakedownStatus,
    Verdict,
)
from monitor.poller import poll_channel
from monitor.removals import policy
from monitor.runtime import build_runtime
from tests.backoffice.takedown_rig import GraphStack, graph_settings
from tests.integration.conftest import FacebookRig

PARENT = removals.Requester(name="Mrs Jo Parentname", role="parent",
                            what="the sports day photo of my son",
                            reason="photo consent withdrawn for Sam Parentname")


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[GraphStack]:
    """A Facebook Page on the Graph emulator; the rules classifier (fast, no model files)."""
    rig = FacebookRig()
    try:
        settings = graph_settings(database_url, tmp_path / "data", rig).model_copy(
            update={"classifier": ClassifierConfig(name="rules")})
        runtime = build_runtime(settings, env=rig.env())
        try:
            yield GraphStack(runtime=runtime, rig=rig, settings=settings)
        finally:
            runtime.close()
    finally:
        rig.close()


def _poll(stack: GraphStack) -> None:
    rt = stack.runtime
    poll_channel(rt.factory, name=stack.rig.name, connector=rt.connectors[stack.rig.name],
                 classifier=rt.current_classifier(), routing=rt.settings.routing, owner="t",
                 interval=timedelta(hours=1), force=True)


def _item(stack: GraphStack, external_id: str) -> Item:
    with stack.runtime.factory() as session:
        return session.execute(select(Item).where(Item.external_id == external_id)).scalar_one()


def test_request_on_a_watched_post_is_taken_down_and_verified_within_its_deadline(
        stack: GraphStack) -> None:
    _poll(stack)
    post = _item(stack, stack.rig.post)  # the Page's own post: no alert, nothing flagged
    assert post.is_own
    assert post.url
    with transaction(stack.runtime.factory) as session:
        # By its address, as a parent would give it: socmon finds the watched item.
        request = removals.add(session, config=stack.settings.removals, actor="web:mod",
                               requester=PARENT, url=post.url)
        request_id, alert_id = request.id, request.alert_id
    assert alert_id is not None
    assert not stack.rig.taken_down(stack.rig.post)

    stack.work()  # the delete, then its re-check

    assert stack.rig.taken_down(stack.rig.post)
    assert stack.writes()[stack.rig.post] == 1  # deleted once
    with stack.runtime.factory() as session:
        request = session.get_one(RemovalRequest, request_id)
        alert = session.get_one(Alert, alert_id)
        assert alert.queue == removals.REMOVALS_QUEUE
        assert alert.takedown_action == Action.DELETE.value
        assert alert.takedown_status == TakedownStatus.VERIFIED
        assert request.status == RemovalStatus.DONE
        assert request.resolution == removals.Resolution.VERIFIED
        assert request.resolved_at is not None
        assert policy.in_time(request.due_at, request.resolved_at)
        assert request.due_at - request.created_at == timedelta(hours=24)
        assert audit.verify(session).ok
        events = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    actions = [(e.target_type, e.action) for e in events if e.target_type in ("removal", "alert")]
    assert actions == [("alert", "alert.open"), ("removal", "removal.add"),
                       ("alert", "alert.delete"), ("alert", "takedown.delete"),
                       ("alert", "takedown.verified"), ("removal", "removal.verified")]
    verified = next(e for e in events if e.action == "removal.verified")
    assert verified.details["in_time"] is True
    # Who asked, what and why never reach the audit trail; their hashes do.
    dumped = json.dumps([e.details for e in events])
    for secret in ("Parentname", "sports day photo", "consent withdrawn"):
        assert secret not in dumped
    add = next(e for e in events if e.action == "removal.add")
    assert add.details["reason_sha256"] == audit.sha256_hex(PARENT.reason)


def test_request_on_a_flagged_comment_uses_its_alert(stack: GraphStack) -> None:
    comment = stack.rig.publish("Sam Parentname in year 4 is the slowest runner here")
    _poll(stack)
    item = _item(stack, comment)
    with transaction(stack.runtime.factory) as session:
        existing = session.execute(select(Alert).where(Alert.item_id == item.id)).scalar_one()
        request = removals.add(session, config=stack.settings.removals, actor="cli:mod",
                               requester=PARENT, alert_id=existing.id, action=Action.HIDE)
        assert request.alert_id == existing.id  # no second alert for the same comment
    stack.work()
    assert stack.rig.taken_down(comment)
    with stack.runtime.factory() as session:
        assert session.get_one(RemovalRequest, request.id).status == RemovalStatus.DONE


def _socmon(stack: GraphStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, as an administrator runs it, on the stack's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": stack.settings.database_url or "",
                "SOCMON_DATA_DIR": str(stack.settings.data_dir)})
    done = subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def _reasons(stack: GraphStack, external_id: str) -> tuple[list[str], list[str]] | None:
    """The alert's labels and its verdict's reasons for an item, or None without an alert."""
    with stack.runtime.factory() as session:
        row = session.execute(
            select(Alert.labels, Verdict.reasons).join(Item, Item.id == Alert.item_id)
            .join(Verdict, Verdict.id == Alert.verdict_id).where(Item.external_id == external_id)
        ).first()
    return None if row is None else (list(row[0]), list(row[1]))


def test_own_post_naming_a_child_whose_photo_consent_is_withdrawn_opens_an_alert(
        stack: GraphStack, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("first_name,last_name,role,aliases,photo_consent\n"
                      "Amelia,Richardson,pupil,Millie,withdrawn\n"
                      "Oliver,Whitfield,pupil,,given\n", encoding="utf-8")
    imported = json.loads(_socmon(stack, "names", "import", str(roster), "--json").stdout)
    assert imported["photo_consent_withdrawn"] == 1
    graph = stack.rig.graph
    withdrawn = graph.add_post("Lovely photos from sports day: Millie Richardson on the podium!")
    given = graph.add_post("Lovely photos from sports day: Oliver Whitfield on the podium!")
    visitor = stack.rig.publish("Amelia Richardson, you were brilliant")
    _poll(stack)

    labels, reasons = _reasons(stack, withdrawn) or ([], [])
    assert "identifying" in labels
    assert reasons[0] == REASON
    assert REASON == "names a child whose photo consent is withdrawn"
    # Consent given: the register still protects the name, but this reason is not given.
    found = _reasons(stack, given)
    assert found is None or REASON not in found[1]
    # A visitor's comment is not the organisation's post: flagged as before, not for consent.
    found = _reasons(stack, visitor)
    assert found is not None
    assert REASON not in found[1]

    # The CLI withdraws Oliver's consent: the next own post naming him is flagged for it.
    _socmon(stack, "names", "consent", "oliver", "whitfield", "--withdrawn")
    later = graph.add_post("More sports day photos: Oliver Whitfield again!")
    _poll(stack)
    found = _reasons(stack, later)
    assert found is not None
    assert found[1][0] == REASON
    with stack.runtime.factory() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.action == "names.consent")
                                 ).scalars().all()
        assert len(events) == 1
        assert "Whitfield" not in json.dumps(events[0].details)
        assert audit.verify(session).ok


def test_consent_column_rejects_an_unknown_value(stack: GraphStack, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("first_name,last_name,photo_consent\nAmelia,Richardson,maybe\n",
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": stack.settings.database_url or "",
                "SOCMON_DATA_DIR": str(stack.settings.data_dir)})
    done = subprocess.run([sys.executable, "-m", "monitor", "names", "import", str(roster)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2
    assert "row 2, column photo_consent: expected given or withdrawn" in done.stderr
    assert "Traceback" not in done.stderr
