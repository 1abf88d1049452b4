"""The series rules: which signals each counts, over whose recent window, against which settings.

Each rule's thresholds live in `settings.series.<rule name>` (one home); this table says what
the rule counts. A rule "by author" follows one author (see `identity`) and counts the distinct
people addressed; a rule "by target" follows one target (a person addressed, or a site linked)
and counts the distinct authors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Label
from config.settings import Series as SeriesSettings
from config.settings import SeriesRule
from monitor.alerts import policy
from monitor.models import Alert, AlertItem, SeriesAlert, SeriesSignal
from monitor.series import identity
from monitor.series.signals import Kind


class By(StrEnum):
    """Whose recent window a rule looks at."""

    AUTHOR = "author"
    TARGET = "target"


@dataclass(frozen=True, slots=True)
class Rule:
    """One series rule: its name (its settings key), what it counts, the label it raises."""

    name: str
    kind: Kind
    by: By
    label: Label
    #: what "distinct" counts, in the alert's reason
    distinct_noun: str
    #: the reason's wording, with the counts filled in
    title: str


RULES: tuple[Rule, ...] = (
    Rule("contact_seeking", Kind.CONTACT, By.AUTHOR, Label.SAFEGUARDING, "people addressed",
         "one author asked for ages, schools or private contact"),
    Rule("targeting", Kind.HOSTILE, By.TARGET, Label.ABUSE, "accounts",
         "one person was targeted with hostile comments by several accounts"),
    Rule("spam_wave", Kind.LINK, By.TARGET, Label.SPAM, "accounts",
         "several accounts posted links to the same site"),
)


def thresholds(settings: SeriesSettings, rule: Rule) -> SeriesRule:
    """A rule's thresholds from the settings (the field of the rule's name)."""
    value = getattr(settings, rule.name)
    assert isinstance(value, SeriesRule)
    return value


@dataclass(frozen=True, slots=True)
class Member:
    """One comment of a series."""

    item_id: int
    platform: str
    author: str
    target: str | None
    at: datetime


@dataclass
class Found:
    """A series that meets its rule's thresholds."""

    rule: Rule
    subject: str
    members: list[Member] = field(default_factory=list)

    def distinct(self) -> set[str]:
        """What the rule counts as distinct: people addressed, or authors."""
        if self.rule.by is By.AUTHOR:
            return {m.target for m in self.members if m.target is not None}
        return {m.author for m in self.members}

    def platforms(self) -> set[str]:
        """The platforms the series spans."""
        return {m.platform for m in self.members}

    def meets(self, limits: SeriesRule) -> bool:
        """Whether the series is long and wide enough to open an alert."""
        return (len(self.members) >= limits.min_comments
                and len(self.distinct()) >= limits.min_distinct
                and len(self.platforms()) >= limits.min_platforms)

    def reason(self, limits: SeriesRule) -> str:
        """The alert's reason: what the rule saw, in counts (no names, no text)."""
        days = limits.window.total_seconds() / 86400
        span = f"{days:g} days" if days >= 1 else f"{limits.window.total_seconds() / 3600:g} h"
        return (f"series ({self.rule.name}): {self.rule.title}: {len(self.members)} comments, "
                f"{len(self.distinct())} {self.rule.distinct_noun}, {len(self.platforms())} "
                f"platform(s) within {span}")


def _closed_members(session: Session, rule: Rule) -> dict[str, set[int]]:
    """Comments already linked to a closed series alert of the rule, by subject: a new alert
    needs a new series."""
    out: dict[str, set[int]] = defaultdict(set)
    for subject, item_id in session.execute(
            select(SeriesAlert.subject, AlertItem.item_id)
            .join(AlertItem, AlertItem.alert_id == SeriesAlert.alert_id)
            .join(Alert, Alert.id == SeriesAlert.alert_id)
            .where(SeriesAlert.rule == rule.name, ~policy.open_sql())):
        out[subject].add(item_id)
    return out


def find(session: Session, settings: SeriesSettings, *, now: datetime) -> list[tuple[Found,
                                                                                      SeriesRule]]:
    """Every series that meets its rule's thresholds now, with those thresholds."""
    who = identity.load(session, match_handles=settings.match_handles)
    found: list[tuple[Found, SeriesRule]] = []
    for rule in RULES:
        limits = thresholds(settings, rule)
        if not limits.enabled:
            continue
        closed = _closed_members(session, rule)
        groups: dict[str, Found] = {}
        for s in session.execute(select(SeriesSignal).where(
                # no upper bound: a platform's clock a little ahead is still "recent"
                SeriesSignal.kind == rule.kind.value, SeriesSignal.at >= now - limits.window
                ).order_by(SeriesSignal.at, SeriesSignal.item_id)
                ).scalars():
            author = who.key(s.platform, s.author_id, s.handle)
            subject = author if rule.by is By.AUTHOR else s.target
            if subject is None or s.item_id in closed.get(subject, ()):
                continue
            groups.setdefault(subject, Found(rule, subject)).members.append(
                Member(s.item_id, s.platform, author, s.target, s.at))
        found.extend((f, limits) for f in groups.values() if f.meets(limits))
    return found
