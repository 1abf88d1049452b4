"""Learning from moderators: feedback from closed alerts, candidate models, gated promotion.

Actioned alerts are positives for their labels; alerts dismissed as `false_positive` or
`not_a_breach` are negatives for the labels they had; `duplicate` and `handled_elsewhere` say
nothing about the text and are ignored. A candidate is trained on the base data plus the
feedback outside a held-out fifth, then it and the active model are scored on that held-out
slice and on the public test sets; it is promoted only if nothing drops by more than
`TOLERANCE` and it breaks no case of the organisation's policy test suite
(`monitor.policy_suite`) that the active model passes. Comment text leaves the database only
into the model, in memory: never into a file, a log line, an audit event or the command
line's output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from classifiers.base import Classifier, Label
from monitor import audit
from monitor.alerts import DismissReason
from monitor.db import transaction
from monitor.leases import owner_id
from monitor.model_registry import (
    MODELS_DIR,
    PACKAGED,
    ModelFilesMissing,
    active_model_path,
    active_version,
)
from monitor.models import Alert, AlertState, AuditEvent, Item, ModelVersion, Setting, utcnow

if TYPE_CHECKING:
    # Training and judging need scikit-learn and the encoder: those modules are imported by
    # the functions that train or judge, so commands that only read versions start fast.
    from classifiers import retrain as candidates
    from classifiers.policy import PolicyClassifier
    from config.settings import Settings
    from monitor.runtime import Runtime

log = logging.getLogger(__name__)

#: a scheduled retrain waits for this many newly closed, labelled alerts since the last one
MIN_NEW_FEEDBACK = 50
#: how far an F1 may fall (held-out label, public macro-F1) before a candidate is rejected
TOLERANCE = 0.02
#: a label gates promotion on the held-out slice only with this many rows that speak to it;
#: fewer is noise (one comment would swing F1 by a third)
MIN_LABEL_ROWS = 5
#: the share of feedback held out (deterministic, by a hash of the item's platform id)
HOLDOUT_PERCENT = 20
#: dismissal reasons that say the flag was wrong; the others say nothing about the text
NEGATIVE_REASONS = frozenset({DismissReason.FALSE_POSITIVE.value,
                              DismissReason.NOT_A_BREACH.value})
SYSTEM_ACTOR = "system"
#: the cross-replica lock, a row of `settings_kv`, and how long a crashed holder blocks others
LEASE_KEY = "model.retrain.lease"
LEASE_TTL = timedelta(hours=2)


class RetrainError(RuntimeError):
    """Retraining could not run; the message says why in one line."""


class NotEnoughFeedback(RetrainError):
    """Too few alerts were closed with a usable decision since the last candidate."""


class RetrainBusy(RetrainError):
    """Another process is retraining right now."""


class RollbackError(RetrainError):
    """There is no version to roll back to, or the one named cannot be used."""


class Status(StrEnum):
    """What became of a model version (kept in `ModelVersion.metrics["status"]`)."""

    ACTIVE = "active"
    REJECTED = "rejected"
    RETIRED = "retired"
    ROLLED_BACK = "rolled_back"


class Outcome(StrEnum):
    """The result of one retrain."""

    PROMOTED = "promoted"
    REJECTED = "rejected"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Feedback:
    """One moderator decision as a training example (the text stays in memory)."""

    example: candidates.Example
    holdout: bool
    resolved_at: datetime | None


@dataclass
class RetrainResult:
    """What one retrain did: the candidate, the outcome and the numbers behind it."""

    version: str
    outcome: Outcome
    compared_with: str
    metrics: dict[str, Any] = field(default_factory=dict)
    regressions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape for the command line."""
        return {"version": self.version, "outcome": self.outcome.value,
                "compared_with": self.compared_with, "regressions": self.regressions,
                "metrics": self.metrics}


# ----------------------------------------------------------------------------- feedback


