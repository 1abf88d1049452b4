"""The digest's figures for one ISO week, computed with aggregate SQL (never a loop over items)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from classifiers.base import LABEL_ORDER, Label
from monitor.alerts import policy
from monitor.alerts.policy import EscalationTarget
from monitor.alerts.queries import label_clause
from monitor.models import (
    Alert,
    AuditEvent,
    Channel,
    ChannelHealth,
    ChannelState,
    Item,
    Verdict,
    utcnow,
)

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE | re.ASCII)

#: audit actions that close an alert: the first one is when it was "actioned"
RESOLVING_ACTIONS = ("alert.hide", "alert.delete", "alert.dismiss")
#: audit action -> what the digest calls it (retries count as the same action)
ACTION_NAMES = {
    "alert.hide": "hidden",
    "alert.retry_hide": "hidden",
    "alert.delete": "deleted",
    "alert.retry_delete": "deleted",
    "alert.dismiss": "dismissed (no breach)",
    "alert.escalate": "escalated",
}
FAILED_TAKEDOWN_ACTIONS = ("takedown.hide_failed", "takedown.delete_failed",
                           "takedown.verify_failed")
#: escalations that count as safeguarding referrals (only ever shown as a number)
REFERRAL_TARGETS = (EscalationTarget.SAFEGUARDING_LEAD.value, EscalationTarget.POLICE.value)
#: labels whose text may be quoted (redacted) when the config allows; never safeguarding,
#: identifying or sexual content, which could identify or concern a child
QUOTABLE_LABELS = (Label.THREAT, Label.HATE, Label.ABUSE, Label.PROFANITY)
#: labels that keep a comment out of the quotations even beside a quotable one
CHILD_SAFETY_LABELS = (Label.SAFEGUARDING, Label.IDENTIFYING, Label.SEXUAL)
#: no successful poll for this long, at the end of the week, is reported as an outage
OUTAGE = timedelta(hours=6)
REPEAT_THRESHOLD = 2
TOP_ACCOUNTS = 10
EXAMPLES = 3


class WeekError(ValueError):
    """A week was not written as an ISO week such as 2026-W46."""


@dataclass(frozen=True, order=True, slots=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday), e.g. 2026-W46."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Read "2026-W46" (or "2026W46"); WeekError when it is not a real ISO week."""
        match = _WEEK.match(text)
        if not match:
            raise WeekError(f"{text!r} is not an ISO week (expected e.g. 2026-W46)")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"{text!r}: {year} has no week {week}") from None
        return cls(year, week)

    @classmethod
    def containing(cls, moment: datetime, tz: ZoneInfo) -> IsoWeek:
        """The week that `moment` falls in, on the wall clock of `tz`."""
        year, week, _ = moment.astimezone(tz).isocalendar()
        return cls(year, week)

    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.week, 1)

    def shift(self, weeks: int) -> IsoWeek:
        """The week `weeks` later (negative: earlier)."""
        year, week, _ = (self.monday() + timedelta(weeks=weeks)).isocalendar()
        return IsoWeek(year, week)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight Monday to the next (167 or 169 h across DST)."""
        start = datetime.combine(self.monday(), time(0), tzinfo=tz)
        end = datetime.combine(self.monday() + timedelta(weeks=1), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@dataclass(frozen=True, slots=True)
class ChannelScan:
    """Items scanned on one channel in the week."""

    name: str
    platform: str
    items: int


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """Alerts of one severity whose deadline fell in the week, and how many were met."""

    severity: str
    due: int
    in_time: int

    @property
    def share(self) -> float | None:
        """Fraction handled in time (None when nothing was due)."""
        return self.in_time / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class RepeatAccount:
    """An account flagged more than once in the week; `name` only when the config allows."""

    platform: str
    alerts: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """Something that stopped a channel being watched properly."""

    channel: str
    platform: str
    kind: str
    detail: str
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Headline:
    """The figures compared week on week and drawn in the trend chart."""

    week: IsoWeek
    scanned: int
    flags: int
    actions: int
    due: int
    in_time: int
    open_at_end: int
    overdue_at_end: int

    @property
    def in_time_share(self) -> float | None:
        """Share of deadlines met (None when nothing was due)."""
        return self.in_time / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class Example:
    """A redacted quotation, only produced when the config allows quoting."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class DigestStats:
    """Everything the digest says about one week."""

    week: IsoWeek
    timezone: str
    start: datetime
    #: the week's end, or the moment of computing while the week is still running
    end: datetime
    partial: bool
    scanned: list[ChannelScan]
    flags_by_label: dict[str, int]
    flags_by_severity: dict[str, int]
    actions: dict[str, int]
    deadlines: list[DeadlineRow]
    handled: int
    median_time_to_action: timedelta | None
    open_at_end: int
    overdue_at_end: int
    escalated_open: int
    takedowns_verified: int
    takedowns_failed: int
    safeguarding_referrals: int
    repeat_accounts: list[RepeatAccount]
    repeat_accounts_total: int
    channel_problems: list[ChannelProblem]
    trend: list[Headline]
    examples: list[Example] = field(default_factory=list)

    @property
    def current(self) -> Headline:
        """This week's headline figures."""
        return self.trend[-1]

    @property
    def previous(self) -> Headline:
        """Last week's headline figures."""
        return self.trend[-2]

    @property
    def scanned_total(self) -> int:
        """Items scanned on every channel."""
        return sum(c.items for c in self.scanned)

    @property
    def quiet(self) -> bool:
        """Nothing at all happened (no items, flags or actions)."""
        return not (self.scanned_total or self.current.flags or self.current.actions
                    or self.open_at_end)


