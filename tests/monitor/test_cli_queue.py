"""`socmon queue list` offers the web UI's states and labels; `socmon queue assign` assigns
through the same service as the web, audited there."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from config.settings import Settings
from monitor import alerts
from monitor.db import transaction
from monitor.models import Alert, AuditEvent, User
from monitor.runtime import Runtime, build_runtime
from monitor.users import seed_demo_users
from tests.monitor.test_cli import _socmon
from tests.web.conftest import seed_alert


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, env={})
    with transaction(rt.factory) as session:
        seed_demo_users(session)
    yield rt
    rt.close()


def _seed(rt: Runtime) -> dict[str, int]:
    ids = {name: seed_alert(rt, text=f"{name} comment", labels=labels, severity="high",
                            external_id=f"c-{name}")
           for name, labels in [("new", ["abuse"]), ("claimed", ["abuse"]),
                                ("escalated", ["hate"]), ("dismissed", ["spam"]),
                                ("later_sg", ["threat", "safeguarding"])]}
    with transaction(rt.factory) as session:
        alerts.claim(session, alert_id=ids["claimed"], actor="mod")
        alerts.escalate(session, alert_id=ids["escalated"], actor="mod",
                        to=alerts.EscalationTarget.MANAGEMENT)
        alerts.dismiss(session, alert_id=ids["dismissed"], actor="mod",
                       reason=alerts.DismissReason.FALSE_POSITIVE)
    return ids


def _listed(settings: Settings, *args: str) -> set[int]:
    done = _socmon(["queue", "list", "--json", *args], settings)
    assert done.returncode == 0, done.stderr
    return {row["id"] for row in json.loads(done.stdout)}


def test_queue_list_takes_the_web_states_and_shows_open_by_default(
        runtime: Runtime, settings: Settings) -> None:
    ids = _seed(runtime)
    still_open = {ids["new"], ids["claimed"], ids["escalated"], ids["later_sg"]}
    assert _listed(settings) == still_open  # claimed and escalated are not hidden
    assert _listed(settings, "--state", "open") == still_open
    assert _listed(settings, "--state", "all") == set(ids.values())
    assert _listed(settings, "--state", "in_review") == {ids["claimed"]}
    assert _listed(settings, "--label", "safeguarding") == {ids["later_sg"]}
    wrong = _socmon(["queue", "list", "--state", "bogus"], settings)
    assert wrong.returncode == 2
    assert "Traceback" not in wrong.stderr


def test_queue_assign_uses_the_service_and_is_audited(runtime: Runtime,
                                                      settings: Settings) -> None:
    ids = _seed(runtime)
    done = _socmon(["queue", "assign", str(ids["new"]), "demo-moderator", "--actor", "head",
                    "--json"], settings)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "in_review"
    with runtime.factory() as session:
        alert = session.get_one(Alert, ids["new"])
        who = session.execute(select(User.username).where(User.id == alert.assignee_id))
        assert who.scalar_one() == "demo-moderator"
        actions = session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.details)
                                  .where(AuditEvent.target_type == "alert",
                                         AuditEvent.target_id == str(ids["new"]))
                                  .order_by(AuditEvent.seq)).all()
    assert [tuple(a) for a in actions[-2:]] == [
        ("alert.claim", "cli:head", {"from": "new", "to": "in_review"}),
        ("alert.assign", "cli:head", {"assignee": "demo-moderator"})]
    for alert_id, user, why in [
            (ids["new"], "demo-manager", "demo-manager cannot work on alerts"),
            (ids["later_sg"], "demo-moderator", "demo-moderator cannot see safeguarding alerts"),
            (ids["new"], "nobody-here", "no user called 'nobody-here'"),
            (999_999, "demo-admin", "alert 999999 does not exist")]:
        refused = _socmon(["queue", "assign", str(alert_id), user], settings)
        assert refused.returncode == 1, (user, refused.stderr)
        assert refused.stderr.strip() == f"socmon: {why}"