def is_holdout(platform: str, external_id: str) -> bool:
    """Whether an item belongs to the held-out slice: stable across databases and replicas."""
    digest = hashlib.sha256(f"{platform}:{external_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HOLDOUT_PERCENT


def _decision(state: str, resolution: str | None,
              labels: Sequence[str]) -> candidates.Example | None:
    """The example an alert's outcome implies, or None when it says nothing about the text."""
    from classifiers import retrain as candidates

    model_labels = [lab for lab in labels if lab in candidates.MODEL_TAXONOMY]
    if not model_labels:
        return None  # identifying-only alerts: the rules and the names register decide those
    if state == AlertState.ACTIONED:
        return candidates.Example.from_labels("", positive=model_labels)
    if state == AlertState.DISMISSED and resolution in NEGATIVE_REASONS:
        return candidates.Example.from_labels("", negative=model_labels)
    return None


def _labelled_alerts() -> Any:
    return (
        (Alert.state == AlertState.ACTIONED)
        | ((Alert.state == AlertState.DISMISSED) & Alert.resolution.in_(NEGATIVE_REASONS))
    )


def collect_feedback(session: Session) -> list[Feedback]:
    """Every usable moderator decision, one per distinct text (the latest decision wins)."""
    from classifiers import retrain as candidates

    rows = session.execute(
        select(Alert.state, Alert.resolution, Alert.labels, Alert.resolved_at,
               Item.platform, Item.external_id, Item.text)
        .join(Item, Item.id == Alert.item_id)
        .where(_labelled_alerts())
        .order_by(Alert.resolved_at, Alert.id)
    )
    by_text: dict[str, Feedback] = {}
    for state, resolution, labels, resolved_at, platform, external_id, text in rows:
        decided = _decision(str(state), resolution, list(labels or ()))
        if decided is None or not text or not text.strip():
            continue
        # one text, one side of the split: a repeated comment must not be trained and tested
        by_text[text.strip()] = Feedback(
            candidates.Example(text, decided.targets), is_holdout(platform, external_id),
            resolved_at)
    return list(by_text.values())


def new_feedback_count(session: Session) -> int:
    """Alerts closed with a usable decision on a model label since the last candidate."""
    from classifiers import retrain as candidates

    # the audit trail, not the versions table: an adopted model is not a trained candidate
    since = session.execute(
        select(func.max(AuditEvent.at)).where(AuditEvent.action == "model.candidate")
    ).scalar_one_or_none()
    query = select(Alert.labels).where(_labelled_alerts())
    if since is not None:
        query = query.where(Alert.resolved_at > since)
    # counted here, not in SQL: "has a label the model learns" is a JSON test per dialect
    return sum(1 for labels in session.execute(query).scalars()
               if set(labels or ()) & set(candidates.MODEL_TAXONOMY))


# ----------------------------------------------------------------------------- versions


def _packaged_row(session: Session, now: datetime) -> ModelVersion:
    from classifiers import model as text_model

    version = text_model.artefact_version(text_model.DATA_DIR)
    row = session.execute(
        select(ModelVersion).where(ModelVersion.version == version)
    ).scalar_one_or_none()
    if row is None:
        row = ModelVersion(version=version, path=PACKAGED, active=False, created_at=now,
                           metrics={"origin": "packaged"})
        session.add(row)
        session.flush()
    return row


def _with(row: ModelVersion, **changes: Any) -> None:
    # JSON columns are not mutation-tracked: assign a new dict
    row.metrics = {**(row.metrics or {}), **changes}


def rollback(session: Session, *, to_version: str | None = None,
             actor: str = SYSTEM_ACTOR, reason: str | None = None) -> ModelVersion:
    """Re-activate the version the current one replaced (or `to_version`); audited with `reason`."""
    current = active_version(session)
    if current is None:
        raise RollbackError("no model was ever promoted: the packaged model is in use")
    if to_version is None:
        previous = (current.metrics or {}).get("previous")
        if not previous:
            raise RollbackError(f"model {current.version} replaced nothing; "
                                "nothing to roll back to")
        to_version = str(previous)
    target = session.execute(
        select(ModelVersion).where(ModelVersion.version == to_version)
    ).scalar_one_or_none()
    if target is None:
        raise RollbackError(f"no model version {to_version!r}")
    if target.id == current.id:
        raise RollbackError(f"model {to_version} is already the active one")
    if target.path != PACKAGED and target.promoted_at is None:
        raise RollbackError(f"model {to_version} was never promoted (it was rejected)")
    now = utcnow()
    current.active = False
    _with(current, status=Status.ROLLED_BACK.value, rolled_back_at=now.isoformat())
    target.active = True
    _with(target, status=Status.ACTIVE.value, reactivated_at=now.isoformat())
    audit.record(session, actor=actor, action="model.rollback", target_type="model",
                 target_id=target.version, details={"from": current.version,
                                                    "to": target.version,
                                                    **_given(reason)})
    session.flush()
    log.info("model rolled back from %s to %s by %s", current.version, target.version, actor)
    return target


def _given(reason: str | None) -> dict[str, str]:
    # the changes page shows the reason a person gave (monitor/changes.py reads it back)
    return {"reason": reason.strip()} if reason and reason.strip() else {}


def adopt(session: Session, *, source: Path, data_dir: Path,
          actor: str = SYSTEM_ACTOR, reason: str | None = None) -> ModelVersion:
    """Make a model trained elsewhere (`socmon model train --out DIR`) the active one; audited.

    No gate: whoever adopts a model vouches for it. The files are copied into the data dir.
    """
    from classifiers import model as text_model

    try:
        version = text_model.artefact_version(source)
        text_model.load(source)
    except (OSError, text_model.ModelError) as exc:
        raise RetrainError(f"{source}: not a model directory ({exc})") from None
    if session.execute(select(ModelVersion.id).where(ModelVersion.version == version)
                       ).scalar_one_or_none() is not None:
        raise RetrainError(f"model {version} is already recorded; use rollback to activate it")
    now = utcnow()
    current = active_version(session) or _packaged_row(session, now)
    final = data_dir / MODELS_DIR / version
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(source, final)
    current.active = False
    _with(current, status=Status.RETIRED.value, retired_at=now.isoformat())
    row = ModelVersion(version=version, path=f"{MODELS_DIR}/{version}", active=True,
                       created_at=now, promoted_at=now,
                       metrics={"origin": "adopted", "status": Status.ACTIVE.value,
                                "previous": current.version})
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="model.promote", target_type="model",
                 target_id=version, details={"from": current.version, "to": version,
                                             "how": "adopted", **_given(reason)}, at=now)
    return row


