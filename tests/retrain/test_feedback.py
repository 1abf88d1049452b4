"""Moderators' decisions as examples, the retrain threshold, the lease and the daemon hook:
no model is trained here, so these run in well under a second each."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from connectors.base import Action
from monitor import alerts, model_registry, retrain
from monitor.alerts import DismissReason
from monitor.db import transaction
from monitor.models import AuditEvent, ModelVersion, Setting, utcnow
from monitor.runtime import Runtime

from .conftest import demo, expected_labels, moderate_honestly, open_alerts, poll


def test_actioned_are_positives_dismissed_negatives_others_ignored(runtime: Runtime) -> None:
    pending = open_alerts(runtime)
    model_alerts = [a for a in pending if set(a[1]) - {"identifying"}]
    assert len(model_alerts) >= 8, "the demo stream should raise alerts the model can learn from"
    hide, fp, breach, dup, elsewhere = (model_alerts[0], model_alerts[1], model_alerts[2],
                                        model_alerts[3], model_alerts[4])
    untouched = model_alerts[5]
    ident_only = next((a for a in pending if a[1] == ["identifying"]), None)
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=hide[0], actor="mod", action=Action.HIDE)
        for alert, reason in ((fp, DismissReason.FALSE_POSITIVE),
                              (breach, DismissReason.NOT_A_BREACH),
                              (dup, DismissReason.DUPLICATE),
                              (elsewhere, DismissReason.HANDLED_ELSEWHERE)):
            alerts.dismiss(session, alert_id=alert[0], actor="mod", reason=reason)
        alerts.escalate(session, alert_id=untouched[0], actor="mod",
                        to=alerts.EscalationTarget.MANAGEMENT)
        if ident_only is not None:
            alerts.request_takedown(session, alert_id=ident_only[0], actor="mod",
                                    action=Action.DELETE)
    with runtime.factory() as session:
        feedback = {f.example.text: f for f in retrain.collect_feedback(session)}
        fresh = retrain.new_feedback_count(session)
    assert set(feedback) == {hide[2], fp[2], breach[2]}
    model_labels = [lab for lab in hide[1] if lab != "identifying"]
    assert all(feedback[hide[2]].example.targets[lab] == 1 for lab in model_labels)
    for alert in (fp, breach):
        targets = feedback[alert[2]].example.targets
        assert all(targets[lab] == 0 for lab in alert[1] if lab != "identifying")
    # labels the alert did not carry are unknown, not negatives
    assert all(lab in hide[1] or lab == "offensive"
               for lab in feedback[hide[2]].example.targets)
    # duplicate/handled_elsewhere say nothing, nor does an identifying-only takedown (the
    # rules and the names register decide identifying, not the model)
    assert fresh == 3


def test_holdout_split_is_stable_and_about_a_fifth() -> None:
    keys = [f"demo-{i}" for i in range(2000)]
    first = [retrain.is_holdout("demo", k) for k in keys]
    assert first == [retrain.is_holdout("demo", k) for k in keys]
    share = sum(first) / len(first)
    assert 0.17 < share < 0.23


def test_same_text_twice_is_one_example_latest_decision_wins(runtime: Runtime) -> None:
    alert_id, _labels, text = next(a for a in open_alerts(runtime) if "abuse" in a[1])
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    demo(runtime).publish(text, now=utcnow())  # someone posts it again
    poll(runtime)
    again = [a for a in open_alerts(runtime) if a[2] == text]
    assert len(again) == 1
    with transaction(runtime.factory) as session:
        alerts.dismiss(session, alert_id=again[0][0], actor="mod",
                       reason=DismissReason.NOT_A_BREACH)
    with runtime.factory() as session:
        examples = [f.example for f in retrain.collect_feedback(session)
                    if f.example.text == text]
    assert len(examples) == 1
    assert examples[0].targets["abuse"] == 0


def test_retrain_waits_for_enough_new_feedback(runtime: Runtime) -> None:
    moderate_honestly(runtime)
    with runtime.factory() as session:
        fresh = retrain.new_feedback_count(session)
    assert 0 < fresh < 1000
    with pytest.raises(retrain.NotEnoughFeedback, match=f"{fresh} labelled"):
        retrain.retrain(runtime.factory, runtime.settings, min_feedback=fresh + 1)
    with runtime.factory() as session:
        assert session.execute(select(func.count()).select_from(ModelVersion)).scalar_one() == 0
        assert session.execute(select(func.count()).where(
            AuditEvent.action.like("model.%"))).scalar_one() == 0
        # the lease is released even when the run stops early
        assert session.get(Setting, retrain.LEASE_KEY) is None


def test_a_held_lease_blocks_a_second_retrain_until_it_expires(runtime: Runtime) -> None:
    now = utcnow()
    with transaction(runtime.factory) as session:
        session.add(Setting(key=retrain.LEASE_KEY, updated_at=now, value=json.dumps(
            {"owner": "other-host-1", "until": (now + timedelta(hours=1)).isoformat()})))
    with pytest.raises(retrain.RetrainBusy, match="other-host-1"):
        retrain.retrain(runtime.factory, runtime.settings, force=True)
    with transaction(runtime.factory) as session:
        lease = session.get_one(Setting, retrain.LEASE_KEY)
        lease.value = json.dumps({"owner": "other-host-1",
                                  "until": (now - timedelta(minutes=1)).isoformat()})
    # expired: this run takes it over (and stops at the feedback threshold)
    with pytest.raises(retrain.NotEnoughFeedback):
        retrain.retrain(runtime.factory, runtime.settings, min_feedback=10_000)


def test_other_classifiers_are_not_retrained(runtime: Runtime) -> None:
    runtime.settings.classifier.name = "rules"
    with pytest.raises(retrain.RetrainError, match="policy classifier only"):
        retrain.retrain(runtime.factory, runtime.settings, force=True)


def test_daemon_hook_adds_weekly_job_and_watcher(runtime: Runtime) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    stop = threading.Event()
    retrain.register(scheduler, runtime, stop)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {retrain.RETRAIN_JOB_ID, retrain.WATCH_JOB_ID}
    assert "day_of_week='sun'" in str(jobs[retrain.RETRAIN_JOB_ID].trigger)
    # too little feedback: the scheduled run is a quiet no-op
    assert retrain.run_scheduled(runtime, stop) is None
    stop.set()
    assert retrain.run_scheduled(runtime, stop) is None
    with runtime.factory() as session:
        assert session.execute(select(func.count()).select_from(ModelVersion)).scalar_one() == 0


def test_rollback_with_nothing_promoted_is_a_clear_error(runtime: Runtime) -> None:
    with transaction(runtime.factory) as session, pytest.raises(
            retrain.RollbackError, match="packaged model is in use"):
        retrain.rollback(session, actor="test")
    with runtime.factory() as session:
        assert model_registry.active_model_path(session, runtime.settings.data_dir) is None


def test_demo_truth_covers_every_alerted_text(runtime: Runtime) -> None:
    truth = expected_labels()
    assert all(text in truth for _, _, text in open_alerts(runtime))