# --- SQL building blocks ---------------------------------------------------------------------


def _seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """Seconds from `earlier` to `later`, in SQL, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast((func.julianday(later) - func.julianday(earlier)) * 86400.0, Float)
    return cast(func.extract("epoch", later - earlier), Float)


def _first_action_at() -> Any:
    # Correlated per alert and served by ix_audit_target, so the cost follows the alerts
    # considered, not the size of the whole audit trail.
    first = (
        select(func.min(AuditEvent.at))
        .where(AuditEvent.target_type == "alert",
               AuditEvent.target_id == cast(Alert.id, String),
               AuditEvent.action.in_(RESOLVING_ACTIONS))
        .correlate(Alert)
        .scalar_subquery()
    )
    # resolved_at covers alerts closed before the audit trail recorded actions this way.
    return func.coalesce(first, Alert.resolved_at)


def _in_week(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _count(session: Session, *where: ColumnElement[bool], model: Any = Alert) -> int:
    return int(session.execute(select(func.count()).select_from(model).where(*where))
               .scalar_one())


def _ordered(counts: dict[str, int], order: tuple[str, ...]) -> dict[str, int]:
    known = {str(k): counts[k] for k in order if counts.get(k)}
    extra = {k: v for k, v in sorted(counts.items()) if k not in order and v}
    return {**known, **extra}


# --- the figures -----------------------------------------------------------------------------


def scanned_by_channel(session: Session, start: datetime, end: datetime) -> list[ChannelScan]:
    """Items fetched in [start, end) per channel, every channel listed (zero included)."""
    counts = dict(session.execute(
        select(Item.channel_id, func.count())
        .where(_in_week(Item.fetched_at, start, end))
        .group_by(Item.channel_id)
    ).all())
    channels = session.execute(select(Channel.id, Channel.name, Channel.platform)
                               .order_by(Channel.name)).all()
    return [ChannelScan(name, platform, int(counts.get(cid, 0)))
            for cid, name, platform in channels]


def _deadline_rows(session: Session, start: datetime, end: datetime,
                   acted_at: Any) -> list[DeadlineRow]:
    # The cohort is the alerts whose deadline fell in the week: each alert is judged in
    # exactly one digest, and its outcome is final when the week ends.
    rows = session.execute(
        select(Alert.severity, func.count(),
               func.sum(case((policy.in_time_sql(acted_at), 1), else_=0)))
        .where(_in_week(Alert.due_at, start, end))
        .group_by(Alert.severity)
    ).all()
    by_severity = {sev: DeadlineRow(sev, int(n), int(ok or 0)) for sev, n, ok in rows}
    order = [s.value for s in policy.SEVERITY_ORDER if s in by_severity]
    order += sorted(s for s in by_severity if s not in order)
    return [by_severity[s] for s in order]


def _median_time_to_action(session: Session, start: datetime, end: datetime,
                           acted_at: Any) -> tuple[int, timedelta | None]:
    # Alerts first handled during the week; resolved_at >= start narrows the scan because
    # the first action is never later than the (last) resolution.
    seconds = _seconds_between(session, acted_at, Alert.created_at)
    handled = (
        select(seconds.label("s"))
        .where(Alert.resolved_at >= start, Alert.created_at < end,
               _in_week(acted_at, start, end))
        .subquery()
    )
    n = int(session.execute(select(func.count()).select_from(handled)).scalar_one())
    if n == 0:
        return 0, None
    # The median by ORDER BY ... OFFSET: the database sorts, two values come back.
    middle = session.execute(
        select(handled.c.s).order_by(handled.c.s).offset((n - 1) // 2).limit(2 - n % 2)
    ).scalars().all()
    value = sum(float(v) for v in middle) / len(middle)
    return n, timedelta(seconds=round(max(value, 0.0)))


def _actions(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    rows = session.execute(
        select(AuditEvent.action, func.count())
        .where(AuditEvent.action.in_(ACTION_NAMES), _in_week(AuditEvent.at, start, end))
        .group_by(AuditEvent.action)
    ).all()
    out: dict[str, int] = {}
    for action, n in rows:
        name = ACTION_NAMES[action]
        out[name] = out.get(name, 0) + int(n)
    return _ordered(out, tuple(dict.fromkeys(ACTION_NAMES.values())))


def _distinct_targets(session: Session, start: datetime, end: datetime,
                      *where: ColumnElement[bool]) -> int:
    return int(session.execute(
        select(func.count(distinct(AuditEvent.target_id)))
        .where(AuditEvent.target_type == "alert", _in_week(AuditEvent.at, start, end), *where)
    ).scalar_one())


def _referrals(session: Session, start: datetime, end: datetime) -> int:
    to = AuditEvent.details["to"].as_string()
    return _distinct_targets(
        session, start, end,
        or_(and_(AuditEvent.action == "alert.escalate", to.in_(REFERRAL_TARGETS)),
            AuditEvent.action == "alert.acknowledge"),
    )


def _repeat_accounts(session: Session, start: datetime, end: datetime, *,
                     with_names: bool) -> tuple[int, list[RepeatAccount]]:
    n_alerts = func.count(Alert.id)
    # Flags outside the safeguarding lane: only these may put a name in the digest.
    n_other = func.sum(case((policy.lane_sql(), 0), else_=1))
    grouped = (
        select(Item.platform, Item.author_id, n_alerts.label("n"), n_other.label("other"),
               func.max(Item.author_name).label("name"))
        .join(Item, Item.id == Alert.item_id)
        .where(_in_week(Alert.created_at, start, end), Item.author_id.is_not(None),
               Item.is_own.is_(False))
        .group_by(Item.platform, Item.author_id)
        .having(n_alerts >= REPEAT_THRESHOLD)
        .subquery()
    )
    total = int(session.execute(select(func.count()).select_from(grouped)).scalar_one())
    rows = session.execute(
        select(grouped.c.platform, grouped.c.n, grouped.c.other, grouped.c.name)
        .order_by(grouped.c.n.desc(), grouped.c.platform).limit(TOP_ACCOUNTS)
    ).all()
    # An account is named only when its other flags alone make it a repeat account: one
    # raising safeguarding concerns may be a child at risk, and a name in a forwarded e-mail
    # would say so (one swear word beside two disclosures does not make it fair game).
    return total, [RepeatAccount(p, int(n), name if with_names and other >= REPEAT_THRESHOLD
                                 else None)
                   for p, n, other, name in rows]


def _channel_problems(session: Session, start: datetime, end: datetime,
                      scanned: list[ChannelScan]) -> list[ChannelProblem]:
    # The channel table holds current health only; a problem that began before the week
    # ended is reported (one that started later belongs to a later digest).
    items = {c.name: c.items for c in scanned}
    rows = session.execute(
        select(Channel, ChannelState).outerjoin(ChannelState).order_by(Channel.name)
    ).all()
    problems: list[ChannelProblem] = []
    for channel, state in rows:  # one row per configured channel, a handful
        if not channel.enabled:
            continue
        health = ChannelHealth(state.health) if state else ChannelHealth.NEW
        failed_at = state.last_error_at if state else None
        last_ok = state.last_success_at if state else None
        started = failed_at is not None and failed_at < end
        if health is ChannelHealth.NEEDS_REAUTH and started:
            problems.append(ChannelProblem(
                channel.name, channel.platform, "needs re-authorisation",
                "the platform rejected socmon's access token (expired or revoked); "
                "no comments are being checked until an administrator reconnects it",
                since=failed_at))
        elif health in (ChannelHealth.ERROR, ChannelHealth.DEGRADED,
                        ChannelHealth.RATE_LIMITED) and started:
            problems.append(ChannelProblem(
                channel.name, channel.platform, f"polling {health.value.replace('_', ' ')}",
                f"{state.consecutive_failures if state else 0} failed polls in a row",
                since=failed_at))
        down_since = last_ok or (channel.created_at if channel.created_at < end else None)
        if (health is not ChannelHealth.OK and down_since is not None
                and end - max(down_since, start) >= OUTAGE):
            hours = (end - max(down_since, start)).total_seconds() / 3600
            problems.append(ChannelProblem(
                channel.name, channel.platform, "outage",
                f"no successful poll for {hours:.0f} hours of this week", since=last_ok))
        if items.get(channel.name, 0) == 0 and channel.created_at < start:
            problems.append(ChannelProblem(
                channel.name, channel.platform, "nothing collected",
                "no items were collected this week; check the channel if that is unexpected"))
    return problems


def _bounds(week: IsoWeek, tz: ZoneInfo, now: datetime | None) -> tuple[datetime, datetime]:
    # A week still in progress ends now: a deadline later this week is not yet missed.
    start, end = week.bounds(tz)
    return start, min(end, now or utcnow())


def headline(session: Session, week: IsoWeek, tz: ZoneInfo, *,
             now: datetime | None = None) -> Headline:
    """The few figures compared week on week (each a single aggregate query)."""
    start, end = _bounds(week, tz, now)
    acted_at = _first_action_at()
    scanned = _count(session, _in_week(Item.fetched_at, start, end), model=Item)
    flags = _count(session, _in_week(Alert.created_at, start, end))
    actions = _count(session, AuditEvent.action.in_(ACTION_NAMES),
                     _in_week(AuditEvent.at, start, end), model=AuditEvent)
    due, in_time = session.execute(
        select(func.count(), func.coalesce(func.sum(case((policy.in_time_sql(acted_at), 1),
                                                          else_=0)), 0))
        .where(_in_week(Alert.due_at, start, end))
    ).one()
    open_now = and_(Alert.created_at < end,
                    or_(Alert.resolved_at.is_(None), Alert.resolved_at >= end))
    open_at_end, overdue = session.execute(
        select(func.count(), func.coalesce(func.sum(
            case((policy.past_due_sql(end), 1), else_=0)), 0)).where(open_now)
    ).one()
    return Headline(week, scanned, flags, actions, int(due), int(in_time), int(open_at_end),
                    int(overdue))


_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_DIGITS = re.compile(r"\d[\d\s-]{4,}\d")


def redact(text: str, spans: list[Any], *, limit: int = 160) -> str:
    """Mask flagged spans, handles, links, e-mail addresses and long numbers; shorten."""
    chars = list(text)
    for span in spans:
        try:
            lo, hi = int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError):
            continue
        lo, hi = max(0, lo), min(len(chars), hi)
        for i in range(lo, hi):  # within one short comment, not over rows
            chars[i] = "" if i > lo else f"[{span.get('label', 'redacted')}]"
    out = "".join(chars)
    for pattern, mask in ((_URL, "[link]"), (_EMAIL, "[e-mail]"), (_MENTION, "[@handle]"),
                          (_DIGITS, "[number]")):
        out = pattern.sub(mask, out)
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def _examples(session: Session, start: datetime, end: datetime) -> list[Example]:
    rows = session.execute(
        select(Alert.primary_label, Item.text, Verdict.spans)
        .join(Item, Item.id == Alert.item_id)
        .join(Verdict, Verdict.id == Alert.verdict_id)
        .where(_in_week(Alert.created_at, start, end),
               Alert.primary_label.in_([label.value for label in QUOTABLE_LABELS]),
               # never from the safeguarding lane, nor beside a label that is not quotable
               ~policy.lane_sql(),
               *(~label_clause(label) for label in CHILD_SAFETY_LABELS),
               func.json_array_length(Verdict.spans) > 0)
        .order_by(Alert.severity_rank.desc(), Alert.id)
        .limit(EXAMPLES)
    ).all()
    # Only comments where the classifier marked what to hide are quoted: without spans
    # there is nothing principled to redact.
    return [Example(label, redact(text, list(spans or []))) for label, text, spans in rows]


def compute(session: Session, week: IsoWeek, tz: ZoneInfo, *, with_names: bool = False,
            with_examples: bool = False, now: datetime | None = None) -> DigestStats:
    """Every figure of the digest for `week` on the wall clock of `tz` (up to `now`)."""
    now = now or utcnow()
    start, end = _bounds(week, tz, now)
    partial = end < week.bounds(tz)[1]
    acted_at = _first_action_at()
    scanned = scanned_by_channel(session, start, end)
    labels = dict(session.execute(
        select(Alert.primary_label, func.count())
        .where(_in_week(Alert.created_at, start, end)).group_by(Alert.primary_label)
    ).all())
    severities = dict(session.execute(
        select(Alert.severity, func.count())
        .where(_in_week(Alert.created_at, start, end)).group_by(Alert.severity)
    ).all())
    handled, median = _median_time_to_action(session, start, end, acted_at)
    open_now = and_(Alert.created_at < end,
                    or_(Alert.resolved_at.is_(None), Alert.resolved_at >= end))
    escalated_open = _count(session, open_now, Alert.escalated_to.is_not(None))
    verified = _distinct_targets(session, start, end, AuditEvent.action == "takedown.verified")
    failed = _distinct_targets(session, start, end,
                               AuditEvent.action.in_(FAILED_TAKEDOWN_ACTIONS))
    repeat_total, repeat = _repeat_accounts(session, start, end, with_names=with_names)
    trend = [headline(session, week.shift(-k), tz, now=now) for k in (3, 2, 1, 0)]
    return DigestStats(
        week=week, timezone=tz.key, start=start, end=end, partial=partial,
        scanned=scanned,
        flags_by_label=_ordered({k: int(v) for k, v in labels.items()}, LABEL_ORDER),
        flags_by_severity=_ordered({k: int(v) for k, v in severities.items()},
                                   policy.SEVERITY_ORDER),
        actions=_actions(session, start, end),
        deadlines=_deadline_rows(session, start, end, acted_at),
        handled=handled, median_time_to_action=median,
        open_at_end=trend[-1].open_at_end, overdue_at_end=trend[-1].overdue_at_end,
        escalated_open=escalated_open,
        takedowns_verified=verified, takedowns_failed=failed,
        safeguarding_referrals=_referrals(session, start, end),
        repeat_accounts=repeat, repeat_accounts_total=repeat_total,
        channel_problems=_channel_problems(session, start, end, scanned),
        trend=trend,
        examples=_examples(session, start, end) if with_examples else [],
    )




# --- the same figures over any period (the annual review pack reads these) -------------------


def period_volumes(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """Items scanned and alerts opened in [start, end)."""
    return (_count(session, _in_week(Item.fetched_at, start, end), model=Item),
            _count(session, _in_week(Alert.created_at, start, end)))


def deadline_rows(session: Session, start: datetime, end: datetime) -> list[DeadlineRow]:
    """Alerts by severity whose deadline fell in [start, end), and how many were met."""
    return _deadline_rows(session, start, end, _first_action_at())


def median_time_to_action(session: Session, start: datetime,
                          end: datetime) -> tuple[int, timedelta | None]:
    """Alerts first handled in [start, end) and their median time from opening to action."""
    return _median_time_to_action(session, start, end, _first_action_at())


def referrals(session: Session, start: datetime, end: datetime) -> int:
    """Safeguarding referrals in [start, end): a count, never what they were about."""
    return _referrals(session, start, end)


def takedowns(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """Takedowns verified on the platform and takedowns that failed, in [start, end)."""
    return (_distinct_targets(session, start, end, AuditEvent.action == "takedown.verified"),
            _distinct_targets(session, start, end,
                              AuditEvent.action.in_(FAILED_TAKEDOWN_ACTIONS)))
