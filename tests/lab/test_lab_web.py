"""The lab's page: live shadow opens no alerts, a failing gate refuses with the case shown,
and safeguarding texts stay with the roles that may read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from monitor.db import transaction
from monitor.lab import rules, shadow
from monitor.models import Alert, LabCandidate, OrgRuleVersion, ShadowVerdict
from monitor.policy_suite import service as suite_service
from monitor.runtime import Runtime
from tests.lab.conftest import ingest
from tests.web.conftest import login

SECRET = "Come to the den by the canal after school, bring your friends"


@pytest.fixture
def client_for(runtime: Runtime) -> Callable[[str], TestClient]:
    """Clients signed in as each demo role."""
    from monitor.users import seed_demo_users
    from monitor.web import create_app

    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    app = create_app(runtime)

    def make(role: str) -> TestClient:
        client = TestClient(app)
        login(client, *creds[role])
        return client
    return make


def test_live_shadow_stores_verdicts_and_opens_no_alerts(
        runtime: Runtime, now: datetime, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    response = admin.post("/lab/rules", data={
        "kind": "watch", "text": "Grendon rats", "label": "abuse", "severity": "high",
        "reason": "a local slur"}, follow_redirects=False)
    assert response.status_code == 303
    assert admin.post("/lab/shadow", data={"hours": "2"},
                      follow_redirects=False).status_code == 303
    # New traffic arrives while the candidate shadows: the live policy knows no such rule.
    ingest(runtime, ["Grendon rats at the gates", "Lovely concert"], now=datetime.now(now.tzinfo),
           weeks=1, prefix="live")
    assert shadow.run_once(runtime) == 2
    assert shadow.run_once(runtime) == 0  # each item once
    with runtime.factory() as session:
        stored = session.execute(select(func.count()).select_from(ShadowVerdict)).scalar_one()
        opened = session.execute(select(func.count()).select_from(Alert)).scalar_one()
    assert (stored, opened) == (2, 0)
    page = admin.get("/lab")
    assert page.status_code == 200
    assert 'id="live-shadow"' in page.text
    assert "Grendon rats at the gates" in page.text.split('id="shadow-newly-flagged"')[1]


def test_a_failing_gate_refuses_the_promotion_with_the_case_shown(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    # The organisation's own policy test case: praise of the estate's team stays clean.
    with transaction(runtime.factory) as session:
        suite_service.add_case(session, text="Well done Grendon rats football team", must=[],
                               must_not=["abuse"], clause="praise is left alone",
                               actor="admin")
    admin = client_for("admin")
    admin.post("/lab/rules", data={"kind": "watch", "text": "Grendon rats", "label": "abuse",
                                   "severity": "high", "reason": "slur"})
    refused = admin.post("/lab/promote", data={"reason": "go"})
    assert refused.status_code == 409
    assert "Promotion refused" in refused.text
    assert "Well done Grendon rats football team" in refused.text
    with runtime.factory() as session:
        states = list(session.execute(select(OrgRuleVersion.state)).scalars())
        open_candidates = session.execute(select(func.count()).select_from(LabCandidate)
                                          .where(LabCandidate.state == "promoted")).scalar_one()
    assert (states, open_candidates) == (["draft"], 0)


def test_safeguarding_texts_only_for_roles_that_may_read_them(
        runtime: Runtime, now: datetime, client_for: Callable[[str], TestClient]) -> None:
    ingest(runtime, [SECRET], now=now, weeks=1)
    with transaction(runtime.factory) as session:
        rules.add(session, rules.RuleInput("watch", "den by the canal", "safeguarding",
                                           "critical"), reason="grooming pattern",
                  actor="admin")
        alerts_before = session.execute(select(func.count()).select_from(Alert)).scalar_one()
    assert alerts_before == 0  # only the rule flags it
    manager = client_for("manager").get("/lab?weeks=2")
    dsl = client_for("safeguarding_lead").get("/lab?weeks=2")
    assert manager.status_code == dsl.status_code == 200
    assert "safeguarding/critical" in manager.text
    assert SECRET not in manager.text
    assert "text shown to the safeguarding lead only" in manager.text
    assert SECRET in dsl.text
    assert 'id="add-rule"' not in manager.text  # the lab is read-only for managers


def test_rules_are_edited_and_removed_in_the_browser_with_every_version_kept(
        runtime: Runtime, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    admin.post("/lab/rules", data={"kind": "allow", "text": "Dick Wood", "label": "profanity",
                                   "severity": "low", "reason": "our caretaker"})
    assert admin.post("/lab/promote", data={"reason": "ok"},
                      follow_redirects=False).status_code == 303
    edited = admin.post("/lab/rules/1", data={"text": "Mr Dick Wood", "label": "profanity",
                                              "severity": "low", "reason": "narrower"},
                        follow_redirects=False)
    assert edited.status_code == 303
    assert admin.post("/lab/rules/1/remove", data={"reason": "retired"},
                      follow_redirects=False).status_code == 303
    missing = admin.post("/lab/rules/77/remove", data={"reason": "x"})
    assert missing.status_code == 422
    assert "no rule 77" in missing.text
    no_reason = admin.post("/lab/rules", data={"kind": "watch", "text": "x y", "label": "abuse",
                                               "severity": "high", "reason": " "})
    assert no_reason.status_code == 422
    with runtime.factory() as session:
        versions = [(v.version, v.state, v.text, v.removed) for v in rules.history(session, 1)]
    assert versions == [(1, "live", "Dick Wood", False), (2, "discarded", "Mr Dick Wood", False),
                        (3, "draft", "Mr Dick Wood", True)]
    page = admin.get("/lab")
    assert "(removal)" in page.text
