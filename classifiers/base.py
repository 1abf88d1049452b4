"""The classifier contract: labels, severities, spans and the `Verdict` every classifier returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class Label(StrEnum):
    """The policy taxonomy (../shared/policy/TAXONOMY.md), in order of precedence."""

    SAFEGUARDING = "safeguarding"
    THREAT = "threat"
    IDENTIFYING = "identifying"
    HATE = "hate"
    ABUSE = "abuse"
    SEXUAL = "sexual"
    SPAM = "spam"
    PROFANITY = "profanity"


class Severity(StrEnum):
    """How fast a flag needs a human; compare with `rank`."""

    NONE = "none"
    LOW = "low"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for none up to 3 for critical."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.NONE: 0, Severity.LOW: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}

#: default severity of each label, from the taxonomy
DEFAULT_SEVERITY: Mapping[Label, Severity] = {
    Label.SAFEGUARDING: Severity.CRITICAL,
    Label.THREAT: Severity.CRITICAL,
    Label.IDENTIFYING: Severity.HIGH,
    Label.HATE: Severity.HIGH,
    Label.ABUSE: Severity.HIGH,
    Label.SEXUAL: Severity.HIGH,
    Label.SPAM: Severity.LOW,
    Label.PROFANITY: Severity.LOW,
}

LABEL_ORDER: tuple[Label, ...] = tuple(Label)

#: what each label is called where people read it (the digest, reports)
LABEL_TITLES: Mapping[Label, str] = {
    Label.SAFEGUARDING: "Safeguarding concern",
    Label.THREAT: "Threat",
    Label.IDENTIFYING: "Identifies a child or person",
    Label.HATE: "Hate",
    Label.ABUSE: "Abuse or harassment",
    Label.SEXUAL: "Sexual content",
    Label.SPAM: "Spam or scam",
    Label.PROFANITY: "Profanity",
}


def severity_of(labels: Sequence[Label]) -> Severity:
    """The highest default severity among `labels` (none when there are no labels)."""
    best = Severity.NONE
    for label in labels:
        sev = DEFAULT_SEVERITY[label]
        if sev.rank > best.rank:
            best = sev
    return best


@dataclass(frozen=True, slots=True)
class Span:
    """A character range of the original text that carries a label, and why."""

    start: int
    end: int
    label: Label
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON shape used by the CLI, the API and the store."""
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label.value,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """A classifier's decision on one text: labels, per-label scores, spans and reasons."""

    labels: tuple[Label, ...]
    scores: Mapping[Label, float]
    spans: tuple[Span, ...] = ()
    reasons: tuple[str, ...] = ()
    model_version: str = ""
    severity: Severity = field(default=Severity.NONE)
    #: the queue an organisation rule chose for this verdict; empty: the routing config decides
    queue: str = ""

    @property
    def flagged(self) -> bool:
        """True when any label applies."""
        return bool(self.labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of DESIGN.md's `socmon classify` output (without the id)."""
        return {
            "labels": [label.value for label in self.labels],
            "scores": {label.value: round(score, 4) for label, score in self.scores.items()},
            "severity": self.severity.value,
            "spans": [span.to_dict() for span in self.spans],
            "reasons": list(self.reasons),
            "model_version": self.model_version,
        }


def make_verdict(
    labels: Sequence[Label],
    scores: Mapping[Label, float],
    *,
    spans: Sequence[Span] = (),
    reasons: Sequence[str] = (),
    model_version: str,
    severity: Severity | None = None,
) -> Verdict:
    """Build a verdict with labels in taxonomy order and the severity they imply (or, when
    the evidence is weaker than the labels' default, the lower `severity` given)."""
    chosen = set(labels)
    ordered = tuple(label for label in LABEL_ORDER if label in chosen)
    implied = severity_of(ordered)
    if severity is not None and ordered and 0 < severity.rank < implied.rank:
        implied = severity
    return Verdict(
        labels=ordered,
        scores=dict(scores),
        spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
        reasons=tuple(reasons),
        model_version=model_version,
        severity=implied,
    )


@dataclass(frozen=True, slots=True)
class ProtectedName:
    """One entry of the organisation's register of protected names (pupils, service users)."""

    first_name: str
    last_name: str
    role: str = "pupil"
    aliases: tuple[str, ...] = ()
    #: the family withdrew photo consent (True), gave it (False), or the roster did not say
    photo_consent_withdrawn: bool | None = None


@runtime_checkable
class Classifier(Protocol):
    """Labels texts. Implementations are pure and safe to call from several threads."""

    @property
    def version(self) -> str:
        """A stable identifier of the model and rules, stored with every verdict."""
        ...

    def classify(self, texts: Sequence[str]) -> list[Verdict]:
        """One verdict per text, in order. Must accept any string, however long or odd."""
        ...
