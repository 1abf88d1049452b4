"""A year (2025) of generated activity: comments, alerts and decisions, changes, outages.

Built on the digest's `Seeder`. Child-like author names and safeguarding texts carry
markers, so a test can assert that none reaches the review pack.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from monitor import audit, changes, users
from monitor.models import AlertState, Channel, ChannelHealth, ProtectedName, TakedownStatus
from monitor.people.roles import Role
from monitor.poller import HEALTH_CHANGED
from tests.digest.seed import Seeder

YEAR = 2025
START = datetime(YEAR, 1, 1, tzinfo=UTC)  # Europe/London is on GMT at New Year
#: names of children (authors and the register): never in the pack
CHILD_NAMES = ("Poppy Seedchild", "Oliver Quillfeather", "Amara Thistlewood")
SG_TEXT = "frightened to go home tonight, it happened again"
DEADLINES = {"critical": timedelta(hours=1), "high": timedelta(hours=24),
             "low": timedelta(hours=72)}
LABELS = ("threat", "identifying", "hate", "abuse", "sexual", "spam", "profanity")
SEVERITY = {"threat": "critical", "identifying": "high", "hate": "high", "abuse": "high",
            "sexual": "high", "spam": "low", "profanity": "low"}
#: (channel, from, to, health) spells written as health-change events
SPELLS = (
    ("school-fb", datetime(YEAR, 5, 1, 9, tzinfo=UTC), datetime(YEAR, 5, 3, 9, tzinfo=UTC),
     ChannelHealth.NEEDS_REAUTH),
    ("school-fb", datetime(YEAR, 8, 4, 10, tzinfo=UTC), datetime(YEAR, 8, 4, 11, tzinfo=UTC),
     ChannelHealth.DEGRADED),
    ("school-x", datetime(YEAR, 12, 30, 12, tzinfo=UTC), None, ChannelHealth.ERROR),
)


@dataclass
class SeededYear:
    """What was seeded, for the assertions."""

    texts: list[str] = field(default_factory=list)
    child_names: tuple[str, ...] = CHILD_NAMES
    change_reasons: list[str] = field(default_factory=list)
    lead_names: list[str] = field(default_factory=list)


def _when(rng: random.Random, day: int) -> datetime:
    return START + timedelta(days=day, hours=rng.randint(7, 21), minutes=rng.randint(0, 59))


def seed_year(session: Session, settings: Settings, *, seed: int = 17) -> SeededYear:
    """A deterministic year of activity on three channels."""
    rng = random.Random(seed)
    s = Seeder(session)
    out = SeededYear()
    demo = session.execute(select(Channel).where(Channel.name == "demo")).scalar_one()
    demo.created_at = START - timedelta(days=30)
    fb = s.channel("school-fb", "facebook", created=START - timedelta(days=30))
    x = s.channel("school-x", "x", created=START - timedelta(days=30))
    channels = [demo, fb, x]
    for username, name, role in (("alex", "Alex Admin", Role.ADMIN),
                                 ("dana", "Dana Lead", Role.SAFEGUARDING_LEAD),
                                 ("moe", "Moe Moderator", Role.MODERATOR),
                                 ("gita", "Gita Manager", Role.MANAGER)):
        users.create(session, username=username, role=role, password="a-long-pass-phrase",
                          display_name=name, actor="seed")
        if role in (Role.ADMIN, Role.SAFEGUARDING_LEAD):
            out.lead_names.append(name)
    users.create(session, username="old", role=Role.ADMIN, password="a-long-pass-phrase",
                      display_name="Former Admin", actor="seed")
    users.set_disabled(session, username="old", disabled=True, actor="seed")
    for full in CHILD_NAMES:
        first, last = full.split()
        session.add(ProtectedName(first_name=first, last_name=last, role="pupil"))

    for day in range(365):
        for _ in range(rng.randint(1, 4)):  # clean comments
            text = f"Lovely day out, well done everyone #{s.n}"
            s.item(rng.choice(channels), _when(rng, day), text=text,
                   name=rng.choice(CHILD_NAMES))
            out.texts.append(text)
        if day % 2:
            continue
        label = rng.choice(LABELS)
        severity = SEVERITY[label]
        created = _when(rng, day)
        text = f"Seeded {label} comment number {s.n} you clown"
        alert = s.alert(rng.choice(channels), created, label=label, severity=severity,
                        deadline=DEADLINES[severity], name=rng.choice(CHILD_NAMES), text=text)
        out.texts.append(text)
        delay = timedelta(minutes=rng.choice((20, 50, 90, 300, 2000, 5000)))
        roll = rng.random()
        if roll < 0.35:
            action = "alert.hide" if rng.random() < 0.7 else "alert.delete"
            s.act(alert, action, created + delay)
            alert.takedown_action = action.removeprefix("alert.")
            alert.resolution = alert.takedown_action
            if rng.random() < 0.8:
                s.act(alert, "takedown.verified", created + delay + timedelta(minutes=1),
                      resolves=False)
                alert.takedown_status = TakedownStatus.VERIFIED
        elif roll < 0.75:
            reason = rng.choice(("false_positive", "not_a_breach", "duplicate",
                                 "handled_elsewhere"))
            s.act(alert, "alert.dismiss", created + delay, reason=reason)
            alert.resolution = reason
        elif roll < 0.85:
            s.act(alert, "alert.escalate", created + delay, resolves=False, to="management")
            alert.escalated_to, alert.state = "management", AlertState.ESCALATED
        # else: left open
    for week in range(0, 52, 3):  # safeguarding disclosures, escalated and acknowledged
        created = _when(rng, week * 7 + 1)
        text = f"SG-{week}: {SG_TEXT}"
        alert = s.alert(rng.choice(channels), created, label="safeguarding",
                        severity="critical", deadline=DEADLINES["critical"],
                        name=rng.choice(CHILD_NAMES), text=text)
        out.texts.append(text)
        s.act(alert, "alert.escalate", created + timedelta(minutes=30), resolves=False,
              to="safeguarding_lead")
        alert.escalated_to, alert.state = "safeguarding_lead", AlertState.ESCALATED
        if week % 2 == 0:
            s.act(alert, "alert.acknowledge", created + timedelta(minutes=45), resolves=False)

    by_name = {c.name: c for c in channels}
    for name, lo, hi, health in SPELLS:
        cid = by_name[name].id
        audit.record(session, actor="system", action=HEALTH_CHANGED, target_type="channel",
                     target_id=cid, details={"from": "ok", "to": health.value}, at=lo)
        if hi is not None:
            audit.record(session, actor="system", action=HEALTH_CHANGED, target_type="channel",
                         target_id=cid, details={"from": health.value, "to": "ok"}, at=hi)

    # Changes to how socmon judges, each at a known time, one without a reason.
    sharper = settings.model_copy(update={"classifier": settings.classifier.model_copy(
        update={"sensitivity": 0.65})})
    reason = "More abuse was reaching the page unflagged in the spring term"
    changes.record_if_changed(session, sharper, actor="config:alex", reason=reason,
                              at=datetime(YEAR, 3, 10, 9, tzinfo=UTC))
    out.change_reasons.append(reason)
    faster = sharper.model_copy(update={"routing": sharper.routing.model_copy(update={
        "deadlines": sharper.routing.deadlines.model_copy(
            update={"high": timedelta(hours=12)})})})
    changes.record_if_changed(session, faster, actor="config:alex",
                              at=datetime(YEAR, 6, 2, 9, tzinfo=UTC))
    audit.record(session, actor="cli:alex", action="model.promote", target_type="model",
                 target_id="m-2025-09", details={"from": "packaged", "to": "m-2025-09"},
                 at=datetime(YEAR, 9, 15, 9, tzinfo=UTC))
    names_reason = "New reception class joined in September"
    audit.record(session, actor="cli", action="names.import", target_type="register",
                 target_id="protected_names",
                 details={"rows": 3, "added": 3, "total": 3, "replace": False,
                          "reason": names_reason},
                 at=datetime(YEAR, 9, 5, 9, tzinfo=UTC))
    out.change_reasons.append(names_reason)
    session.flush()
    return out
