"""A database seeded with known alerts and actions, and the figures the digest must show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from monitor import audit
from monitor.digest.stats import IsoWeek
from monitor.models import (
    SEVERITY_RANK,
    Alert,
    AlertState,
    Channel,
    ChannelHealth,
    ChannelState,
    Item,
    Verdict,
)

#: a complete week in the past (GMT all week: local time equals UTC)
WEEK = IsoWeek(2025, 46)
MONDAY = datetime(2025, 11, 10, tzinfo=UTC)
SECRET_TEXT = "You are a stupid idiot and everyone hates you"
AUTHOR_NAME = "Pat Example"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Day 0 is the Monday of WEEK (negative days fall in the week before)."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


class Seeder:
    """Adds items, alerts and audited actions with chosen times."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.n = 0

    def channel(self, name: str, platform: str, *, created: datetime,
                health: ChannelHealth = ChannelHealth.OK, **state: Any) -> Channel:
        channel = Channel(name=name, platform=platform, created_at=created)
        self.session.add(channel)
        self.session.flush()
        self.session.add(ChannelState(channel_id=channel.id, health=health, **state))
        self.session.flush()
        return channel

    def item(self, channel: Channel, fetched: datetime, *, author: str | None = None,
             name: str = "Someone", text: str = "Lovely photos, thank you") -> Item:
        self.n += 1
        item = Item(channel_id=channel.id, platform=channel.platform, external_id=f"x{self.n}",
                    kind="comment", author_id=author or f"user-{self.n}", author_name=name,
                    text=text,
                    created_at=fetched - timedelta(minutes=1), fetched_at=fetched, raw={})
        self.session.add(item)
        self.session.flush()
        return item

    def alert(self, channel: Channel, created: datetime, *, label: str, severity: str,
              deadline: timedelta, author: str | None = None, name: str = "Someone",
              text: str = SECRET_TEXT, spans: list[dict[str, Any]] | None = None,
              labels: list[str] | None = None) -> Alert:
        item = self.item(channel, created, author=author, name=name, text=text)
        verdict = Verdict(item_id=item.id, model_version="test", labels=labels or [label],
                          scores={label: 0.9}, spans=spans or [], reasons=[],
                          severity=severity, created_at=created)
        self.session.add(verdict)
        self.session.flush()
        alert = Alert(item_id=item.id, verdict_id=verdict.id, channel_id=channel.id,
                      queue="moderation", labels=labels or [label], primary_label=label,
                      severity=severity, severity_rank=SEVERITY_RANK[severity],
                      created_at=created, updated_at=created, due_at=created + deadline)
        self.session.add(alert)
        self.session.flush()
        audit.record(self.session, actor="system", action="alert.open", target_type="alert",
                     target_id=alert.id, at=created)
        return alert

    def act(self, alert: Alert, action: str, when: datetime, *, resolves: bool = True,
            **details: Any) -> None:
        audit.record(self.session, actor="mod", action=action, target_type="alert",
                     target_id=alert.id, details=details, at=when)
        if resolves:
            alert.resolved_at = when
            alert.state = (AlertState.DISMISSED if action == "alert.dismiss"
                           else AlertState.ACTIONED)
        self.session.flush()


def seed_known_week(session: Session) -> dict[str, Any]:
    """The seeded week: returns the figures the digest of WEEK must report."""
    s = Seeder(session)
    session.execute(update(Channel).values(created_at=datetime(2025, 1, 1, tzinfo=UTC)))
    demo = session.query(Channel).filter_by(name="demo").one()
    state = session.get_one(ChannelState, demo.id)
    state.health, state.last_success_at = ChannelHealth.OK, at(7, 0, 5)
    broken = s.channel("parents-fb", "facebook", created=datetime(2025, 1, 1, tzinfo=UTC),
                       health=ChannelHealth.NEEDS_REAUTH, last_error="AuthError: token expired",
                       last_error_at=at(-3, 9), last_success_at=at(-3, 8),
                       consecutive_failures=1)
    s.item(broken, at(-4, 12))  # only before the week: broken all week
    for hour in range(6):
        s.item(demo, at(2, 8 + hour))
    s.item(demo, at(-2, 10))
    s.item(demo, at(7, 1))  # next week

    # Opened last week, due last week, hidden this Monday: 71 h to action, late.
    a0 = s.alert(demo, at(-3, 10), label="abuse", severity="high",
                 deadline=timedelta(hours=24))
    s.act(a0, "alert.hide", at(0, 9))
    a1 = s.alert(demo, at(0, 10), label="abuse", severity="high", deadline=timedelta(hours=24),
                 author="parent-7", name=AUTHOR_NAME,
                 spans=[{"start": SECRET_TEXT.index("stupid"),
                         "end": SECRET_TEXT.index("idiot") + 5, "label": "abuse"}])
    s.act(a1, "alert.hide", at(0, 12))
    s.act(a1, "takedown.verified", at(0, 12, 5), resolves=False)
    a2 = s.alert(demo, at(1, 9), label="profanity", severity="low",
                 deadline=timedelta(hours=72))
    s.act(a2, "alert.dismiss", at(1, 13), reason="not_a_breach")
    a3 = s.alert(demo, at(2, 10), label="threat", severity="critical",
                 deadline=timedelta(hours=1))
    s.act(a3, "alert.delete", at(2, 12))
    s.act(a3, "takedown.delete_failed", at(2, 12, 10), resolves=False)
    a4 = s.alert(demo, at(3, 10), label="safeguarding", severity="critical",
                 deadline=timedelta(hours=1), text="A worrying private disclosure")
    s.act(a4, "alert.escalate", at(3, 10, 30), resolves=False, to="safeguarding_lead")
    a4.escalated_to = "safeguarding_lead"
    a4.state = AlertState.ESCALATED
    s.act(a4, "alert.acknowledge", at(3, 11), resolves=False)
    a5 = s.alert(demo, at(6, 20), label="abuse", severity="high", deadline=timedelta(hours=24),
                 author="parent-7", name=AUTHOR_NAME)
    session.flush()
    return {
        "scanned": {"demo": 6 + 5, "parents-fb": 0},  # 6 plain items and 5 alerts' items
        "flags": {"safeguarding": 1, "threat": 1, "abuse": 2, "profanity": 1},
        "actions": {"hidden": 2, "deleted": 1, "dismissed (no breach)": 1, "escalated": 1},
        "deadlines": {"critical": (2, 0), "high": (1, 1), "low": (1, 1)},
        "handled": 4,
        "median": timedelta(hours=3),  # 2 h, 2 h, 4 h, 71 h
        "open_at_end": 2, "overdue_at_end": 1, "escalated_open": 1,
        "verified": 1, "failed": 1, "referrals": 1,
        "alert_ids": [a.id for a in (a0, a1, a2, a3, a4, a5)],
        "previous": {"scanned": 3, "flags": 1, "actions": 0},
    }