# ----------------------------------------------------------------------------- lease




def _acquire(factory: sessionmaker[Session], owner: str) -> None:
    """Take the retrain lease, so two replicas never train (and promote) at once."""
    now = utcnow()
    value = json.dumps({"owner": owner, "until": (now + LEASE_TTL).isoformat()})
    try:
        with transaction(factory) as session:
            row = session.get(Setting, LEASE_KEY, with_for_update=True)
            if row is None:
                session.add(Setting(key=LEASE_KEY, value=value, updated_at=now))
                return
            try:
                held = json.loads(row.value)
                until = datetime.fromisoformat(held["until"])
            except (ValueError, KeyError, TypeError):
                until = now  # an unreadable lease protects nothing
            if until > now:
                raise RetrainBusy(f"another process ({held['owner']}) is retraining until "
                                  f"{until.isoformat(timespec='minutes')}")
            row.value, row.updated_at = value, now
    except IntegrityError:  # two first-ever acquirers raced on the insert; the other won
        raise RetrainBusy("another process is retraining") from None


def _release(factory: sessionmaker[Session], owner: str) -> None:
    with transaction(factory) as session:
        row = session.get(Setting, LEASE_KEY, with_for_update=True)
        if row is not None and json.loads(row.value).get("owner") == owner:
            session.delete(row)


# ----------------------------------------------------------------------------- judging


def _thresholds(settings: Settings) -> dict[Label, float] | None:
    return {Label(k): v for k, v in settings.classifier.thresholds.items()} or None


def serving_classifier(model_dir: Path | None, settings: Settings, *,
                       use_encoder: bool = True) -> PolicyClassifier:
    """The policy classifier as the organisation runs it, on `model_dir` (None: packaged);
    with `use_encoder` False, its fast stage alone."""
    from classifiers import retrain as candidates
    from classifiers.policy import PolicyClassifier

    cfg = settings.classifier
    if model_dir is None:
        return PolicyClassifier(sensitivity=cfg.sensitivity, thresholds=_thresholds(settings),
                                use_encoder=use_encoder)
    return candidates.policy_from_dir(model_dir, sensitivity=cfg.sensitivity,
                                      thresholds=_thresholds(settings), use_encoder=use_encoder)


def evaluate(classifier: Classifier, holdout: Sequence[candidates.Example],
             public: Mapping[str, Path]) -> dict[str, Any]:
    """Held-out per-label scores and public macro-F1 of one classifier."""
    from classifiers import retrain as candidates

    return {"holdout": candidates.evaluate_examples(classifier, holdout),
            "public": candidates.evaluate_public(classifier, public)}


