"""Back-testing a candidate on stored comments: what it would newly flag and stop flagging.

Live and candidate are judged the same way, side by side, on each stored comment of the
window: the classifier's own stored verdict (with any organisation rules it carried peeled
off) is the starting point. A change of rules or of per-label thresholds re-decides from the
stored scores (`classifiers.redecide`), so no model runs; a change of sensitivity (it moves
the encoder's gates: which texts get the second opinion) or of model re-classifies the texts.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from classifiers.base import Classifier, Label, ProtectedName, Severity, Verdict
from classifiers.org_rules import BASE_MARK, OrgRule, OrgRuleSet, base_of
from config.settings import Settings
from monitor import model_registry
from monitor.live_policy import Policy, build_classifier, live_policy
from monitor.models import Alert, AlertState, Item, ModelVersion, utcnow
from monitor.models import Verdict as VerdictRow
from monitor.routing import route

#: how many changed comments a report lists (the counts cover them all)
LISTED = 200
#: the fewest texts a re-classifying back-test hands the classifier at once: the batch the
#: classifier's own rate is measured with (bench.classifier.rate); the encoder sorts a batch
#: by length before padding, so batches of 256 ran about 15 % slower on one core
RECLASSIFY_BATCH = 1000


class BacktestError(ValueError):
    """The candidate cannot be run (an unknown model version, missing files)."""


@dataclass(frozen=True)
class Candidate:
    """A change to try: rules (None keeps the live ones), settings, a model version."""

    rules: Sequence[OrgRule] | None = None
    sensitivity: float | None = None
    thresholds: Mapping[Label, float] = field(default_factory=dict)
    model_version: str | None = None

    def policy(self, live: Policy) -> Policy:
        """The policy this candidate would put in force over `live`."""
        thresholds = {**live.thresholds, **self.thresholds}
        return Policy(
            sensitivity=live.sensitivity if self.sensitivity is None else self.sensitivity,
            thresholds=thresholds,
            rules=live.rules if self.rules is None else tuple(self.rules),
            model_version=self.model_version, version="candidate")

    def to_dict(self) -> dict[str, Any]:
        """The settings part as stored with a lab candidate (rules are stored as drafts)."""
        return {"sensitivity": self.sensitivity,
                "thresholds": {k.value: v for k, v in self.thresholds.items()},
                "model_version": self.model_version}


@dataclass
class Change:
    """One comment whose outcome differs between live and candidate."""

    item_id: int
    created_at: datetime
    live_labels: list[str]
    live_severity: str
    labels: list[str]
    severity: str
    #: what moderators did with its live alert: actioned, dismissed, open, or none
    decision: str


@dataclass
class Report:
    """A back-test's result: counts side by side, the changes, the moderators' view of them."""

    #: the window's length in weeks (a live shadow's may be a fraction)
    weeks: float
    since: datetime
    until: datetime
    method: str
    seconds: float = 0.0
    comments: int = 0
    live_alerts: int = 0
    candidate_alerts: int = 0
    newly_flagged: list[Change] = field(default_factory=list)
    stopped: list[Change] = field(default_factory=list)
    new_by: Counter[str] = field(default_factory=Counter)
    stopped_by: Counter[str] = field(default_factory=Counter)
    new_decisions: Counter[str] = field(default_factory=Counter)
    stopped_decisions: Counter[str] = field(default_factory=Counter)
    new_count: int = 0
    stopped_count: int = 0

    @property
    def alerts_per_week_change(self) -> float:
        """The estimated change in alerts a week (candidate minus live, over the window)."""
        return (self.candidate_alerts - self.live_alerts) / self.weeks

    def to_dict(self) -> dict[str, Any]:
        """JSON for `socmon lab backtest --json` (ids and labels, never comment text)."""
        def changes(rows: list[Change]) -> list[dict[str, Any]]:
            return [{"item_id": c.item_id, "created_at": c.created_at.isoformat(),
                     "live": {"labels": c.live_labels, "severity": c.live_severity},
                     "candidate": {"labels": c.labels, "severity": c.severity},
                     "moderators": c.decision} for c in rows]
        return {
            "weeks": self.weeks, "since": self.since.isoformat(), "until": self.until.isoformat(),
            "method": self.method, "seconds": round(self.seconds, 3), "comments": self.comments,
            "live_alerts": self.live_alerts, "candidate_alerts": self.candidate_alerts,
            "alerts_per_week_live": round(self.live_alerts / self.weeks, 2),
            "alerts_per_week_candidate": round(self.candidate_alerts / self.weeks, 2),
            "alerts_per_week_change": round(self.alerts_per_week_change, 2),
            "newly_flagged": {"count": self.new_count, "by_label_severity": dict(self.new_by),
                              "moderators": dict(self.new_decisions),
                              "items": changes(self.newly_flagged)},
            "stopped_flagging": {"count": self.stopped_count,
                                 "by_label_severity": dict(self.stopped_by),
                                 "moderators": dict(self.stopped_decisions),
                                 "items": changes(self.stopped)},
        }


def decision_of(state: str | None) -> str:
    """What moderators did with an alert, in the lab's four words."""
    if state is None:
        return "none"
    if state == AlertState.ACTIONED:
        return "actioned"
    if state == AlertState.DISMISSED:
        return "dismissed"
    return "open"


