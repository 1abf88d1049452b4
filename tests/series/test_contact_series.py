"""A series of contact-seeking comments by one author to several children opens one alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor import audit
from monitor.models import Alert, AlertItem, AuditEvent, Evidence, Item, SeriesAlert, Verdict
from monitor.series import job

from .generate import CONTACT, World, world


@pytest.fixture
def w(database_url: str, tmp_path: Path) -> Iterator[World]:
    """Two channels, the default series settings but for two platforms at least."""
    yield from world(database_url, tmp_path, contact_seeking={
        "window": "7d", "min_comments": 3, "min_distinct": 3, "min_platforms": 2})


def _series(w: World, *, children: int, platforms: tuple[str, ...], days: float,
            author: str = "uncle_dave") -> list[str]:
    """Children post on the organisation's posts; one adult replies to each asking for contact,
    spread over `days` and across `platforms`; plus ordinary chatter. The adult's comment ids."""
    start = w.now - timedelta(days=days)
    adult: list[str] = []
    for i in range(children):
        platform = platforms[i % len(platforms)]
        channel = "school-fb" if platform == "facebook" else "school-ig"
        at = start + timedelta(days=days * i / max(children - 1, 1))
        before = at - timedelta(minutes=5)
        post = w.item(platform, author="school", text="Sports day results!", at=before,
                      own=True)
        child = w.item(platform, author=f"kid{w.counter}", text="I came second!!", at=before,
                       parent=post)
        reply = w.item(platform, author=author, text=CONTACT[i % len(CONTACT)], at=at,
                       parent=child)
        adult.append(reply.external_id)
        w.ingest(channel, [post, child, reply, *w.chatter(platform, 20, start=start)])
    return adult


def _verdict_labels(w: World, external_ids: list[str]) -> dict[str, list[str]]:
    with w.runtime.factory() as session:
        return {e: list(labels) for e, labels in session.execute(
            select(Item.external_id, Verdict.labels).join(Verdict, Verdict.item_id == Item.id)
            .where(Item.external_id.in_(external_ids)))}


def test_three_children_two_platforms_one_week_open_one_safeguarding_alert(w: World) -> None:
    adult = _series(w, children=3, platforms=("facebook", "instagram"), days=6)
    # no single comment of the series is safeguarding, stored or classified alone
    stored = _verdict_labels(w, adult)
    assert len(stored) == 3
    assert all("safeguarding" not in v for v in stored.values()), stored
    for text in CONTACT[:3]:
        alone = w.runtime.classifier.classify([text])[0]
        assert "safeguarding" not in {label.value for label in alone.labels}, text
    with w.runtime.factory() as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 0

    first = job.run(w.runtime.factory, w.runtime.settings, now=w.now)
    again = job.run(w.runtime.factory, w.runtime.settings, now=w.now + timedelta(minutes=1))

    assert len(first.opened) == 1
    assert again.opened == again.extended == []
    alert_id = first.opened[0]
    with w.runtime.factory() as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.labels == ["safeguarding"]
        assert alert.queue == "safeguarding"
        assert alert.severity == "critical"
        linked = set(session.execute(select(Item.external_id).join(
            AlertItem, AlertItem.item_id == Item.id).where(AlertItem.alert_id == alert_id)
        ).scalars())
        assert linked == set(adult)
        assert session.execute(select(Item.external_id).where(Item.id == alert.item_id)
                               ).scalar_one() == adult[-1]
        rule = session.get_one(SeriesAlert, alert_id)
        assert rule.rule == "contact_seeking"
        assert rule.subject == "handle:uncle_dave"
        # each linked comment's evidence is kept with the alert
        assert session.execute(select(func.count()).select_from(Evidence).where(
            Evidence.alert_id == alert_id)).scalar_one() == 3
        opened = session.execute(select(AuditEvent).where(
            AuditEvent.action == "alert.open", AuditEvent.target_id == str(alert_id))
        ).scalar_one()
        assert opened.details["rule"] == "contact_seeking"
        assert len(opened.details["items"]) == 3
        assert "uncle_dave" not in str(opened.details)  # the subject only as a hash
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 1
        assert audit.verify(session).ok


def test_a_fourth_child_joins_the_open_alert(w: World) -> None:
    adult = _series(w, children=3, platforms=("facebook", "instagram"), days=5)
    opened = job.run(w.runtime.factory, w.runtime.settings, now=w.now).opened
    more = _series(w, children=1, platforms=("instagram",), days=0.1)
    later = job.run(w.runtime.factory, w.runtime.settings, now=w.now + timedelta(minutes=5))
    assert later.opened == []
    assert later.extended == opened
    with w.runtime.factory() as session:
        linked = set(session.execute(select(Item.external_id).join(
            AlertItem, AlertItem.item_id == Item.id).where(AlertItem.alert_id == opened[0])
        ).scalars())
    assert linked == set(adult + more)


@pytest.mark.parametrize(("children", "platforms", "days", "why"), [
    (2, ("facebook", "instagram"), 6, "two children are fewer than three"),
    (3, ("facebook",), 6, "one platform is fewer than two"),
    (3, ("facebook", "instagram"), 9, "the series spans more than the week"),
])
def test_below_the_thresholds_nothing_opens(w: World, children: int,
                                            platforms: tuple[str, ...], days: float,
                                            why: str) -> None:
    _series(w, children=children, platforms=platforms, days=days)
    assert job.run(w.runtime.factory, w.runtime.settings, now=w.now).opened == [], why
    with w.runtime.factory() as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 0