def regressions(candidate: Mapping[str, Any], active: Mapping[str, Any],
                tolerance: float = TOLERANCE) -> tuple[list[str], list[str]]:
    """(what regressed beyond `tolerance`, what could not be judged) between two evaluations.

    A held-out label regresses when its score drops by more than `tolerance` and the
    candidate gets at least two more of its rows wrong.
    """
    found: list[str] = []
    notes: list[str] = []
    for label, old in sorted(active["holdout"].items()):
        new = candidate["holdout"][label]
        if old["rows"] < MIN_LABEL_ROWS:
            notes.append(f"held-out {label}: {old['rows']} rows, fewer than {MIN_LABEL_ROWS}; "
                         "not judged")
        elif (new["score"] < old["score"] - tolerance
              and int(new.get("errors", 0)) - int(old.get("errors", 0)) > 1):
            # one more wrong example on a slice of a few rows moves F1 by 0.1 or more: noise,
            # not a regression; two or more is judged by the tolerance as usual
            found.append(f"held-out {label} {old['metric']} {new['score']:.3f} < "
                         f"{old['score']:.3f}")
    for name, old in sorted(active["public"].items()):
        new = candidate["public"][name]
        if new["macro_f1"] < old["macro_f1"] - tolerance:
            found.append(f"{name} macro-F1 {new['macro_f1']:.3f} < {old['macro_f1']:.3f}")
    return found, notes


def policy_suite_gate(factory: sessionmaker[Session], candidate: Classifier,
                      active: Classifier) -> tuple[list[str], list[str]]:
    """(the policy test cases the candidate breaks, notes): a case breaks when the candidate
    fails it, it is no known gap and the active model passes it. Lines name the case, its
    clause and what went wrong, never its text (they reach the audit trail)."""
    from monitor.policy_suite.run import broken_cases, failing_cases

    with factory() as session:
        broken = broken_cases(session, candidate, active)
        failing = failing_cases(session, candidate)
    ids = {f.case.id for f in broken}
    notes = [f"{f.describe(show_text=False)}; the active model fails it too"
             for f in failing if f.case.id not in ids]
    return [f.describe(show_text=False) for f in broken], notes


def _counts(examples: Sequence[candidates.Example], value: int) -> dict[str, int]:
    from classifiers import retrain as candidates

    out: dict[str, int] = {}
    for ex in examples:
        for label, target in ex.targets.items():
            if target == value and label in candidates.MODEL_TAXONOMY:
                out[label] = out.get(label, 0) + 1
    return dict(sorted(out.items()))


