"""The suite's cases on both databases: from alerts, by hand, and `failing_cases`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from classifiers.policy import PolicyClassifier
from config.settings import Settings
from monitor import alerts
from monitor.db import transaction
from monitor.policy_suite import cases, service
from monitor.policy_suite.run import failing_cases, run_suite
from monitor.runtime import Runtime, build_runtime
from tests.web.conftest import seed_alert


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A migrated database with the demo channel."""
    rt = build_runtime(settings, env={})
    yield rt
    rt.close()


def test_the_starting_suite_is_the_taxonomy_file_with_its_known_gaps() -> None:
    suite = cases.starting_suite()
    assert len(suite) == 290
    assert len({c.id for c in suite}) == 290
    gaps = {c.id: c.known_gap for c in suite if c.known_gap}
    # how many there are is pinned once, in tests/classifiers/test_policy_clauses.py
    assert gaps
    assert gaps["counter_speech-1"] == "adds hate"
    assert all(c.safeguarding == ("safeguarding" in c.must) for c in suite)


def test_the_shipped_classifier_fails_only_known_gaps(runtime: Runtime) -> None:
    classifier = PolicyClassifier()
    with runtime.factory() as session:
        assert failing_cases(session, classifier) == []
        failed = run_suite(session, classifier).failures
        assert {f.case.id for f in failed} == {c.id for c in cases.starting_suite()
                                                if c.known_gap}
    with transaction(runtime.factory) as session:
        case = service.add_case(session, text="Lovely photo", must=["abuse"], must_not=[],
                                clause="a deliberately wrong case", actor="test")
    with runtime.factory() as session:
        failed = failing_cases(session, classifier)
    assert [f.case.id for f in failed] == [case.id]
    assert failed[0].missing == ("abuse",)
    assert failed[0].describe() == (f"policy case {case.id} (a deliberately wrong case): "
                                    "'Lovely photo' expected abuse, got clean (missing abuse)")


def test_confirmed_labels_expect_those_and_forbid_the_rest(runtime: Runtime) -> None:
    alert_id = seed_alert(runtime, text="You useless prat, bloody hell", labels=["abuse",
                          "profanity"], severity="high", external_id="c-1")
    with transaction(runtime.factory) as session:
        case = service.case_from_alert(session, alert_id=alert_id, actor="mod",
                                       confirmed=["abuse"])
    assert (case.must, case.must_not) == (("abuse",), ("profanity",))
    assert case.known_gap == f"the classifier that raised alert #{alert_id} said abuse, profanity"
    assert not case.safeguarding


def test_a_case_confirming_the_alert_is_no_gap_and_the_lane_keeps_its_cases(
        runtime: Runtime) -> None:
    abuse = seed_alert(runtime, text="You useless prat", labels=["abuse"], severity="high",
                       external_id="c-1")
    lane = seed_alert(runtime, text="someone keeps watching the kids at the gate",
                      labels=["threat"], severity="critical", external_id="c-2",
                      queue="safeguarding")
    dismissed = seed_alert(runtime, text="We smashed the reading challenge",
                           labels=["threat"], severity="critical", external_id="c-3")
    with transaction(runtime.factory) as session:
        alerts.dismiss(session, alert_id=dismissed, actor="mod",
                       reason=alerts.DismissReason.NOT_A_BREACH)
    with transaction(runtime.factory) as session:
        kept = service.case_from_alert(session, alert_id=abuse, actor="mod")
        from_lane = service.case_from_alert(session, alert_id=lane, actor="dsl")
        clean = service.case_from_alert(session, alert_id=dismissed, actor="mod",
                                        confirmed=["threat"])  # a false alarm: ignored
    assert kept.known_gap is None
    assert from_lane.safeguarding  # made in the lane, it stays there
    assert clean.expects_clean
    with transaction(runtime.factory) as session, pytest.raises(cases.BadCase,
                                                                match="already a test case"):
        service.case_from_alert(session, alert_id=abuse, actor="mod")
