"""The annual review's figures for one year: aggregates only, never a comment or a child's name.

Where the weekly digest already computes a figure (volumes, deadlines, time to action,
referrals, takedowns), the same code in `monitor/digest/stats.py` is called over the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.orm import Session

from classifiers.base import LABEL_ORDER
from connectors.base import Action
from monitor import changes
from monitor.alerts import policy
from monitor.digest import stats
from monitor.models import (
    Alert,
    AlertState,
    AuditEvent,
    Channel,
    ChannelHealth,
    ChannelState,
    User,
    utcnow,
)
from monitor.people.roles import DSL, Role
from monitor.poller import HEALTH_CHANGED
from monitor.privacy import role_title
from monitor.retrain import NEGATIVE_REASONS

#: channel health that means nothing is being checked (NEW: not polled yet, not an outage)
DOWN = frozenset({ChannelHealth.DEGRADED, ChannelHealth.RATE_LIMITED,
                  ChannelHealth.NEEDS_REAUTH, ChannelHealth.ERROR})
#: the outcome columns of the flags-by-label table, in order
OUTCOMES = ("hidden", "deleted", "dismissed", "escalated", "open")


class YearError(ValueError):
    """The year asked for cannot be reviewed (in the future, or not a year)."""


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar year on the organisation's wall clock, as UTC bounds; `end` may be now."""

    year: int
    timezone: str
    start: datetime
    end: datetime
    partial: bool

    @classmethod
    def of(cls, year: int, timezone: str, *, now: datetime | None = None) -> Period:
        """The year `year` in `timezone`, up to `now` while it runs; YearError if not begun."""
        tz = ZoneInfo(timezone)
        now = now or utcnow()
        if not 2000 <= year <= 2999:
            raise YearError(f"{year} is not a year socmon can review (expected e.g. 2026)")
        start = datetime(year, 1, 1, tzinfo=tz).astimezone(ZoneInfo("UTC"))
        full_end = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(ZoneInfo("UTC"))
        if start > now:
            raise YearError(f"{year} has not begun yet")
        return cls(year, timezone, start, min(full_end, now), now < full_end)

    def months(self) -> list[tuple[str, datetime, datetime]]:
        """Each month of the year up to `end`: label, start, end (UTC)."""
        tz = ZoneInfo(self.timezone)
        out = []
        for month in range(1, 13):
            lo = datetime(self.year, month, 1, tzinfo=tz).astimezone(ZoneInfo("UTC"))
            nxt = (datetime(self.year + 1, 1, 1, tzinfo=tz) if month == 12
                   else datetime(self.year, month + 1, 1, tzinfo=tz))
            hi = min(nxt.astimezone(ZoneInfo("UTC")), self.end)
            if lo >= self.end:
                break
            out.append((lo.astimezone(tz).strftime("%B"), lo, hi))
        return out