@dataclass(frozen=True, slots=True)
class _Row:
    item_id: int
    text: str
    author: tuple[str, str] | None
    created_at: datetime
    verdict: Verdict
    alert_state: str | None


#: labels by name (an enum call per label costs more than the rest of a row's decoding)
_LABELS = {label.value: label for label in Label}
#: the reasons a back-test reads: the organisation rules' marker and the derived safeguarding
_READ_REASONS = (BASE_MARK, "safeguarding: sexual")


def _verdict(labels: Sequence[str], scores: Mapping[str, float], reasons: str | None,
             severity: str, version: str) -> Verdict:
    """A stored verdict; its reasons (JSON text) are decoded only when they hold a line the
    back-test reads, since decoding every row's reasons was a third of a back-test's time."""
    found = _LABELS.get
    read = reasons is not None and (_READ_REASONS[0] in reasons or _READ_REASONS[1] in reasons)
    return Verdict(labels=tuple(x for x in map(found, labels) if x is not None),
                   scores={_LABELS[k]: float(v) for k, v in scores.items() if k in _LABELS},
                   reasons=tuple(json.loads(reasons)) if read and reasons else (),
                   model_version=version, severity=Severity(severity))


def stored_rows(session: Session, since: datetime, until: datetime) -> list[_Row]:
    """The comments of the window with their latest stored verdict and alert state."""
    query = (
        select(Item.id, Item.text, Item.platform, Item.author_id, Item.created_at,
               VerdictRow.labels, VerdictRow.scores, cast(VerdictRow.reasons, Text),
               VerdictRow.severity, VerdictRow.model_version, Alert.state)
        .join(VerdictRow, VerdictRow.item_id == Item.id)
        .outerjoin(Alert, Alert.item_id == Item.id)
        .where(Item.created_at >= since, Item.created_at < until, Item.is_own.is_(False))
        .order_by(Item.id, VerdictRow.id)
    )
    rows: dict[int, _Row] = {}
    for (item_id, text, platform, author_id, created, labels, scores, reasons, severity,
         version, state) in session.execute(query):
        rows[item_id] = _Row(item_id, text, (platform, author_id) if author_id else None,
                             created, _verdict(labels or (), scores or {}, reasons, severity,
                                               version), state)
    return list(rows.values())


def _cuts(classifier: Classifier) -> tuple[dict[str, float], float]:
    """A policy classifier's deciding thresholds and strong-evidence cut (none for others)."""
    from classifiers.policy import PolicyClassifier

    if not isinstance(classifier, PolicyClassifier):
        return {}, 0.9
    encoder = classifier.encoder
    strong = float(encoder.meta.get("strong", 0.9)) if encoder is not None else 0.9
    return classifier.thresholds(), strong


def model_dir_of(session: Session, data_dir: Path, version: str | None) -> Path | None:
    """The files of model `version` (None: the active one; None back: the packaged model)."""
    if version is None:
        return model_registry.active_model_path(session, data_dir)
    row = session.execute(
        select(ModelVersion).where(ModelVersion.version == version)).scalar_one_or_none()
    if row is None:
        raise BacktestError(f"model_version: no model version {version!r} is recorded")
    path = model_registry.version_dir(data_dir, row)
    if path is not None and not (path / "model.npz").is_file():
        raise BacktestError(f"model_version: model {version} has no files at {path}")
    return path


