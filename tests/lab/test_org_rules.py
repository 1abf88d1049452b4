"""Organisation rules over the real classifier: variants, allow-lists, authors, routing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from classifiers.base import Label, Severity, Verdict
from classifiers.org_rules import (
    OrgRule,
    OrgRuledClassifier,
    OrgRuleSet,
    RuleKind,
    base_of,
    phrase_pattern,
)
from classifiers.policy import build_rules
from config.settings import Routing
from monitor.routing import route

WATCH = OrgRule(1, RuleKind.WATCH, "Grendon rats", Label.ABUSE, Severity.HIGH, queue="estate")


@pytest.mark.parametrize("text", [
    "typical Grendon rats", "gr3nd0n r@ts again", "G R E N D O N rats", "gr*ndon r*ts",
    "Greeendon  rats!!", "grendon-rats", "GRENDON RATS", "grеndon rats",  # Cyrillic е
])
def test_a_watched_phrase_catches_its_variants(text: str) -> None:
    rules = OrgRuleSet.of([WATCH], "1")
    verdict = rules.apply(Verdict((), {}), text)
    assert verdict.labels == (Label.ABUSE,)
    assert verdict.severity is Severity.HIGH
    assert verdict.queue == "estate"


@pytest.mark.parametrize("text", ["Grendon estate fun day", "grendons rattle", "rats"])
def test_a_watched_phrase_leaves_other_words_alone(text: str) -> None:
    assert OrgRuleSet.of([WATCH], "1").apply(Verdict((), {}), text).labels == ()


def test_an_empty_phrase_is_refused() -> None:
    with pytest.raises(ValueError, match="no letters"):
        phrase_pattern("*** !!")


def test_an_allow_listed_term_stops_its_label_and_the_base_is_kept() -> None:
    classifier = build_rules()
    text = "Thanks to Mr Dick Wood for the trip"
    before = classifier.classify([text])[0]
    assert Label.PROFANITY in before.labels  # the built-in rules see a swear word
    allow = OrgRule(2, RuleKind.ALLOW, "Dick Wood", Label.PROFANITY)
    after = OrgRuledClassifier(classifier, OrgRuleSet.of([allow], "1")).classify([text])[0]
    assert Label.PROFANITY not in after.labels
    assert base_of(after).labels == before.labels  # what the classifier said stays on record


def test_author_rules_need_the_author_and_match_the_platform() -> None:
    spammer = OrgRule(3, RuleKind.AUTHOR, "bot-77", Label.SPAM, Severity.LOW, platform="x")
    wrapped = OrgRuledClassifier(build_rules(), OrgRuleSet.of([spammer], "1"))
    verdicts = wrapped.classify_authored(["hello", "hello", "hello"],
                                         [("x", "bot-77"), ("reddit", "bot-77"), None])
    assert [v.labels for v in verdicts] == [(Label.SPAM,), (), ()]
    assert wrapped.version.endswith("+org1")


def test_a_rules_queue_routes_its_alert() -> None:
    verdict = OrgRuleSet.of([WATCH], "1").apply(Verdict((), {}), "grendon rats")
    decided = route(Routing(), verdict, now=datetime.now(UTC))
    assert decided is not None
    assert decided.queue == "estate"