@dataclass(frozen=True, slots=True)
class Lead:
    """A person named as responsible."""

    role: str
    name: str


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A channel watched and how many items were read on it in the year."""

    name: str
    platform: str
    enabled: bool
    items: int


@dataclass(frozen=True, slots=True)
class MonthRow:
    """Items read and alerts opened in one month."""

    month: str
    scanned: int
    flags: int


@dataclass(frozen=True, slots=True)
class LabelRow:
    """Alerts opened in the year with this primary label, and where each stands now."""

    label: str
    flags: int
    outcomes: dict[str, int]


@dataclass(frozen=True, slots=True)
class Outage:
    """A spell when a channel was not being checked."""

    channel: str
    platform: str
    start: datetime
    end: datetime
    health: str
    ongoing: bool

    @property
    def hours(self) -> float:
        """Its length in hours (within the year)."""
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class ReviewFigures:
    """Every figure of the annual review pack."""

    period: Period
    leads: list[Lead]
    channels: list[ChannelRow]
    months: list[MonthRow]
    by_label: list[LabelRow]
    deadlines: list[stats.DeadlineRow]
    handled: int
    median_time_to_action: timedelta | None
    referrals: int
    takedowns_verified: int
    takedowns_failed: int
    decided: int
    false_alarms: int
    changes: list[changes.Change]
    outages: list[Outage]
    #: interruptions shorter than the digest's outage threshold, counted only
    short_interruptions: int

    @property
    def scanned(self) -> int:
        """Items read in the year."""
        return sum(m.scanned for m in self.months)

    @property
    def flags(self) -> int:
        """Alerts opened in the year."""
        return sum(m.flags for m in self.months)

    @property
    def false_alarm_rate(self) -> float | None:
        """Share of decided alerts dismissed as a false alarm (None: nothing decided)."""
        return self.false_alarms / self.decided if self.decided else None


def leads(session: Session, *, senior: str = "", governor: str = "") -> list[Lead]:
    """The named leads: from the config, then the active DSLs and admins (staff, not pupils)."""
    out = [Lead("senior leadership lead", senior or "not named (set review.senior_lead)"),
           Lead("governor lead", governor or "not named (set review.governor_lead)")]
    rows = session.execute(
        select(User.role, User.display_name, User.username)
        .where(User.role.in_([r.value for r in DSL]), User.disabled.is_(False))
        .order_by(User.role.desc(), User.username)
    ).all()
    out += [Lead(role_title(Role(role)), display or username) for role, display, username in rows]
    return out


def _outcome(state: AlertState, resolution: str | None) -> str:
    if policy.is_open(state):
        return "escalated" if state is AlertState.ESCALATED else "open"
    if state is AlertState.DISMISSED:
        return "dismissed"
    return "deleted" if resolution == Action.DELETE.value else "hidden"


def _by_label(session: Session, period: Period) -> list[LabelRow]:
    rows = session.execute(
        select(Alert.primary_label, Alert.state, Alert.resolution, func.count())
        .where(Alert.created_at >= period.start, Alert.created_at < period.end)
        .group_by(Alert.primary_label, Alert.state, Alert.resolution)
    ).all()
    table: dict[str, dict[str, int]] = {}
    for label, state, resolution, n in rows:
        outcome = _outcome(AlertState(state), resolution)
        counts = table.setdefault(str(label), dict.fromkeys(OUTCOMES, 0))
        counts[outcome] += int(n)
    order = [str(label) for label in LABEL_ORDER if str(label) in table]
    order += sorted(set(table) - set(order))
    return [LabelRow(label, sum(table[label].values()), table[label]) for label in order]


def _decisions(session: Session, period: Period) -> tuple[int, int]:
    decided, false = session.execute(
        select(func.count(), func.coalesce(func.sum(case(
            (and_(Alert.state == AlertState.DISMISSED,
                  Alert.resolution.in_(NEGATIVE_REASONS)), 1), else_=0)), 0))
        .where(not_(policy.open_sql()),
               Alert.resolved_at >= period.start, Alert.resolved_at < period.end)
    ).one()
    return int(decided), int(false)


def outages(session: Session, period: Period) -> tuple[list[Outage], int]:
    """Spells of channel health other than OK, from the health events; and shorter ones."""
    channels = session.execute(
        select(Channel, ChannelState).outerjoin(ChannelState).order_by(Channel.name)).all()
    found: list[Outage] = []
    short = 0
    for channel, state in channels:  # the configured channels: a handful
        events = session.execute(
            select(AuditEvent.at, AuditEvent.details)
            .where(AuditEvent.action == HEALTH_CHANGED, AuditEvent.target_type == "channel",
                   AuditEvent.target_id == str(channel.id), AuditEvent.at < period.end)
            .order_by(AuditEvent.seq)
        ).all()
        spells: list[tuple[datetime, datetime | None, str]] = []
        down_since: datetime | None = None
        health = ""
        for at, details in events:
            to = ChannelHealth(details.get("to", ChannelHealth.OK))
            if to in DOWN and down_since is None:
                down_since, health = at, to.value
            elif to not in DOWN and down_since is not None:
                spells.append((down_since, at, health))
                down_since = None
        if down_since is not None:
            spells.append((down_since, None, health))
        if not events and state is not None and ChannelHealth(state.health) in DOWN \
                and state.last_error_at is not None:
            # down since before health changes were audited
            spells.append((state.last_error_at, None, str(state.health)))
        for lo, hi, what in spells:
            start, end = max(lo, period.start), min(hi or period.end, period.end)
            if end <= start:
                continue
            if end - start >= stats.OUTAGE:
                found.append(Outage(channel.name, channel.platform, start, end, what,
                                    hi is None or hi >= period.end))
            else:
                short += 1
    return found, short


def compute(session: Session, period: Period, *, senior_lead: str = "",
            governor_lead: str = "") -> ReviewFigures:
    """Every figure of the review of `period`."""
    enabled = dict(session.execute(select(Channel.name, Channel.enabled)).all())
    channels = [ChannelRow(c.name, c.platform, bool(enabled.get(c.name, True)), c.items)
                for c in stats.scanned_by_channel(session, period.start, period.end)]
    months = [MonthRow(name, *stats.period_volumes(session, lo, hi))
              for name, lo, hi in period.months()]
    handled, median = stats.median_time_to_action(session, period.start, period.end)
    verified, failed = stats.takedowns(session, period.start, period.end)
    decided, false = _decisions(session, period)
    spells, short = outages(session, period)
    return ReviewFigures(
        period=period,
        leads=leads(session, senior=senior_lead, governor=governor_lead),
        channels=channels, months=months, by_label=_by_label(session, period),
        deadlines=stats.deadline_rows(session, period.start, period.end),
        handled=handled, median_time_to_action=median,
        referrals=stats.referrals(session, period.start, period.end),
        takedowns_verified=verified, takedowns_failed=failed,
        decided=decided, false_alarms=false,
        changes=changes.list_changes(session, start=period.start, end=period.end),
        outages=spells, short_interruptions=short,
    )