def _classified(classifier: Classifier, rows: Sequence[_Row], batch: int) -> list[Verdict]:
    """The classifier's verdicts on the rows' texts, handed over `batch` at a time (as
    ingest hands over a page), never one by one."""
    out: list[Verdict] = []
    for start in range(0, len(rows), batch):
        out.extend(classifier.classify([r.text for r in rows[start:start + batch]]))
    return out


def backtest(session: Session, settings: Settings, candidate: Candidate, *, weeks: int,
             names: Sequence[ProtectedName] = (), now: datetime | None = None) -> Report:
    """Run `candidate` and the live policy over the last `weeks` weeks of stored comments."""
    if not 1 <= weeks <= 520:
        raise BacktestError("weeks: between 1 and 520, please")
    started = time.perf_counter()
    until = now or utcnow()
    since = until - timedelta(weeks=weeks)
    live = live_policy(session, settings)
    proposed = candidate.policy(live)
    name = settings.classifier.name
    live_dir = model_dir_of(session, settings.data_dir, None)
    rerun = (proposed.sensitivity != live.sensitivity or candidate.model_version is not None)
    rows = stored_rows(session, since, until)
    report = Report(weeks=weeks, since=since, until=until,
                    method="re-classified" if rerun else "stored scores", comments=len(rows))
    live_rules = OrgRuleSet.of(live.rules, "live")
    cand_rules = OrgRuleSet.of(proposed.rules, "candidate")
    bases = [base_of(r.verdict) for r in rows]
    if rerun:
        cand_base_clf = build_classifier(
            name, Policy(sensitivity=proposed.sensitivity, thresholds=proposed.thresholds),
            names=names, model_dir=model_dir_of(session, settings.data_dir,
                                              candidate.model_version))
        cand_bases = _classified(cand_base_clf, rows,
                                 max(settings.classifier.batch_size, RECLASSIFY_BATCH))
    else:
        from classifiers.redecide import redecide

        # the live classifier is built only here: a re-classifying back-test reads the live
        # side from the stored verdicts and would only pay for loading its model
        live_base = build_classifier(
            name, Policy(sensitivity=live.sensitivity, thresholds=live.thresholds),
            names=names, model_dir=live_dir)
        live_cuts, strong = _cuts(live_base)
        cand_cuts = live_cuts
        if live_cuts and proposed.thresholds != live.thresholds:
            cand_cuts = _cuts(build_classifier(
                name, Policy(sensitivity=proposed.sensitivity, thresholds=proposed.thresholds),
                names=(), model_dir=live_dir))[0]
        cand_bases = [redecide(b, r.text, live_cuts, cand_cuts, strong=strong) if live_cuts else b
                      for b, r in zip(bases, rows, strict=True)]
    routing = settings.routing
    for row, base, cand_base in zip(rows, bases, cand_bases, strict=True):
        live_v = live_rules.apply(base, row.text, row.author)
        cand_v = cand_rules.apply(cand_base, row.text, row.author)
        live_on = route(routing, live_v, now=until) is not None
        cand_on = route(routing, cand_v, now=until) is not None
        report.live_alerts += live_on
        report.candidate_alerts += cand_on
        if live_on == cand_on:
            continue
        change = Change(row.item_id, row.created_at, [x.value for x in live_v.labels],
                        live_v.severity.value, [x.value for x in cand_v.labels],
                        cand_v.severity.value, decision_of(row.alert_state))
        if cand_on:
            report.new_count += 1
            report.new_by[f"{cand_v.labels[0].value}/{cand_v.severity.value}"] += 1
            report.new_decisions[change.decision] += 1
            if len(report.newly_flagged) < LISTED:
                report.newly_flagged.append(change)
        else:
            report.stopped_count += 1
            report.stopped_by[f"{live_v.labels[0].value}/{live_v.severity.value}"] += 1
            report.stopped_decisions[change.decision] += 1
            if len(report.stopped) < LISTED:
                report.stopped.append(change)
    report.seconds = time.perf_counter() - started
    return report
