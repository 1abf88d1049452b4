"""Functional tests per taxonomy clause and hard-case note (HateCheck-style).

The cases in `data/policy_cases.yaml` were written from TAXONOMY.md and the policies alone,
by someone who never saw the classifier: idioms, place names, counter-speech, fair complaints,
short praise, staff thanked by name, talks about safeguarding topics, each label's
obfuscations and each safeguarding form in several voices. A case lists the labels the
verdict must carry and those it must not.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from classifiers.base import Label, Verdict
from classifiers.policy import PolicyClassifier

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "policy_cases.yaml").read_text("utf-8"))["cases"]
#: cases the shipped classifier gets wrong (rules-6 with the round-10 encoder), by id, each with
#: what it does instead: strict, so a fix fails as XPASS until it is taken off this list, and
#: any other case that starts failing is a regression
KNOWN_GAPS: dict[str, str] = {
    "mild_exclamations-4": "adds profanity",
    "safeguarding_talks-1": "adds safeguarding",
    "safeguarding_talks-2": "adds safeguarding",
    "safeguarding_talks-4": "adds safeguarding",
    "safeguarding_talks-5": "adds safeguarding",
    "profanity_untargeted-5": "misses profanity; adds abuse",
    "abuse_without_swearing-9": "misses abuse",
    "hate_slurs_obfuscated-6": "misses hate",
    "counter_speech-1": "adds hate",
    "counter_speech-3": "adds hate",
    "counter_speech-8": "adds hate",
    "threats_veiled-7": "misses threat",
    "sexual_explicit-7": "misses sexual",
    "sexual_about_child-3": "misses safeguarding",
    "sexual_about_child-6": "misses safeguarding",
    "sexual_about_child-7": "misses safeguarding",
    "sexual_about_child-8": "misses safeguarding, sexual",
    "identifying_contact-7": "misses identifying",
    "identifying_contact-12": "misses identifying",
    "multi_label-1": "misses identifying",
    # round 10 (its trade, measured in docs/model-card.md): fixed sexual_about_adults-3
    "fair_complaints-9": "adds threat",
    "multi_label-9": "misses safeguarding",
}


def _ids() -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for case in CASES:
        seen[case["family"]] = seen.get(case["family"], 0) + 1
        out.append(f"{case['family']}-{seen[case['family']]}")
    return out


@cache
def _verdicts() -> dict[str, Verdict]:
    verdicts = PolicyClassifier().classify([case["text"] for case in CASES])
    return dict(zip(_ids(), verdicts, strict=True))


def test_cases_use_only_taxonomy_labels() -> None:
    labels = {label.value for label in Label}
    for case in CASES:
        assert set(case["must"]) <= labels, case
        assert set(case["must_not"]) <= labels, case
        assert not set(case["must"]) & set(case["must_not"]), case


@pytest.mark.parametrize(("case_id", "case"), list(zip(_ids(), CASES, strict=True)),
                         ids=_ids())
def test_clause(case_id: str, case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if case_id in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_GAPS[case_id], strict=True))
    got = {label.value for label in _verdicts()[case_id].labels}
    missing = set(case["must"]) - got
    wrong = set(case["must_not"]) & got
    problems = sorted(f"missing {m}" for m in missing) + sorted(f"unwanted {w}" for w in wrong)
    assert problems == [], f"{case['clause']}: {case['text']!r} got {sorted(got)}"
