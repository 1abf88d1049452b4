"""Functional tests per taxonomy clause and hard-case note (HateCheck-style).

The cases in `monitor/policy_suite/data/starting_suite.yaml` (the policy test suite's starting
suite: one source) were written from TAXONOMY.md and the policies alone, by someone who never
saw the classifier: idioms, place names, counter-speech, fair complaints,
short praise, staff thanked by name, talks about safeguarding topics, each label's
obfuscations and each safeguarding form in several voices. A case lists the labels the
verdict must carry and those it must not.
"""

from __future__ import annotations

from functools import cache

import pytest

from classifiers.base import Label, Verdict
from classifiers.policy import PolicyClassifier
from monitor.policy_suite.cases import Case, starting_suite

#: the one source of these cases is the policy test suite's starting suite (the organisation's
#: suite starts from the same file): each case with its id ("family-N")
CASES: list[Case] = starting_suite()
#: cases the shipped classifier gets wrong (rules-6 with the round-10 encoder), by id, each with
#: what it does instead, from the file's `known_gap`: strict, so a fix fails as XPASS until it is
#: taken off, and any other case that starts failing is a regression
KNOWN_GAPS: dict[str, str] = {case.id: case.known_gap for case in CASES if case.known_gap}


def _ids() -> list[str]:
    return [case.id for case in CASES]


@cache
def _verdicts() -> dict[str, Verdict]:
    verdicts = PolicyClassifier().classify([case.text for case in CASES])
    return dict(zip(_ids(), verdicts, strict=True))


def test_cases_use_only_taxonomy_labels() -> None:
    labels = {label.value for label in Label}
    for case in CASES:
        assert set(case.must) <= labels, case
        assert set(case.must_not) <= labels, case
        assert not set(case.must) & set(case.must_not), case
    # a new known gap is a decision, recorded with its round in docs/model-card.md
    assert len(KNOWN_GAPS) == 22


@pytest.mark.parametrize(("case_id", "case"), list(zip(_ids(), CASES, strict=True)),
                         ids=_ids())
def test_clause(case_id: str, case: Case, request: pytest.FixtureRequest) -> None:
    if case_id in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_GAPS[case_id], strict=True))
    got = {label.value for label in _verdicts()[case_id].labels}
    missing = set(case.must) - got
    wrong = set(case.must_not) & got
    problems = sorted(f"missing {m}" for m in missing) + sorted(f"unwanted {w}" for w in wrong)
    assert problems == [], f"{case.clause}: {case.text!r} got {sorted(got)}"
