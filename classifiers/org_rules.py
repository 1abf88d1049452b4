"""The organisation's own rules, as plain data, laid over any classifier's verdicts.

Watched words and phrases add a label (spelling variants are caught by matching on the
classifier's own `normalise`, with masked and stretched letters allowed); allow-listed terms
stop a label; author rules label everything a given account writes. The monitor keeps the
rules in its database and passes them in, as it passes the names register.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from classifiers.base import LABEL_ORDER, Classifier, Label, Severity, Verdict, severity_of
from classifiers.normalise import MASK_CHARS, normalise, tokens


class RuleKind(StrEnum):
    """What an organisation rule matches."""

    WATCH = "watch"
    ALLOW = "allow"
    AUTHOR = "author"


@dataclass(frozen=True, slots=True)
class OrgRule:
    """One rule: a watched phrase, an allow-listed term or an author (platform + author id)."""

    id: int
    kind: RuleKind
    text: str
    label: Label
    severity: Severity = Severity.HIGH
    queue: str = ""
    platform: str = ""


#: the marker line that opens the reasons of a verdict the organisation rules changed; it
#: records what the classifier itself said, so the lab can lay other rules over it later
BASE_MARK = "organisation rules applied over: "
_BASE_RE = re.compile(r"^organisation rules applied over: (?P<labels>[a-z, ]*) at (?P<sev>[a-z]+)$")
_MASK = "[" + re.escape("".join(sorted(MASK_CHARS))) + "]"


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A pattern over `normalise`d text that finds `phrase` and its variant spellings.

    The normaliser undoes leetspeak, homoglyphs and spaced letters; the pattern adds what it
    leaves to the lexicon: a masked letter ("gr*ndon"), a stretched one ("greeendon"), and any
    separators between the words. The first letter of each word must be written.
    """
    words = tokens(normalise(phrase))
    if not words:
        raise ValueError("the phrase has no letters or digits")
    parts: list[str] = []
    for word in words:
        chars = [re.escape(c) + "+" for c in word]
        parts.append(chars[0] + "".join(f"(?:{c}|{_MASK})" for c in chars[1:]))
    return re.compile(r"(?<![^\W_])" + r"[\W_]*".join(parts) + r"(?![^\W_])")


@dataclass(frozen=True)
class OrgRuleSet:
    """The rules in force (or a candidate's), compiled once; `version` names them."""

    rules: tuple[OrgRule, ...] = ()
    version: str = "none"
    _patterns: Mapping[int, re.Pattern[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rules: Sequence[OrgRule], version: str) -> OrgRuleSet:
        """Compile `rules` (a bad phrase raises ValueError naming the rule)."""
        patterns: dict[int, re.Pattern[str]] = {}
        for rule in rules:
            if rule.kind is RuleKind.AUTHOR:
                continue
            try:
                patterns[rule.id] = phrase_pattern(rule.text)
            except ValueError as exc:
                raise ValueError(f"rule {rule.id}: {exc}") from None
        return cls(tuple(rules), version, patterns)

    def apply(self, verdict: Verdict, text: str, author: tuple[str, str] | None = None) -> Verdict:
        """`verdict` with the rules laid over it: allow-lists first, then watches and authors.

        An allow-listed term stops its label wherever the classifier gave it; a watched
        phrase or an author rule then adds its label at its severity (or higher), whatever
        the allow-lists said: those rules are the organisation's explicit word.
        """
        if not self.rules:
            return verdict
        low = normalise(text) if self._patterns else ""
        stopped: set[Label] = set()
        added: list[OrgRule] = []
        for rule in self.rules:
            if rule.kind is RuleKind.AUTHOR:
                if author is not None and (rule.platform in ("", author[0])) and (
                        rule.text == author[1]):
                    added.append(rule)
            elif self._patterns[rule.id].search(low):
                if rule.kind is RuleKind.ALLOW:
                    stopped.add(rule.label)
                else:
                    added.append(rule)
        stopped &= set(verdict.labels)
        if not stopped and not added:
            return verdict
        return _overlay(verdict, stopped, added)


def _overlay(verdict: Verdict, stopped: set[Label], added: Sequence[OrgRule]) -> Verdict:
    labels = [label for label in verdict.labels if label not in stopped]
    severity = verdict.severity if not stopped else severity_of(labels)
    if stopped and verdict.severity.rank < severity.rank:
        severity = verdict.severity  # a classifier's lowered severity stays lowered
    reasons = [f"{BASE_MARK}{', '.join(lab.value for lab in verdict.labels)} at "
               f"{verdict.severity.value}"]
    reasons += [r for r in verdict.reasons if not r.startswith(BASE_MARK)]
    for label in sorted(stopped, key=LABEL_ORDER.index):
        reasons.append(f"organisation allow-list stops {label.value}")
    queue = verdict.queue
    for rule in added:
        if rule.label not in labels:
            labels.append(rule.label)
        if rule.severity.rank > severity.rank:
            severity = rule.severity
        if rule.queue and not queue:
            queue = rule.queue
        what = "author rule" if rule.kind is RuleKind.AUTHOR else "watched phrase"
        reasons.append(f"organisation rule {rule.id} ({what}): {rule.label.value} "
                       f"at {rule.severity.value}")
    ordered = tuple(label for label in LABEL_ORDER if label in set(labels))
    if not ordered:
        severity = Severity.NONE
    return Verdict(labels=ordered, scores=dict(verdict.scores), spans=verdict.spans,
                   reasons=tuple(reasons), model_version=verdict.model_version,
                   severity=severity, queue=queue)


def base_of(verdict: Verdict) -> Verdict:
    """What the classifier itself said before any organisation rule (from the marker line)."""
    if not verdict.reasons or not verdict.reasons[0].startswith(BASE_MARK):
        return verdict
    found = _BASE_RE.match(verdict.reasons[0])
    if found is None:
        return verdict
    labels = tuple(Label(v) for v in found["labels"].split(", ") if v)
    reasons = tuple(r for r in verdict.reasons[1:] if not r.startswith("organisation "))
    return Verdict(labels=labels, scores=dict(verdict.scores), spans=verdict.spans,
                   reasons=reasons, model_version=verdict.model_version,
                   severity=Severity(found["sev"]))


class OrgRuledClassifier:
    """A classifier with the organisation's rules laid over its verdicts."""

    def __init__(self, base: Classifier, rules: OrgRuleSet) -> None:
        """Wrap `base`; `rules` are applied to every verdict it returns."""
        self.base = base
        self.rules = rules

    @property
    def version(self) -> str:
        """The base classifier's version and the rule set's."""
        return f"{self.base.version}+org{self.rules.version}"

    def classify(self, texts: Sequence[str]) -> list[Verdict]:
        """Verdicts with the text rules applied (author rules need `classify_authored`)."""
        return self.classify_authored(texts, [None] * len(texts))

    def classify_authored(self, texts: Sequence[str],
                          authors: Sequence[tuple[str, str] | None]) -> list[Verdict]:
        """Verdicts with every rule applied; `authors` holds (platform, author id) per text."""
        verdicts = self.base.classify(texts)
        return [self.rules.apply(v, t, a) for v, t, a in zip(verdicts, texts, authors,
                                                              strict=True)]


def classify_authored(classifier: Classifier, texts: Sequence[str],
                      authors: Sequence[tuple[str, str] | None]) -> list[Verdict]:
    """`classifier`'s verdicts, with author rules applied when it carries organisation rules."""
    if isinstance(classifier, OrgRuledClassifier):
        return classifier.classify_authored(texts, authors)
    return classifier.classify(texts)
