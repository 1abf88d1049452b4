"""Who counts as one author across platforms, and the other two rules on generated series."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.db import transaction
from monitor.models import Alert, AlertItem, AuditEvent, SeriesAlert
from monitor.series import identity, job

from .generate import CONTACT, World, world

RULE = {"window": "7d", "min_comments": 3, "min_distinct": 3, "min_platforms": 2}


def _adult_series(w: World, names: tuple[str, str, str]) -> None:
    """Three replies asking three children for contact: facebook, instagram, facebook, each
    by the account called names[i]."""
    for i, name in enumerate(names):
        platform = ("facebook", "instagram")[i % 2]
        channel = "school-fb" if platform == "facebook" else "school-ig"
        at = w.now - timedelta(days=3 - i)
        child = w.item(platform, author=f"kid{i}", text="Look at my medal!",
                       at=at - timedelta(minutes=3))
        reply = w.item(platform, author=name, text=CONTACT[i], at=at, parent=child)
        w.ingest(channel, [child, reply])


@pytest.fixture
def w(database_url: str, tmp_path: Path) -> Iterator[World]:
    """Two channels; contact seeking needs two platforms."""
    yield from world(database_url, tmp_path, contact_seeking=RULE)


@pytest.fixture
def no_handles(database_url: str, tmp_path: Path) -> Iterator[World]:
    """As `w`, but the same handle is not enough to be one author."""
    yield from world(database_url, tmp_path, contact_seeking=RULE, match_handles=False)


def _opened(w: World) -> list[int]:
    return job.run(w.runtime.factory, w.runtime.settings, now=w.now).opened


def test_different_handles_are_different_authors_until_a_moderator_links_them(
        w: World) -> None:
    _adult_series(w, ("dave_fb", "d.smith", "dave_fb"))
    assert _opened(w) == []
    with transaction(w.runtime.factory) as session:
        identity.link(session, platform="instagram", author_id="instagram:d.smith",
                      person="Dave", actor="mod")
        identity.link(session, platform="facebook", author_id="facebook:dave_fb",
                      person="Dave", actor="mod")
    opened = job.run(w.runtime.factory, w.runtime.settings, now=w.now + timedelta(minutes=1))
    assert len(opened.opened) == 1
    with w.runtime.factory() as session:
        assert session.get_one(SeriesAlert, opened.opened[0]).subject == "person:Dave"
        links = list(session.execute(select(AuditEvent).where(
            AuditEvent.action == "author.link")).scalars())
    assert len(links) == 2
    assert "d.smith" not in str([e.details for e in links])


def test_with_handle_matching_off_the_same_handle_is_not_enough(no_handles: World) -> None:
    _adult_series(no_handles, ("uncle_dave", "uncle_dave", "uncle_dave"))
    assert _opened(no_handles) == []


def test_with_handle_matching_on_the_same_handle_is_one_author(w: World) -> None:
    _adult_series(w, ("Uncle_Dave", "@uncle_dave", " UNCLE_dave"))
    assert len(_opened(w)) == 1


@pytest.fixture
def plain(database_url: str, tmp_path: Path) -> Iterator[World]:
    """Two channels, the default series settings."""
    yield from world(database_url, tmp_path)


def test_one_pupil_targeted_by_three_accounts_opens_one_abuse_series(plain: World) -> None:
    w = plain
    pupil = w.item("facebook", author="pupil_amy", text="Our team won!",
                   at=w.now - timedelta(hours=5))
    insults = ["Shut up you ugly loser", "Nobody likes you, you absolute idiot",
               "You are a pathetic little loser"]
    replies = [w.item("facebook", author=f"troll{i}", text=text, parent=pupil,
                      at=w.now - timedelta(hours=4 - i)) for i, text in enumerate(insults)]
    w.ingest("school-fb", [pupil, *replies])
    with w.runtime.factory() as session:
        before = session.execute(select(Alert.id)).scalars().all()
    assert len(before) == 3  # each insult is flagged on its own, as abuse
    ran = job.run(w.runtime.factory, w.runtime.settings, now=w.now)
    # every comment of the series has its own alert: the series joins the newest of them
    newest = max(before)
    assert ran.opened == []
    assert ran.attached == [newest]
    more = w.item("facebook", author="troll9", text="@pupil_amy you idiot",
                  at=w.now - timedelta(hours=1), parent=pupil)
    w.ingest("school-fb", [more])
    later = job.run(w.runtime.factory, w.runtime.settings, now=w.now)
    assert later.opened == later.attached == []
    assert later.extended == [newest]
    with w.runtime.factory() as session:
        assert session.get_one(SeriesAlert, newest).rule == "targeting"
        assert session.get_one(SeriesAlert, newest).subject == "account:facebook:facebook:pupil_amy"
        linked = session.execute(select(AlertItem.item_id).where(
            AlertItem.alert_id == newest)).scalars().all()
        assert len(linked) == 4
        assert session.get_one(Alert, newest).labels == ["abuse"]  # its own labels stay


def test_a_spam_wave_of_one_site_from_several_accounts_opens_one_spam_alert(
        plain: World) -> None:
    w = plain
    texts = ["Great post! see https://www.cheap-followers.example/deal",
             "love this, more at https://cheap-followers.example/x",
             "wow https://cheap-followers.example/?ref=1"]
    items = [w.item(("facebook", "instagram")[i % 2], author=f"bot{i % 5}",
                    text=texts[i % 3], at=w.now - timedelta(minutes=50 - i * 5))
             for i in range(9)]
    w.ingest("school-fb", [i for i in items if i.platform == "facebook"])
    w.ingest("school-ig", [i for i in items if i.platform == "instagram"])
    ran = job.run(w.runtime.factory, w.runtime.settings, now=w.now)
    with w.runtime.factory() as session:
        series = session.execute(select(SeriesAlert).where(
            SeriesAlert.rule == "spam_wave")).scalars().all()
        assert len(series) == len(ran.opened) + len(ran.attached) == 1
        alert = session.get_one(Alert, series[0].alert_id)
        linked = session.execute(select(AlertItem.item_id).where(
            AlertItem.alert_id == alert.id)).scalars().all()
    assert series[0].subject == "cheap-followers.example"
    assert alert.labels == ["spam"]
    assert len(linked) == 9
