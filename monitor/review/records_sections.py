"""The review pack's sections on removal requests and on retention applied: counts only.

Removal requests are judged by their own rules (`monitor.removals.policy`: overdue, in time);
retention applied is read from the purge's own audit events (`records.purge`, never
redacted) and the holds' and sign-offs' events, so the pack shows what was done, as recorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.models import AuditEvent, RemovalRequest, RemovalTarget
from monitor.records import redact
from monitor.records.purge import PURGE_ACTION
from monitor.removals import Resolution
from monitor.removals import policy as removal_policy
from monitor.review.figures import Period
from monitor.review.section import Section, pct, span

#: where a removal request pointed, as the pack's rows name it
TARGET_TITLES = {RemovalTarget.CHANNEL: "watched channels", RemovalTarget.OUTSIDE: "elsewhere"}
#: the audit actions the retention section counts, as it words them
HOLD_SET, HOLD_LIFTED, SIGNED_OFF = "records.hold", "records.release_hold", "records.sign_off"


@dataclass(frozen=True, slots=True)
class RemovalRow:
    """The removal requests made in the period on one kind of target."""

    where: str
    requests: int
    verified: int
    confirmed: int
    open: int
    open_overdue: int
    met: int
    #: closed ones, and open ones past their deadline at the period's end
    decided: int
    median_to_close: timedelta | None


def removal_rows(session: Session, period: Period) -> list[RemovalRow]:
    """One row per target kind, then the total, for requests made in `period`."""
    requests = session.execute(select(RemovalRequest).where(
        RemovalRequest.created_at >= period.start, RemovalRequest.created_at < period.end)
    ).scalars().all()
    groups = [(title, [r for r in requests if r.target == target])
              for target, title in TARGET_TITLES.items()]
    out = []
    for title, rows in [*groups, ("total", list(requests))]:
        closed = [r for r in rows if not removal_policy.is_open(r.status)
                  and r.resolved_at is not None]
        overdue = [r for r in rows
                   if removal_policy.is_overdue(r.status, r.due_at, period.end)]
        met = sum(1 for r in closed if r.resolved_at is not None
                  and removal_policy.in_time(r.due_at, r.resolved_at))
        times = [r.resolved_at - r.created_at for r in closed if r.resolved_at is not None]
        out.append(RemovalRow(
            where=title, requests=len(rows),
            verified=sum(1 for r in closed if r.resolution == Resolution.VERIFIED),
            confirmed=sum(1 for r in closed if r.resolution == Resolution.CONFIRMED),
            open=sum(1 for r in rows if removal_policy.is_open(r.status)),
            open_overdue=len(overdue), met=met, decided=len(closed) + len(overdue),
            median_to_close=(timedelta(seconds=median(t.total_seconds() for t in times))
                             if times else None)))
    return out


def removal_requests(session: Session, period: Period) -> Section:
    """Removal requests made in the year: by status, resolution and target; their times."""
    rows = removal_rows(session, period)
    total = rows[-1]
    text = (f"{total.requests} removal request(s) were made in the year: "
            f"{total.verified} taken down and verified on the platform, {total.confirmed} "
            f"confirmed gone from a page elsewhere by a moderator, {total.open} still open "
            f"({total.open_overdue} past their deadline). {total.met} of {total.decided} "
            f"met their deadline ({pct(total.met, total.decided)}); the median time from "
            f"request to closing was {span(total.median_to_close)}. Counts only: who asked, "
            "the addresses and the reasons stay in socmon.")
    return Section("removal_requests", "Removal requests", [text],
                   ["where", "requests", "verified", "confirmed", "open",
                    "open past deadline", "met deadline", "share met", "median time to close"],
                   [[r.where, str(r.requests), str(r.verified), str(r.confirmed), str(r.open),
                     str(r.open_overdue), str(r.met), pct(r.met, r.decided),
                     span(r.median_to_close)] for r in rows])


@dataclass(frozen=True, slots=True)
class RetentionFigures:
    """What the purge and the records' keepers did in the period."""

    runs: int
    removed: dict[str, int]
    kept_by_hold: int
    due_for_review: int
    holds_set: int
    holds_lifted: int
    signed_off: int


def retention_figures(session: Session, period: Period) -> RetentionFigures:
    """The sums of the period's `records.purge` events, and its holds and sign-offs."""
    in_period = (AuditEvent.at >= period.start, AuditEvent.at < period.end)
    removed: Counter[str] = Counter({kind: 0 for kind in redact.KINDS})
    runs = kept = due = 0
    for details in session.execute(select(AuditEvent.details).where(
            AuditEvent.action == PURGE_ACTION, *in_period)).scalars():
        runs += 1
        removed.update({k: int(v) for k, v in (details.get("counts") or {}).items()})
        kept += int(details.get("kept_by_hold") or 0)
        due += len(details.get("due_for_review") or [])
    actions: dict[str, int] = {action: int(n) for action, n in session.execute(
        select(AuditEvent.action, func.count()).where(
            AuditEvent.action.in_((HOLD_SET, HOLD_LIFTED, SIGNED_OFF)), *in_period)
        .group_by(AuditEvent.action)).all()}
    return RetentionFigures(runs, dict(removed), kept, due, actions.get(HOLD_SET, 0),
                            actions.get(HOLD_LIFTED, 0), actions.get(SIGNED_OFF, 0))


def retention(session: Session, period: Period) -> Section:
    """Retention applied in the year: what the purge removed by kind, holds, sign-offs."""
    f = retention_figures(session, period)
    ran = (f"The daily purge ran {f.runs} time(s) in the year" if f.runs
           else "The daily purge did not run in the year")
    text = (f"{ran}; legal holds kept {f.kept_by_hold} item(s) past their time. "
            f"{f.holds_set} legal hold(s) were set and {f.holds_lifted} lifted. "
            f"{f.due_for_review} safeguarding record(s) came due for the DSL's review and "
            f"{f.signed_off} were signed off for removal. Counts only.")
    return Section("retention", "Retention applied", [text], ["what was removed", "count"],
                   [[redact.KIND_TITLES.get(kind, kind), f"{n:,}"]
                    for kind, n in f.removed.items()])
