"""Re-deciding a stored verdict under other thresholds, from its stored scores (no model run).

A verdict stores each label's deciding score. Moving a threshold only changes which scores
reach it, so the label set under new cuts follows from the scores, the rules' few guards and
the text, without the models: the policy lab back-tests threshold changes this way.
"""

from __future__ import annotations

from collections.abc import Mapping

from classifiers.base import DEFAULT_SEVERITY, LABEL_ORDER, Label, Severity, Verdict, severity_of
from classifiers.lexicon import IDENTITY_TERMS
from classifiers.model import MODEL_LABELS, OFFENSIVE
from classifiers.policy import RULE_SCORE
from classifiers.rules import about_a_child, lexical_hits

_HEADS = tuple((Label(h), h) for h in MODEL_LABELS if h != OFFENSIVE)
_CHILD_REASON = "safeguarding: sexual and about a child"


def _kept(score: float, cut: float) -> bool:
    """The encoder upheld the fast model's own label: the cascade raised it to the cut."""
    return abs(score - round(cut, 4)) < 1e-9


def redecide(verdict: Verdict, text: str, live: Mapping[str, float], new: Mapping[str, float],
             *, strong: float = 0.9) -> Verdict:
    """`verdict` (the classifier's own, made under cuts `live`) as it would be under `new`.

    A rule's hit (score at or above the rule score) stays whatever the cuts; a score the
    cascade raised to the live cut (the encoder upholding the fast model) follows the cut;
    a label newly reached passes the classifier's own guards (no threat in an idiom, hate
    names a group, sexual about a child is also safeguarding, abuse absorbs profanity).
    """
    if dict(live) == dict(new):
        return verdict
    labels = set(verdict.labels)
    added: list[Label] = []
    for label, head in _HEADS:
        score = float(verdict.scores.get(label, 0.0))
        if score >= RULE_SCORE or head not in live or head not in new:
            continue
        old_cut, new_cut = live[head], new[head]
        if label in labels:
            if score < new_cut and not _kept(score, old_cut):
                labels.discard(label)
        elif new_cut <= score < old_cut:
            added.append(label)
    derived = any(r.startswith(_CHILD_REASON) for r in verdict.reasons)
    if derived and Label.SEXUAL not in labels:
        labels.discard(Label.SAFEGUARDING)
    if added:
        hits = lexical_hits(text)
        joined = " ".join(hits.joined)
        for label in added:
            if label is Label.THREAT and hits.idiom:
                continue
            if label is Label.HATE and IDENTITY_TERMS.isdisjoint(joined.split(" ")):
                continue
            labels.add(label)
            if label is Label.SEXUAL and about_a_child(joined):
                labels.add(Label.SAFEGUARDING)
    profanity = float(verdict.scores.get(Label.PROFANITY, 0.0))
    if Label.ABUSE in labels:
        labels.discard(Label.PROFANITY)
    elif Label.ABUSE in verdict.labels and profanity >= new.get("profanity", 1.0):
        labels.add(Label.PROFANITY)  # abuse had absorbed it
    if labels == set(verdict.labels):
        return verdict
    ordered = tuple(label for label in LABEL_ORDER if label in labels)
    return Verdict(labels=ordered, scores=dict(verdict.scores), spans=verdict.spans,
                   reasons=(*verdict.reasons, "re-decided under other thresholds"),
                   model_version=verdict.model_version,
                   severity=_severity(ordered, verdict, strong))


def _severity(labels: tuple[Label, ...], verdict: Verdict, strong: float) -> Severity:
    """The labels' severity, high rather than critical on weak model evidence (as the cascade)."""
    implied = severity_of(labels)
    if implied is not Severity.CRITICAL:
        return implied
    for label in labels:
        if DEFAULT_SEVERITY[label] is Severity.CRITICAL:
            score = float(verdict.scores.get(label, 0.0))
            if score >= RULE_SCORE or score >= strong or (
                    label in verdict.labels and verdict.severity is Severity.CRITICAL):
                return Severity.CRITICAL
    return Severity.HIGH
