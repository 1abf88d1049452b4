"""Back-tests on 8 weeks of generated history: the estimate matches what the candidate does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from classifiers.base import Label
from monitor.db import transaction
from monitor.lab import candidates
from monitor.lab.backtest import Candidate, backtest
from monitor.models import Alert, AuditEvent, Channel
from monitor.runtime import Runtime
from tests.lab.conftest import decide_all, history_texts, ingest


def _alerts(runtime: Runtime, channel: str) -> int:
    with runtime.factory() as session:
        return int(session.execute(
            select(func.count()).select_from(Alert).join(Channel, Channel.id == Alert.channel_id)
            .where(Channel.name == channel)).scalar_one())


def test_sensitivity_change_estimate_matches_what_the_candidate_then_produces(
        runtime: Runtime, now: datetime) -> None:
    texts = history_texts()
    ingest(runtime, texts, now=now)
    decisions = decide_all(runtime)
    assert decisions["actioned"]
    assert decisions["dismissed"]
    live_alerts = _alerts(runtime, "demo")

    with runtime.factory() as session:
        report = backtest(session, runtime.settings, Candidate(sensitivity=0.8), weeks=8,
                          now=now)
    assert report.method == "re-classified"  # sensitivity moves the encoder's gates
    assert report.comments == len(texts)
    assert report.live_alerts == live_alerts
    assert report.new_count > 0
    # every change is tied to what moderators did with its live alert
    assert sum(report.new_decisions.values()) == report.new_count
    assert sum(report.stopped_decisions.values()) == report.stopped_count
    assert set(report.stopped_decisions) <= {"actioned", "dismissed", "open", "none"}

    # Promote the change through the lab, then let the now-live candidate read the same
    # history again on a second channel: its alerts are what the lab estimated.
    with transaction(runtime.factory) as session:
        candidates.set_settings(session, sensitivity=0.8, thresholds={}, model_version=None,
                                actor="admin")
        candidates.promote(session, runtime.settings, names=[], reason="fewer misses",
                           actor="admin")
    ingest(runtime, texts, now=now, channel="replay", prefix="r")
    produced = _alerts(runtime, "replay")
    assert produced == report.candidate_alerts
    assert report.alerts_per_week_change == (produced - live_alerts) / 8
    assert report.alerts_per_week_change > 0
    with runtime.factory() as session:
        actions = list(session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("lab.%")).order_by(AuditEvent.seq)).scalars())
    assert actions == ["lab.candidate.settings", "lab.promote"]


def test_threshold_change_from_stored_scores_matches_reclassifying(
        runtime: Runtime, now: datetime) -> None:
    texts = history_texts()
    ingest(runtime, texts, now=now)
    # a change the policy test suite accepts (abuse at 0.3 flags 'an absolute murder of a
    # homework', and the suite's gate refuses it)
    changed = Candidate(thresholds={Label.ABUSE: 0.6, Label.SPAM: 0.35})
    with runtime.factory() as session:
        fast = backtest(session, runtime.settings, changed, weeks=8, now=now)
    assert fast.method == "stored scores"
    assert fast.new_count + fast.stopped_count > 0

    with transaction(runtime.factory) as session:
        candidates.set_settings(session, sensitivity=None, thresholds=dict(changed.thresholds),
                                model_version=None, actor="admin")
        candidates.promote(session, runtime.settings, names=[], reason="try", actor="admin")
    ingest(runtime, texts, now=now, channel="replay", prefix="r")
    assert _alerts(runtime, "replay") == fast.candidate_alerts


def test_promoted_settings_accumulate_and_the_runtime_rebuilds_before_the_next_poll(
        runtime: Runtime) -> None:
    from classifiers.policy import PolicyClassifier
    from monitor.live_policy import live_policy

    first = runtime.current_classifier()
    assert runtime.current_classifier() is first  # nothing changed: no rebuild
    for sensitivity, thresholds in ((0.7, {}), (None, {Label.ABUSE: 0.4})):
        with transaction(runtime.factory) as session:
            candidates.set_settings(session, sensitivity=sensitivity, thresholds=thresholds,
                                    model_version=None, actor="admin")
            candidates.promote(session, runtime.settings, names=[], reason="tune",
                               actor="admin")
    rebuilt = runtime.current_classifier()
    assert isinstance(rebuilt, PolicyClassifier)
    assert rebuilt is not first
    assert (rebuilt.sensitivity, rebuilt.overrides) == (0.7, {Label.ABUSE: 0.4})
    with runtime.factory() as session:
        live = live_policy(session, runtime.settings)
    assert (live.sensitivity, dict(live.thresholds)) == (0.7, {Label.ABUSE: 0.4})
