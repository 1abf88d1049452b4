"""Organisation rules as drafts: add, edit and remove, each version kept and audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.base import Label, Severity
from classifiers.org_rules import OrgRule, OrgRuleSet, RuleKind
from monitor import audit
from monitor.live_policy import to_rule
from monitor.models import OrgRuleRow, OrgRuleVersion, RuleState, utcnow

MAX_TEXT = 200
MAX_REASON = 2_000


class RuleError(ValueError):
    """A rule or a change to one is not valid; the message says which field and why."""


class UnknownRule(RuleError):
    """No rule with that id."""


@dataclass(frozen=True, slots=True)
class RuleInput:
    """The fields of a rule as an administrator gives them."""

    kind: str
    text: str
    label: str
    severity: str = "high"
    queue: str = ""
    platform: str = ""


def check(data: RuleInput) -> OrgRule:
    """`data` as a rule, or a RuleError naming the bad field."""
    try:
        kind = RuleKind(data.kind)
    except ValueError:
        raise RuleError(f"kind: {data.kind!r} is not one of "
                        f"{', '.join(k.value for k in RuleKind)}") from None
    try:
        label = Label(data.label)
    except ValueError:
        raise RuleError(f"label: {data.label!r} is not one of "
                        f"{', '.join(v.value for v in Label)}") from None
    try:
        severity = Severity(data.severity)
    except ValueError:
        severity = Severity.NONE
    if severity is Severity.NONE:
        raise RuleError(f"severity: {data.severity!r} is not one of low, high, critical")
    text = data.text.strip()
    if not text or len(text) > MAX_TEXT:
        raise RuleError(f"text: between 1 and {MAX_TEXT} characters, please")
    rule = OrgRule(id=0, kind=kind, text=text, label=label, severity=severity,
                   queue=data.queue.strip()[:32], platform=data.platform.strip()[:32])
    try:
        OrgRuleSet.of([rule], "check")
    except ValueError:
        raise RuleError("text: the phrase has no letters or digits to match") from None
    return rule


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise RuleError("reason: every rule change needs a reason")
    if len(text) > MAX_REASON:
        raise RuleError(f"reason: at most {MAX_REASON} characters")
    return text


def _audit(session: Session, *, actor: str, action: str, row: OrgRuleVersion) -> None:
    # The rule's words are the organisation's, yet an allow-list may hold a staff member's
    # name: the trail keeps a hash of the text, never the text.
    audit.record(session, actor=actor, action=action, target_type="org_rule",
                 target_id=row.rule_id, details={
                     "version": row.version, "kind": row.kind, "label": row.label,
                     "severity": row.severity, "removed": row.removed,
                     "text_sha256": audit.sha256_hex(row.text),
                     "reason_sha256": audit.sha256_hex(row.reason)})


def _latest(session: Session, rule_id: int) -> OrgRuleVersion:
    row = session.execute(
        select(OrgRuleVersion).where(OrgRuleVersion.rule_id == rule_id)
        .order_by(OrgRuleVersion.version.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise UnknownRule(f"no rule {rule_id}")
    return row


def _new_version(session: Session, rule_id: int, rule: OrgRule, *, removed: bool,
                 reason: str, actor: str) -> OrgRuleVersion:
    """A draft version; an earlier draft of the same rule is replaced (kept as discarded)."""
    now = utcnow()
    for draft in session.execute(
            select(OrgRuleVersion).where(OrgRuleVersion.rule_id == rule_id,
                                         OrgRuleVersion.state == RuleState.DRAFT)).scalars():
        draft.state, draft.decided_at = RuleState.DISCARDED, now
    version = session.execute(
        select(func.coalesce(func.max(OrgRuleVersion.version), 0))
        .where(OrgRuleVersion.rule_id == rule_id)).scalar_one() + 1
    row = OrgRuleVersion(rule_id=rule_id, version=version, kind=rule.kind.value, text=rule.text,
                         label=rule.label.value, severity=rule.severity.value, queue=rule.queue,
                         platform=rule.platform, removed=removed, state=RuleState.DRAFT,
                         reason=reason, actor=actor, created_at=now)
    session.add(row)
    session.flush()
    return row


def add(session: Session, data: RuleInput, *, reason: str, actor: str) -> OrgRuleVersion:
    """A new rule, as a draft for the lab (audited; never commits)."""
    rule = check(data)
    why = _reason(reason)
    ident = OrgRuleRow(created_at=utcnow())
    session.add(ident)
    session.flush()
    row = _new_version(session, ident.id, rule, removed=False, reason=why, actor=actor)
    _audit(session, actor=actor, action="lab.rule.add", row=row)
    return row


def edit(session: Session, rule_id: int, data: RuleInput, *, reason: str,
         actor: str) -> OrgRuleVersion:
    """A new draft version of rule `rule_id` (audited; never commits)."""
    _latest(session, rule_id)
    rule = check(data)
    row = _new_version(session, rule_id, rule, removed=False, reason=_reason(reason),
                       actor=actor)
    _audit(session, actor=actor, action="lab.rule.edit", row=row)
    return row


def remove(session: Session, rule_id: int, *, reason: str, actor: str) -> OrgRuleVersion:
    """A draft that takes rule `rule_id` out when promoted (audited; never commits)."""
    latest = _latest(session, rule_id)
    rule = to_rule(latest)
    row = _new_version(session, rule_id, rule, removed=True, reason=_reason(reason), actor=actor)
    _audit(session, actor=actor, action="lab.rule.remove", row=row)
    return row


def drafts(session: Session) -> list[OrgRuleVersion]:
    """The draft versions waiting in the lab."""
    return list(session.execute(
        select(OrgRuleVersion).where(OrgRuleVersion.state == RuleState.DRAFT)
        .order_by(OrgRuleVersion.rule_id)).scalars())


def current(session: Session) -> list[OrgRuleVersion]:
    """Each rule's live version and its draft, if any (removed rules left out once live)."""
    rows = session.execute(
        select(OrgRuleVersion).where(OrgRuleVersion.state.in_([RuleState.LIVE, RuleState.DRAFT]))
        .order_by(OrgRuleVersion.rule_id, OrgRuleVersion.version)).scalars()
    return [r for r in rows if not (r.removed and r.state == RuleState.LIVE)]


