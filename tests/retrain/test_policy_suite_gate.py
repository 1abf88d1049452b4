"""The policy test suite as a gate of the model promotion in monitor/retrain.py."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from monitor import alerts, retrain
from monitor.db import transaction
from monitor.models import AuditEvent
from monitor.policy_suite.run import failing_cases
from monitor.runtime import Runtime

from .conftest import (
    FRACTION,
    adopt_baseline,
    moderate_honestly,
    needs_datasets,
    seed_alerts,
)

#: the starting suite's case (a taxonomy note: abuse without swearing) the poisoning breaks
CASE_ID = "abuse_without_swearing-4"


@needs_datasets
def test_a_promotion_that_breaks_a_policy_case_is_refused_with_the_case_shown(
        runtime: Runtime, baseline_dir: Path) -> None:
    moderate_honestly(runtime)
    # moderators dismiss comments about the circus as false alarms of abuse: the candidate
    # learns that "run by clowns" is harmless, and stops passing the text to the encoder
    with transaction(runtime.factory) as session:
        for alert_id, _ in seed_alerts(runtime, [f"the circus show is run by clowns, act {i}"
                                                 for i in range(20)], ["abuse"]):
            alerts.dismiss(session, alert_id=alert_id, actor="mod",
                           reason=alerts.DismissReason.FALSE_POSITIVE)
    baseline = adopt_baseline(runtime, baseline_dir)
    with runtime.factory() as session:
        active = retrain.serving_classifier(baseline_dir, runtime.settings)
        assert CASE_ID not in {f.case.id for f in failing_cases(session, active)}

    result = retrain.retrain(runtime.factory, runtime.settings, actor="cli:tester",
                             base_fraction=FRACTION, min_feedback=10)

    assert result.outcome is retrain.Outcome.REJECTED
    shown = [r for r in result.regressions if r.startswith(f"policy case {CASE_ID} ")]
    assert shown == [f"policy case {CASE_ID} (abuse: insults, harasses, bullies, demeans or "
                     "defames a person or the organisation (name-calling, \"liars and thieves\", "
                     "\"useless prat\")): expected abuse, got clean "
                     "(missing abuse)"], result.regressions
    # the other gates let it through: the suite alone refused it
    assert [r for r in result.regressions if not r.startswith("policy case ")] == []
    with runtime.factory() as session:
        events = list(session.execute(select(AuditEvent).where(
            AuditEvent.target_id == result.version).order_by(AuditEvent.seq)).scalars())
        assert retrain.active_version(session).version == baseline  # type: ignore[union-attr]
    assert [e.action for e in events] == ["model.candidate", "model.reject"]
    assert shown[0] in events[-1].details["regressions"]
