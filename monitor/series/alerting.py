"""One alert per series: opened on the newest comment of it that has no alert of its own, with
every comment of the series linked (and its evidence kept); later comments join it while open.
When every comment already has its own alert, the series joins the newest open one of those.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from classifiers.base import Label, make_verdict
from config.settings import Routing, SeriesRule
from monitor import alerts, audit, evidence, outbox
from monitor.alerts import policy
from monitor.ingest import NOTIFY_KIND
from monitor.models import (
    SEVERITY_RANK,
    Alert,
    AlertItem,
    Channel,
    Evidence,
    Item,
    SeriesAlert,
)
from monitor.models import Verdict as VerdictRow
from monitor.routing import route
from monitor.series.rules import Found
from monitor.series.signals import SERIES_MODEL_PREFIX
from monitor.sqlutil import insert_ignoring_conflicts

SYSTEM = "system"


def _open_series_alert(session: Session, found: Found) -> int | None:
    return session.execute(
        select(SeriesAlert.alert_id).join(Alert, Alert.id == SeriesAlert.alert_id)
        .where(SeriesAlert.rule == found.rule.name, SeriesAlert.subject == found.subject,
               policy.open_sql()).order_by(SeriesAlert.alert_id.desc()).limit(1)
    ).scalar_one_or_none()


def _link(session: Session, alert_id: int, item_ids: list[int], now: datetime) -> list[int]:
    """Link the items not linked yet, preserving each one's evidence; the newly linked ids."""
    have = set(session.execute(select(AlertItem.item_id).where(
        AlertItem.alert_id == alert_id)).scalars())
    new = [i for i in item_ids if i not in have]
    if not new:
        return []
    session.execute(insert_ignoring_conflicts(session, AlertItem, ["alert_id", "item_id"]),
                    [{"alert_id": alert_id, "item_id": i, "added_at": now} for i in new])
    for item, channel_name in session.execute(
            select(Item, Channel.name).join(Channel, Channel.id == Item.channel_id)
            .where(Item.id.in_(new)).order_by(Item.id)):
        evidence.preserve(session, item=item, channel_name=channel_name, alert_id=alert_id,
                          now=now)
    return new


def _attach(session: Session, found: Found, *, now: datetime) -> tuple[str, int] | None:
    """Every comment of the series has its own alert (one alert per item): the series joins the
    open alert of its newest comment instead, and a safeguarding series hands that alert to the
    safeguarding lead. None when no comment's alert is still open."""
    by_item = {m.item_id: m for m in found.members}
    candidates = [(by_item[item_id].at, item_id, alert_id) for alert_id, item_id in
                  session.execute(select(Alert.id, Alert.item_id).where(
                      Alert.item_id.in_(list(by_item)), policy.open_sql()))]
    if not candidates:
        return None
    target = max(candidates)[2]
    if session.get(SeriesAlert, target) is None:
        session.add(SeriesAlert(alert_id=target, rule=found.rule.name, subject=found.subject,
                                opened_at=now))
    added = _link(session, target, list(by_item), now)
    if not added:
        return None
    audit.record(session, actor=SYSTEM, action="alert.series_attach", target_type="alert",
                 target_id=target, details={"rule": found.rule.name, "items": added,
                                            "subject_sha256": audit.sha256_hex(found.subject)},
                 at=now)
    alert = session.get_one(Alert, target)
    if found.rule.label is Label.SAFEGUARDING and not policy.is_safeguarding(alert):
        alerts.escalate(session, alert_id=target, actor=SYSTEM,
                        to=alerts.EscalationTarget.SAFEGUARDING_LEAD)
    return "attached", target


def apply(session: Session, found: Found, limits: SeriesRule, *, routing: Routing,
          now: datetime) -> tuple[str, int] | None:
    """Open the series' alert, or add new comments to its open one, or attach the series to a
    comment's own open alert: ("opened" | "extended" | "attached", alert id), or None when
    nothing changed."""
    item_ids = [m.item_id for m in found.members]
    existing = _open_series_alert(session, found)
    if existing is not None:
        added = _link(session, existing, item_ids, now)
        if not added:
            return None
        audit.record(session, actor=SYSTEM, action="alert.series_extend", target_type="alert",
                     target_id=existing, details={"rule": found.rule.name, "items": added},
                     at=now)
        return "extended", existing
    alerted = set(session.execute(select(Alert.item_id).where(
        Alert.item_id.in_(item_ids))).scalars())
    free = [m for m in found.members if m.item_id not in alerted]
    if not free:
        return _attach(session, found, now=now)
    anchor = max(free, key=lambda m: (m.at, m.item_id)).item_id
    reason = found.reason(limits)
    label = found.rule.label
    verdict = make_verdict([label], {label: 1.0}, reasons=[reason],
                           model_version=f"{SERIES_MODEL_PREFIX}{found.rule.name}")
    decided = route(routing, verdict, now=now)
    if decided is None:
        return None
    item = session.get_one(Item, anchor)
    verdict_id = session.execute(insert(VerdictRow).returning(VerdictRow.id), [{
        "item_id": anchor, "model_version": verdict.model_version, "labels": [label.value],
        "scores": {label.value: 1.0}, "spans": [], "reasons": [reason],
        "severity": verdict.severity.value, "created_at": now}]).scalar_one()
    opened = session.execute(
        insert_ignoring_conflicts(session, Alert, ["item_id"]).returning(Alert.id), [{
            "item_id": anchor, "verdict_id": verdict_id, "channel_id": item.channel_id,
            "queue": decided.queue, "labels": [label.value],
            "primary_label": decided.primary_label.value, "severity": decided.severity.value,
            "severity_rank": SEVERITY_RANK[decided.severity.value], "state": "new",
            "created_at": now, "updated_at": now, "due_at": decided.due_at,
            "takedown_status": "none"}]).scalar_one_or_none()
    if opened is None:  # another writer opened an alert on the anchor meanwhile
        return None
    session.add(SeriesAlert(alert_id=opened, rule=found.rule.name, subject=found.subject,
                            opened_at=now))
    _link(session, opened, item_ids, now)
    session.flush()
    anchor_evidence = session.execute(
        select(Evidence.sha256).where(Evidence.alert_id == opened, Evidence.item_id == anchor)
    ).scalar_one()
    audit.record(session, actor=SYSTEM, action="alert.open", target_type="alert",
                 target_id=opened, details={
                     "rule": found.rule.name, "labels": [label.value],
                     "severity": decided.severity.value, "queue": decided.queue,
                     "model_version": verdict.model_version, "items": sorted(item_ids),
                     "subject_sha256": audit.sha256_hex(found.subject)},
                 evidence_sha256=anchor_evidence, at=now)
    if decided.notify and decided.severity.rank >= 3:
        outbox.enqueue(session, kind=NOTIFY_KIND, payload={
            "alert_id": opened, "roles": [r.value for r in decided.notify],
            "queue": decided.queue, "label": decided.primary_label.value},
            dedupe_key=f"notify:alert:{opened}")
    return "opened", opened
