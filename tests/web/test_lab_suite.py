"""The policy test suite's pages and the alert page's series panel, through the web test client."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from connectors.base import Item as Fetched
from connectors.base import ItemKind
from monitor.db import transaction
from monitor.ingest import ingest_page
from monitor.models import Channel, utcnow
from monitor.policy_suite.cases import all_cases
from monitor.runtime import Runtime
from monitor.series import job
from tests.web.conftest import Seeded

Clients = Callable[[str], TestClient]


def _org_cases(runtime: Runtime) -> list[str]:
    with runtime.factory() as session:
        return [c.id for c in all_cases(session) if c.id.startswith("org-")]


def test_confirmed_labels_make_a_case_and_the_suite_lists_it(
        runtime: Runtime, seeded: Seeded, client_for: Clients) -> None:
    mod = client_for("moderator")
    page = mod.get(f"/alerts/{seeded.abuse}")
    assert 'id="suite-case-add"' in page.text
    unticked = mod.post(f"/alerts/{seeded.abuse}/suite-case", data={"choose": "true"})
    assert "confirm at least one label" in unticked.text
    done = mod.post(f"/alerts/{seeded.abuse}/suite-case",
                    data={"choose": "true", "confirmed": ["abuse"]})
    assert "Added to the policy test suite as org-1 (expects abuse)" in done.text
    again = mod.post(f"/alerts/{seeded.abuse}/suite-case", data={"confirmed": ["abuse"]})
    assert "already a test case" in again.text
    assert _org_cases(runtime) == ["org-1"]
    suite = mod.get("/lab/suite")
    assert "You are a useless idiot and everyone knows it" in suite.text
    assert 'id="case-abuse_without_swearing-4"' in suite.text  # the starting suite is there


def test_safeguarding_cases_are_for_the_lane_only(
        runtime: Runtime, seeded: Seeded, client_for: Clients) -> None:
    mod, dsl = client_for("moderator"), client_for("safeguarding_lead")
    assert mod.post(f"/alerts/{seeded.safeguarding}/suite-case").status_code == 403
    assert _org_cases(runtime) == []
    done = dsl.post(f"/alerts/{seeded.safeguarding}/suite-case")
    assert "org-1" in done.text
    secret = "I am scared to go home tonight, please help"
    assert secret in dsl.get("/lab/suite").text
    listed = mod.get("/lab/suite").text
    assert secret not in listed
    assert "restricted safeguarding case" in listed
    # the starting suite's safeguarding cases are the lane's too
    assert "restricted safeguarding case" in client_for("manager").get("/lab/suite").text


def test_a_case_written_by_hand_and_bad_input(runtime: Runtime, client_for: Clients) -> None:
    mod = client_for("moderator")
    ok = mod.post("/lab/suite", data={"text": "Scunthorpe away day was great",
                                      "clause": "Place names with rude substrings",
                                      "clean": "true"})
    assert "Added org-1." in ok.text
    bad = mod.post("/lab/suite", data={"text": "hello", "clause": "x", "must": ["rudeness"]})
    assert "unknown label(s) rudeness" in bad.text
    none = mod.post("/lab/suite", data={"text": "hello", "clause": "x"})
    assert "at least one label" in none.text
    assert _org_cases(runtime) == ["org-1"]
    assert client_for("manager").post("/lab/suite", data={
        "text": "a", "clause": "b", "clean": "true"}).status_code == 403


def test_running_the_suite_shows_failures_and_known_gaps(client_for: Clients) -> None:
    page = client_for("moderator").post("/lab/suite/run").text
    assert 'id="suite-results"' in page
    assert "known gap" in page
    assert "policy case counter_speech-1" in page


def _series(runtime: Runtime) -> int:
    """Three replies by one author asking three children for contact, then the series job."""
    now = utcnow()
    items: list[Fetched] = []
    for i in range(3):
        at = now - timedelta(days=2 - i)
        items.append(Fetched(platform="demo", external_id=f"kid-{i}", kind=ItemKind.COMMENT,
                             text="I came second!!", created_at=at, author_id=f"kid{i}",
                             author_name=f"kid{i}"))
        items.append(Fetched(platform="demo", external_id=f"adult-{i}", kind=ItemKind.REPLY,
                             text=["Are you on snapchat?", "What age are you now?",
                                   "Add me and we can chat"][i],
                             created_at=at + timedelta(minutes=1), author_id="dave",
                             author_name="Dave", parent_id=f"kid-{i}"))
    classifier = runtime.classifier
    with transaction(runtime.factory) as session:
        channel = session.execute(select(Channel).where(Channel.name == "demo")).scalar_one()
        ingest_page(session, channel=channel, items=items, classifier=classifier,
                    routing=runtime.settings.routing, now=now)
    opened = job.run(runtime.factory, runtime.settings).opened
    assert len(opened) == 1
    return opened[0]


def test_a_series_alert_shows_its_comments_to_the_lane_and_in_the_evidence(
        runtime: Runtime, client_for: Clients) -> None:
    alert_id = _series(runtime)
    dsl = client_for("safeguarding_lead")
    page = dsl.get(f"/alerts/{alert_id}").text
    assert 'id="series-items"' in page
    assert page.count("data-item=") == 3
    for text in ("Are you on snapchat?", "What age are you now?", "Add me and we can chat"):
        assert text in page
    assert "contact seeking" in page
    assert 'id="suite-case-add"' not in page  # a series is no single-comment test case
    moderator_view = client_for("moderator").get(f"/alerts/{alert_id}").text
    assert "Are you on snapchat?" not in moderator_view
    assert 'id="restricted"' in moderator_view
    pack = dsl.get(f"/alerts/{alert_id}/evidence.zip")
    assert pack.status_code == 200
    with zipfile.ZipFile(io.BytesIO(pack.content)) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".json") and "evidence" in n)
        data = json.loads(zf.read(name))
        pdf = zf.read(next(n for n in zf.namelist() if n.endswith(".pdf")))
    texts = {json.loads(ev["snapshot"])["text"] for ev in data["linked_evidence"]}
    assert texts == {"Are you on snapchat?", "What age are you now?"}
    assert pdf.startswith(b"%PDF")