def history(session: Session, rule_id: int) -> list[OrgRuleVersion]:
    """Every version of a rule, oldest first."""
    _latest(session, rule_id)
    return list(session.execute(
        select(OrgRuleVersion).where(OrgRuleVersion.rule_id == rule_id)
        .order_by(OrgRuleVersion.version)).scalars())


def with_drafts(session: Session) -> list[OrgRule]:
    """The rules as they would be if the drafts went live."""
    live = {r.rule_id: r for r in session.execute(
        select(OrgRuleVersion).where(OrgRuleVersion.state == RuleState.LIVE)).scalars()}
    for draft in drafts(session):
        live[draft.rule_id] = draft
    return [to_rule(row) for _, row in sorted(live.items()) if not row.removed]


def go_live(session: Session) -> list[OrgRuleVersion]:
    """Make every draft live, retiring the versions they replace (the caller audits)."""
    now = utcnow()
    promoted = drafts(session)
    ids = [d.rule_id for d in promoted]
    if ids:
        for old in session.execute(
                select(OrgRuleVersion).where(OrgRuleVersion.rule_id.in_(ids),
                                             OrgRuleVersion.state == RuleState.LIVE)).scalars():
            old.state, old.decided_at = RuleState.SUPERSEDED, now
    for draft in promoted:
        draft.state, draft.decided_at = RuleState.LIVE, now
    session.flush()
    return promoted


def drop_drafts(session: Session) -> list[OrgRuleVersion]:
    """Discard every draft (kept in the history as discarded; the caller audits)."""
    now = utcnow()
    dropped = drafts(session)
    for draft in dropped:
        draft.state, draft.decided_at = RuleState.DISCARDED, now
    session.flush()
    return dropped