def _summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers an audit event keeps: no text, a few dozen figures."""
    cand, act = metrics["candidate"], metrics["active"]
    return {
        "compared_with": metrics["compared_with"],
        "feedback": {k: metrics["feedback"][k] for k in ("train", "holdout", "new")},
        "public": {n: {"candidate": cand["public"][n]["macro_f1"],
                       "active": act["public"][n]["macro_f1"]} for n in act["public"]},
        "holdout": {lab: {"metric": act["holdout"][lab]["metric"],
                          "candidate": cand["holdout"][lab]["score"],
                          "active": act["holdout"][lab]["score"],
                          "rows": act["holdout"][lab]["rows"]} for lab in act["holdout"]},
        "regressions": metrics["regressions"], "notes": metrics["notes"],
    }


# ----------------------------------------------------------------------------- retrain


def retrain(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    actor: str = SYSTEM_ACTOR,
    force: bool = False,
    datasets: Path | None = None,
    base_fraction: float = 1.0,
    tolerance: float = TOLERANCE,
    min_feedback: int = MIN_NEW_FEEDBACK,
) -> RetrainResult:
    """Train a candidate on the feedback, judge it against the active model, promote or reject.

    Takes the session factory, not a session: training takes a while and must not hold a
    transaction (on SQLite that would stop ingest), so it reads in one short transaction and
    records the candidate, its audit events and the promotion in another.
    """
    from classifiers import model as text_model

    if settings.classifier.name != "policy":
        raise RetrainError(f"classifier.name is {settings.classifier.name!r}; retraining "
                           "applies to the policy classifier only")
    owner = f"{owner_id()}-{uuid.uuid4().hex[:8]}"
    _acquire(factory, owner)
    try:
        return _retrain(factory, settings, actor=actor, force=force,
                        datasets=datasets or text_model.DEFAULT_DATASETS,
                        base_fraction=base_fraction, tolerance=tolerance,
                        min_feedback=min_feedback)
    finally:
        _release(factory, owner)


def _retrain(factory: sessionmaker[Session], settings: Settings, *, actor: str, force: bool,
             datasets: Path, base_fraction: float, tolerance: float,
             min_feedback: int) -> RetrainResult:
    from classifiers import model as text_model
    from classifiers import retrain as candidates

    data_dir = settings.data_dir
    with transaction(factory) as session:
        fresh = new_feedback_count(session)
        if not force and fresh < min_feedback:
            raise NotEnoughFeedback(f"{fresh} labelled alert(s) closed since the last candidate; "
                                    f"retraining waits for {min_feedback}")
        feedback = collect_feedback(session)
        baseline = active_version(session)
        baseline_name = (baseline.version if baseline is not None
                         else text_model.artefact_version(text_model.DATA_DIR))
        try:
            baseline_dir = active_model_path(session, data_dir)
        except ModelFilesMissing as exc:
            raise RetrainError(str(exc)) from None
    train = [f.example for f in feedback if not f.holdout]
    held = [f.example for f in feedback if f.holdout]
    root = data_dir / MODELS_DIR
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    try:
        try:
            cand = candidates.train_candidate(tmp, train, datasets=datasets,
                                              base_fraction=base_fraction)
        except candidates.BaseDataMissing as exc:
            raise RetrainError(f"{exc}; point --datasets at the shared datasets") from None
        public, notes = candidates.public_sets(datasets)
        cand_classifier = serving_classifier(tmp, settings)
        act_classifier = serving_classifier(baseline_dir, settings)
        cand_eval = evaluate(cand_classifier, held, public)
        act_eval = evaluate(act_classifier, held, public)
        found, gate_notes = regressions(cand_eval, act_eval, tolerance)
        notes += gate_notes
        broken, suite_notes = policy_suite_gate(factory, cand_classifier, act_classifier)
        found += broken
        notes += suite_notes
        # The fast stage is what feedback retrains, and it alone picks what the encoder sees
        # (and decides alone if the encoder is unavailable): it must not regress either.
        fast_found, _ = regressions(
            evaluate(serving_classifier(tmp, settings, use_encoder=False), held, public),
            evaluate(serving_classifier(baseline_dir, settings, use_encoder=False), held,
                     public), tolerance)
        found += [f"fast stage: {r}" for r in fast_found]
        judged = bool(public) or any(m["rows"] >= MIN_LABEL_ROWS
                                     for m in act_eval["holdout"].values())
        if not judged:
            found.append("nothing to judge the candidate on: no public test set and too little "
                         "held-out feedback")
        result = _record(factory, settings, cand, actor=actor, baseline_name=baseline_name,
                         found=found, metrics={
                             "origin": "retrain", "compared_with": baseline_name,
                             "tolerance": tolerance,
                             "feedback": {"train": len(train), "holdout": len(held), "new": fresh,
                                          "positives": _counts(train, 1),
                                          "negatives": _counts(train, 0)},
                             "training": cand.meta, "candidate": cand_eval, "active": act_eval,
                             "regressions": found, "notes": notes})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("model candidate %s %s (compared with %s)", result.version, result.outcome.value,
             baseline_name)
    return result


def _record(factory: sessionmaker[Session], settings: Settings, cand: candidates.Candidate, *,
            actor: str, baseline_name: str, found: list[str],
            metrics: dict[str, Any]) -> RetrainResult:
    """One transaction: the candidate's row, its audit events and the promotion or rejection."""
    final = settings.data_dir / MODELS_DIR / cand.version
    with transaction(factory) as session:
        exists = session.execute(
            select(ModelVersion.id).where(ModelVersion.version == cand.version)
        ).scalar_one_or_none()
        if exists is not None:  # same data, same bytes: nothing new to record
            return RetrainResult(cand.version, Outcome.UNCHANGED, baseline_name, metrics, found)
        now = utcnow()
        current = active_version(session)
        if (current.version if current is not None else baseline_name) != baseline_name:
            found.append("the active model changed while the candidate was trained")
        if current is None:
            # the packaged model becomes a row, so that a rollback can return to it
            current = _packaged_row(session, now)
            current.active = True
            _with(current, status=Status.ACTIVE.value)
        promote = not found
        if promote:
            # only a promoted candidate keeps its files: one that will never serve keeps no
            # derivative of the feedback on disk
            if final.exists():
                shutil.rmtree(final)  # left by a crash before its row was committed
            shutil.copytree(cand.path, final)
        row = ModelVersion(
            version=cand.version, path=f"{MODELS_DIR}/{cand.version}", active=False,
            created_at=now, metrics={**metrics, "status": Status.REJECTED.value,
                                     "previous": current.version})
        session.add(row)
        session.flush()
        summary = _summary(metrics)
        audit.record(session, actor=actor, action="model.candidate", target_type="model",
                     target_id=cand.version, details=summary, at=now)
        if promote:
            current.active = False
            _with(current, status=Status.RETIRED.value, retired_at=now.isoformat())
            row.active, row.promoted_at = True, now
            _with(row, status=Status.ACTIVE.value)
            audit.record(session, actor=actor, action="model.promote", target_type="model",
                         target_id=cand.version,
                         details={"from": current.version, "to": cand.version}, at=now)
        else:
            _with(row, files="deleted")
            audit.record(session, actor=actor, action="model.reject", target_type="model",
                         target_id=cand.version,
                         details={"active": current.version, "regressions": found}, at=now)
    outcome = Outcome.PROMOTED if promote else Outcome.REJECTED
    return RetrainResult(cand.version, outcome, baseline_name, metrics, found)


