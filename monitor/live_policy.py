"""What is live: the organisation rules and classifier settings in force, and their version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers import registry as classifier_registry
from classifiers.base import Classifier, Label, ProtectedName, Severity
from classifiers.org_rules import OrgRule, OrgRuledClassifier, OrgRuleSet, RuleKind
from config.settings import Settings
from monitor.models import AuditEvent, LabPolicy, OrgRuleVersion, RuleState

#: the audit action of a promotion from the lab; its latest sequence number is the version
LAB_PROMOTED = "lab.promote"


def lab_version(session: Session) -> int:
    """Which state of the lab's live policy this is: the audit seq of its latest promotion."""
    latest = session.execute(
        select(func.max(AuditEvent.seq)).where(AuditEvent.action == LAB_PROMOTED)
    ).scalar_one()
    return int(latest or 0)


def to_rule(row: OrgRuleVersion) -> OrgRule:
    """A stored rule version as the classifier takes it."""
    return OrgRule(id=row.rule_id, kind=RuleKind(row.kind), text=row.text, label=Label(row.label),
                   severity=Severity(row.severity), queue=row.queue or "",
                   platform=row.platform or "")


def live_rules(session: Session) -> list[OrgRule]:
    """The organisation rules in force."""
    rows = session.execute(
        select(OrgRuleVersion).where(OrgRuleVersion.state == RuleState.LIVE,
                                     OrgRuleVersion.removed.is_(False))
        .order_by(OrgRuleVersion.rule_id)
    ).scalars()
    return [to_rule(row) for row in rows]


@dataclass(frozen=True)
class Policy:
    """Everything that decides a verdict besides the names register and the model files."""

    sensitivity: float
    thresholds: Mapping[Label, float] = field(default_factory=dict)
    rules: Sequence[OrgRule] = ()
    model_version: str | None = None
    version: str = "0"


def live_policy(session: Session, settings: Settings) -> Policy:
    """The policy in force: the config's settings unless the lab promoted others since."""
    cfg = settings.classifier
    sensitivity = cfg.sensitivity
    thresholds = {Label(k): v for k, v in cfg.thresholds.items()}
    promoted = session.execute(
        select(LabPolicy).order_by(LabPolicy.id.desc()).limit(1)
    ).scalar_one_or_none()
    if promoted is not None:
        if promoted.sensitivity is not None:
            sensitivity = promoted.sensitivity
        thresholds.update({Label(k): float(v) for k, v in (promoted.thresholds or {}).items()})
    return Policy(sensitivity=sensitivity, thresholds=thresholds, rules=live_rules(session),
                  version=str(lab_version(session)))


def build_classifier(name: str, policy: Policy, *, names: Sequence[ProtectedName],
                     model_dir: Path | None) -> Classifier:
    """The classifier `name` under `policy`, on the model in `model_dir` (None: packaged)."""
    thresholds = dict(policy.thresholds) or None
    base: Classifier
    if model_dir is not None and name == "policy":
        # Imported here: keeps scikit-learn out of the start-up of commands that never classify.
        from classifiers.retrain import policy_from_dir

        base = policy_from_dir(model_dir, names=names, sensitivity=policy.sensitivity,
                               thresholds=thresholds)
    else:
        base = classifier_registry.build(name, names=names, sensitivity=policy.sensitivity,
                                         thresholds=thresholds)
    if not policy.rules:
        return base
    return OrgRuledClassifier(base, OrgRuleSet.of(policy.rules, policy.version))
