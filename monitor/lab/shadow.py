"""Live shadow: the daemon classifies each new comment with the open candidate too.

The shadow verdicts are stored beside the live ones and open no alert; the lab compares
them with what the live policy did to the same comments.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from monitor.db import transaction
from monitor.lab.backtest import Report, decision_of
from monitor.lab.candidates import candidate_classifier, current_candidate
from monitor.models import Alert, Item, LabCandidate, ShadowVerdict, utcnow
from monitor.models import Verdict as VerdictRow
from monitor.runtime import Runtime, load_names

log = logging.getLogger(__name__)
SHADOW_JOB_ID = "lab-shadow"
#: how often the daemon catches up the shadow with what the polls stored
SHADOW_SECONDS = 30
BATCH = 256


def run_once(runtime: Runtime) -> int:
    """Shadow-classify the comments stored since the last run; how many were classified."""
    with runtime.factory() as session:
        row = current_candidate(session)
        if row is None or row.shadow_from is None or row.shadow_until is None:
            return 0
        last = session.execute(select(func.max(ShadowVerdict.item_id)).where(
            ShadowVerdict.candidate_id == row.id)).scalar_one() or 0
        items = list(session.execute(
            select(Item.id, Item.text, Item.platform, Item.author_id)
            .where(Item.id > last, Item.fetched_at >= row.shadow_from,
                   Item.fetched_at <= row.shadow_until, Item.is_own.is_(False))
            .order_by(Item.id).limit(BATCH * 8)))
        if not items:
            return 0
        classifier = candidate_classifier(session, runtime.settings, load_names(session))
        candidate_id = row.id
    from classifiers.org_rules import classify_authored

    verdicts = classify_authored(classifier, [i.text for i in items],
                                 [(i.platform, i.author_id) if i.author_id else None
                                  for i in items])
    now = utcnow()
    with transaction(runtime.factory) as session:
        session.execute(insert(ShadowVerdict), [
            {"candidate_id": candidate_id, "item_id": i.id,
             "labels": [x.value for x in v.labels], "severity": v.severity.value,
             "created_at": now} for i, v in zip(items, verdicts, strict=True)])
    return len(items)


def report(session: Any, runtime: Runtime, candidate: LabCandidate) -> Report:
    """Live shadow so far: the candidate's stored verdicts against the live ones."""
    from classifiers.base import Label, Severity, Verdict
    from monitor.lab.backtest import Change
    from monitor.routing import route

    now = utcnow()
    since = candidate.shadow_from or now
    until = min(candidate.shadow_until or now, now)
    rows = session.execute(
        select(ShadowVerdict.item_id, ShadowVerdict.labels, ShadowVerdict.severity,
               VerdictRow.labels, VerdictRow.severity, Item.created_at, Alert.state)
        .join(Item, Item.id == ShadowVerdict.item_id)
        .join(VerdictRow, VerdictRow.item_id == Item.id)
        .outerjoin(Alert, Alert.item_id == Item.id)
        .where(ShadowVerdict.candidate_id == candidate.id))
    # the weekly estimate scales what the shadow saw so far (at least an hour of it)
    weeks = max(until - since, timedelta(hours=1)) / timedelta(weeks=1)
    out = Report(weeks=weeks, since=since, until=until, method="live shadow")
    routing = runtime.settings.routing
    for item_id, labels, severity, live_labels, live_severity, created, state in rows:
        cand = Verdict(tuple(Label(x) for x in labels), {}, severity=Severity(severity))
        live = Verdict(tuple(Label(x) for x in live_labels), {}, severity=Severity(live_severity))
        cand_on = route(routing, cand, now=until) is not None
        live_on = route(routing, live, now=until) is not None
        out.comments += 1
        out.live_alerts += live_on
        out.candidate_alerts += cand_on
        if cand_on != live_on:
            change = Change(item_id, created, list(live_labels), live_severity, list(labels),
                            severity, decision_of(state))
            target = out.newly_flagged if cand_on else out.stopped
            target.append(change)
            if cand_on:
                out.new_count += 1
                out.new_by[f"{labels[0]}/{severity}"] += 1
                out.new_decisions[change.decision] += 1
            else:
                out.stopped_count += 1
                out.stopped_by[f"{live_labels[0]}/{live_severity}"] += 1
                out.stopped_decisions[change.decision] += 1
    return out


def register(scheduler: Any, runtime: Runtime, stop: threading.Event) -> None:
    """Daemon hook: the job that keeps the live shadow up with the polls."""
    def job() -> None:
        if stop.is_set():
            return
        try:
            run_once(runtime)
        except Exception:
            log.exception("the lab's live shadow failed; the next run retries")

    scheduler.add_job(job, "interval", id=SHADOW_JOB_ID, seconds=SHADOW_SECONDS,
                      replace_existing=True)