# ----------------------------------------------------------------------------- daemon


RETRAIN_JOB_ID = "model:retrain"
WATCH_JOB_ID = "model:watch"
#: the weekly slot (UTC): early Sunday, when moderators are fewest and the queue quietest
WEEKLY = {"day_of_week": "sun", "hour": 3, "minute": 15}
WATCH_MINUTES = 5


def run_scheduled(runtime: Runtime, stop: threading.Event, *,
                  base_fraction: float = 1.0) -> RetrainResult | None:
    """The weekly job: retrain when enough feedback came in; reload the classifier on promotion."""
    if stop.is_set():
        return None
    try:
        result = retrain(runtime.factory, runtime.settings, base_fraction=base_fraction)
    except NotEnoughFeedback as exc:
        log.info("weekly retrain skipped: %s", exc)
        return None
    except RetrainError as exc:
        log.warning("weekly retrain did not run: %s", exc)
        return None
    except Exception:
        # a bug must not remove the weekly job; next week's run tries again
        log.exception("weekly retrain failed unexpectedly")
        return None
    if result.outcome is Outcome.PROMOTED:
        runtime.reload_classifier()
    return result


class ModelWatcher:
    """Reloads the runtime's classifier when another process promotes or rolls back."""

    def __init__(self, runtime: Runtime) -> None:
        """Remember the active version now (the runtime builds its classifier from it)."""
        self.runtime = runtime
        self.seen = self._active()

    def _active(self) -> str:
        with self.runtime.factory() as session:
            row = active_version(session)
            return row.version if row is not None else PACKAGED

    def __call__(self) -> bool:
        """Check once; True when the classifier was reloaded."""
        current = self._active()
        if current == self.seen:
            return False
        log.info("active model changed from %s to %s; reloading the classifier",
                 self.seen or "packaged", current or "packaged")
        self.seen = current
        self.runtime.reload_classifier()
        return True


def register(scheduler: Any, runtime: Runtime, stop: threading.Event) -> None:
    """Daemon hook: the weekly retrain and the watcher that picks up promotions and rollbacks."""
    if runtime.settings.classifier.name != "policy":
        log.info("model retraining off: classifier %s is not trainable",
                 runtime.settings.classifier.name)
        return
    from apscheduler.triggers.cron import CronTrigger

    scheduler.add_job(run_scheduled, CronTrigger(timezone="UTC", **WEEKLY),
                      args=[runtime, stop], id=RETRAIN_JOB_ID, replace_existing=True,
                      coalesce=True, max_instances=1,
                      misfire_grace_time=int(timedelta(hours=12).total_seconds()))
    watcher = ModelWatcher(runtime)

    def watch() -> None:
        if not stop.is_set():
            try:
                watcher()
            except Exception:
                log.exception("checking the active model failed")

    scheduler.add_job(watch, "interval", id=WATCH_JOB_ID, minutes=WATCH_MINUTES,
                      replace_existing=True)
