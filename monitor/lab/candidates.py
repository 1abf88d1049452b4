"""The lab's open candidate (draft rules plus settings or a model), its gates, promote, discard."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.base import Classifier, Label, ProtectedName
from classifiers.org_rules import OrgRuleSet
from config.settings import Settings
from monitor import audit, model_registry
from monitor.lab import rules
from monitor.lab.backtest import Candidate
from monitor.live_policy import LAB_PROMOTED, Policy, build_classifier, live_policy
from monitor.models import LabCandidate, LabPolicy, utcnow
from monitor.policy_suite.run import broken_cases

#: a gate looks at the candidate's classifier (and the live one, to compare) and returns the
#: failures to show (none: pass)
Gate = Callable[[Session, Classifier, Classifier], Sequence[object]]


class LabError(ValueError):
    """A lab request cannot be done as asked; the message says why."""


class PromotionRefused(LabError):
    """A gate failed: nothing was promoted."""

    def __init__(self, failures: list[str]) -> None:
        """Keep the failures to show."""
        super().__init__("promotion refused: " + "; ".join(failures))
        self.failures = failures


def rules_compile(session: Session, classifier: Classifier, live: Classifier) -> list[str]:
    """Every rule of the candidate compiles to a pattern (a guard against bad stored rows)."""
    failures = []
    for rule in rules.with_drafts(session):
        try:
            OrgRuleSet.of([rule], "gate")
        except ValueError as exc:
            failures.append(str(exc))
    return failures


def policy_suite_passes(session: Session, classifier: Classifier, live: Classifier) -> list[str]:
    """Every case of the organisation's policy test suite that the candidate breaks: it fails
    it, the case is no known gap, and the live classifier passes it (the same rule as a
    retrained model's promotion, `broken_cases`). One line each naming the case, its clause
    and the fault, with its text unless it is a safeguarding case."""
    # A case the live classifier fails too is not the candidate's doing: counting it would
    # block every promotion, even of a rule, until the model is retrained.
    return [failure.describe(show_text=not failure.case.safeguarding)
            for failure in broken_cases(session, classifier, live)]


#: every promotion runs these in order
GATES: list[Gate] = [rules_compile, policy_suite_passes]


def open_candidate(session: Session, *, actor: str) -> LabCandidate:
    """The lab's open candidate, made if there is none (only one is open at a time)."""
    row = session.execute(select(LabCandidate).where(LabCandidate.state == "open")
                          .order_by(LabCandidate.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        row = LabCandidate(state="open", spec={}, created_by=actor, created_at=utcnow())
        session.add(row)
        session.flush()
    return row


def current_candidate(session: Session) -> LabCandidate | None:
    """The open candidate, if any."""
    return session.execute(select(LabCandidate).where(LabCandidate.state == "open")
                           .order_by(LabCandidate.id.desc()).limit(1)).scalar_one_or_none()


def as_candidate(session: Session, row: LabCandidate | None) -> Candidate:
    """The candidate to back-test: the draft rules over the live ones, and the row's settings."""
    spec = row.spec if row is not None else {}
    return Candidate(rules=rules.with_drafts(session), sensitivity=spec.get("sensitivity"),
                     thresholds={Label(k): float(v)
                                 for k, v in (spec.get("thresholds") or {}).items()},
                     model_version=spec.get("model_version"))


def set_settings(session: Session, *, sensitivity: float | None,
                 thresholds: dict[Label, float], model_version: str | None,
                 actor: str) -> LabCandidate:
    """Put settings into the open candidate (audited; never commits)."""
    if sensitivity is not None and not 0.0 <= sensitivity <= 1.0:
        raise LabError("sensitivity: between 0 and 1, please")
    for label, value in thresholds.items():
        if not 0.0 < value < 1.0:
            raise LabError(f"thresholds.{label.value}: between 0 and 1, please")
    row = open_candidate(session, actor=actor)
    spec = Candidate(sensitivity=sensitivity, thresholds=thresholds,
                     model_version=model_version or None).to_dict()
    row.spec = spec
    audit.record(session, actor=actor, action="lab.candidate.settings", target_type="lab",
                 target_id=row.id, details=spec)
    return row


def start_shadow(session: Session, *, hours: float, actor: str) -> LabCandidate:
    """Shadow the open candidate on live traffic for `hours` (audited; never commits)."""
    if not 0 < hours <= 24 * 28:
        raise LabError("hours: more than 0 and at most four weeks, please")
    row = open_candidate(session, actor=actor)
    now = utcnow()
    row.shadow_from, row.shadow_until = now, now + timedelta(hours=hours)
    audit.record(session, actor=actor, action="lab.shadow.start", target_type="lab",
                 target_id=row.id, details={"hours": hours})
    return row


def _candidate_classifier(session: Session, settings: Settings, cand: Candidate,
                          names: Sequence[ProtectedName]) -> Classifier:
    policy = cand.policy(live_policy(session, settings))
    model_dir = model_registry.active_model_path(session, settings.data_dir)
    if cand.model_version is not None:
        from monitor.lab.backtest import model_dir_of

        model_dir = model_dir_of(session, settings.data_dir, cand.model_version)
    return build_classifier(settings.classifier.name, policy, names=names, model_dir=model_dir)


def candidate_classifier(session: Session, settings: Settings,
                         names: Sequence[ProtectedName]) -> Classifier:
    """The open candidate's classifier, as it would run once promoted."""
    return _candidate_classifier(session, settings,
                                 as_candidate(session, current_candidate(session)), names)


def live_classifier(session: Session, settings: Settings,
                    names: Sequence[ProtectedName]) -> Classifier:
    """The classifier in force, as the runtime builds it (the gates compare with it)."""
    return _candidate_classifier(session, settings, Candidate(), names)


def promote(session: Session, settings: Settings, *, names: Sequence[ProtectedName],
            reason: str, actor: str) -> LabCandidate:
    """Make the open candidate live once every gate passes (audited; never commits).

    A running daemon picks it up before its next poll (`Runtime.current_classifier`).
    """
    why = reason.strip()
    if not why:
        raise LabError("reason: a promotion needs a reason")
    row = current_candidate(session)
    drafts = rules.drafts(session)
    spec = row.spec if row is not None else {}
    if not drafts and not any(spec.get(k) for k in ("sensitivity", "thresholds",
                                                     "model_version")):
        raise LabError("nothing to promote: no draft rules and no settings in the lab")
    classifier = candidate_classifier(session, settings, names)
    in_force = live_classifier(session, settings, names)
    failures = [str(f) for gate in GATES for f in gate(session, classifier, in_force)]
    if failures:
        raise PromotionRefused(failures)
    row = row or open_candidate(session, actor=actor)
    went_live = rules.go_live(session)
    if spec.get("sensitivity") is not None or spec.get("thresholds"):
        # The newest row is the whole promoted policy: what it does not change stays as live.
        live = live_policy(session, settings)
        sensitivity = spec.get("sensitivity")
        session.add(LabPolicy(
            sensitivity=live.sensitivity if sensitivity is None else sensitivity,
            thresholds={**{k.value: v for k, v in live.thresholds.items()},
                        **(spec.get("thresholds") or {})},
            candidate_id=row.id, actor=actor, promoted_at=utcnow()))
    if spec.get("model_version"):
        from monitor.retrain import RetrainError, rollback

        try:
            rollback(session, to_version=str(spec["model_version"]), actor=actor)
        except RetrainError as exc:
            raise LabError(f"model_version: {exc}") from None
    now = utcnow()
    row.state, row.decided_by, row.decided_at, row.reason = "promoted", actor, now, why
    if row.shadow_until is not None and row.shadow_until > now:
        row.shadow_until = now
    audit.record(session, actor=actor, action=LAB_PROMOTED, target_type="lab", target_id=row.id,
                 details={"rules": [[r.rule_id, r.version] for r in went_live],
                          "settings": spec, "reason_sha256": audit.sha256_hex(why)})
    session.flush()
    return row


def discard(session: Session, *, reason: str, actor: str) -> LabCandidate:
    """Drop the open candidate and every draft rule, with a reason (audited; never commits)."""
    why = reason.strip()
    if not why:
        raise LabError("reason: discarding needs a reason")
    row = current_candidate(session)
    dropped = rules.drop_drafts(session)
    if row is None and not dropped:
        raise LabError("nothing to discard: the lab holds no candidate")
    row = row or open_candidate(session, actor=actor)
    now = utcnow()
    row.state, row.decided_by, row.decided_at, row.reason = "discarded", actor, now, why
    if row.shadow_until is not None and row.shadow_until > now:
        row.shadow_until = now
    audit.record(session, actor=actor, action="lab.discard", target_type="lab", target_id=row.id,
                 details={"rules": [[r.rule_id, r.version] for r in dropped],
                          "reason_sha256": audit.sha256_hex(why)})
    session.flush()
    return row


__all__ = ["GATES", "Gate", "LabError", "Policy", "PromotionRefused", "discard", "promote"]
