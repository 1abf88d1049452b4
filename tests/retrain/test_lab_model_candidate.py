"""A retrained model version as a policy lab candidate: back-tested on stored history,
shadowed on live traffic, the estimate checked against what the promoted model then
produces, and the suite's gate.

The candidate is made as retraining makes one (real moderation of the demo stream, a real
training run); it is then rolled back, so that it is a recorded version that is not live."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.base import Action
from monitor import alerts, model_registry, retrain
from monitor.db import transaction
from monitor.lab import candidates, shadow
from monitor.lab.backtest import Candidate, backtest
from monitor.models import Alert, AuditEvent, Channel, Item, utcnow
from monitor.models import Verdict as VerdictRow
from monitor.policy_suite.run import failing_cases
from monitor.policy_suite.service import add_case
from monitor.runtime import Runtime
from tests.lab.conftest import history_texts, ingest

from .conftest import (
    FRACTION,
    adopt_baseline,
    expected_labels,
    moderate_honestly,
    needs_datasets,
    seed_alerts,
)

pytestmark = needs_datasets

#: an invented insult the candidate learns from moderators' takedowns (the baseline never saw it)
WORD = "zorblax"
#: comments using the word, for the history: the candidate flags some the baseline does not
PROBES = [f"what a {WORD}", f"such a {WORD}", f"you are a {WORD}", f"{WORD}", f"the {WORD} again",
          f"what a {WORD} of a day", f"our {WORD} won the cup", f"he is a {WORD}"]


def _alerts(rt: Runtime, channel: str) -> int:
    with rt.factory() as session:
        return int(session.execute(
            select(func.count()).select_from(Alert).join(Channel, Channel.id == Alert.channel_id)
            .where(Channel.name == channel)).scalar_one())


def _versions(rt: Runtime, channel: str) -> set[str]:
    with rt.factory() as session:
        return set(session.execute(
            select(VerdictRow.model_version).join(Item, Item.id == VerdictRow.item_id)
            .join(Channel, Channel.id == Item.channel_id).where(Channel.name == channel)
        ).scalars())


def _active(rt: Runtime) -> str | None:
    with rt.factory() as session:
        row = model_registry.active_version(session)
        return None if row is None else row.version


def _lab_actions(rt: Runtime) -> list[str]:
    with rt.factory() as session:
        return list(session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("lab.%")).order_by(AuditEvent.seq)).scalars())


def _candidate_version(runtime: Runtime, baseline_dir: Path) -> tuple[str, str]:
    """(baseline, candidate): a retrained version, promoted by retraining, then rolled back."""
    watcher = retrain.ModelWatcher(runtime)  # the daemon's: it reloads after a model change
    moderate_honestly(runtime)
    with transaction(runtime.factory) as session:
        for alert_id, _ in seed_alerts(runtime, [f"what a {WORD} you are, number {i}"
                                                 for i in range(40)], ["abuse"]):
            alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    baseline = adopt_baseline(runtime, baseline_dir)
    result = retrain.retrain(runtime.factory, runtime.settings, actor="cli:tester",
                             base_fraction=FRACTION, min_feedback=30)
    assert result.outcome is retrain.Outcome.PROMOTED, result.regressions
    with transaction(runtime.factory) as session:
        retrain.rollback(session, to_version=baseline, actor="cli:tester")
    assert watcher() is True  # the baseline serves again
    assert _active(runtime) == baseline
    return baseline, result.version


def test_model_candidate_backtest_matches_what_it_produces_once_promoted_and_the_suite_gates(
        runtime: Runtime, baseline_dir: Path) -> None:
    baseline, version = _candidate_version(runtime, baseline_dir)
    assert version != baseline
    served = runtime.current_classifier()
    assert baseline in served.version.split("+")
    # eight weeks of history ending nine weeks ago (the demo stream polled above is newer),
    # classified by the live (baseline) model: the policy's hard cases and the demo stream's
    # texts, whose moderation the candidate learnt from, and a few with the learnt word
    now = utcnow() - timedelta(weeks=9)
    texts = history_texts() + sorted(expected_labels()) + PROBES
    ingest(runtime, texts, now=now, channel="history", prefix="h")
    assert _versions(runtime, "history") == {served.version}
    live_alerts = _alerts(runtime, "history")

    with transaction(runtime.factory) as session:
        candidates.set_settings(session, sensitivity=None, thresholds={},
                                model_version=version, actor="admin")
    with runtime.factory() as session:
        report = backtest(session, runtime.settings, candidates.as_candidate(
            session, candidates.current_candidate(session)), weeks=8, now=now)
        # the CLI's and the web's candidate is the one named here
        assert candidates.as_candidate(session, candidates.current_candidate(session)) == \
            Candidate(rules=[], model_version=version)
    assert report.method == "re-classified"
    assert report.comments == len(texts)
    assert report.live_alerts == live_alerts
    assert report.new_count + report.stopped_count > 0, "the retrained model changes something"
    assert sum(report.new_decisions.values()) == report.new_count

    # shadowed on live traffic: what the polls store is classified by the candidate too,
    # opening nothing; the word it learnt is flagged there as in the back-test
    with transaction(runtime.factory) as session:
        candidates.start_shadow(session, hours=2, actor="admin")
    ingest(runtime, PROBES, now=utcnow(), weeks=1, channel="live", prefix="l")
    live_opened = _alerts(runtime, "live")
    assert shadow.run_once(runtime) == len(PROBES)
    assert shadow.run_once(runtime) == 0  # caught up
    with runtime.factory() as session:
        open_row = candidates.current_candidate(session)
        assert open_row is not None
        assert open_row.shadow_until is not None
        seen = shadow.report(session, runtime, open_row)
    assert seen.comments == len(PROBES)
    assert seen.live_alerts == live_opened
    assert seen.new_count >= 1
    assert _alerts(runtime, "live") == live_opened

    # promoted through the lab, the version is active and the runtime serves it from the
    # next poll; the same history read again on another channel gives what was estimated
    with transaction(runtime.factory) as session:
        candidates.promote(session, runtime.settings, names=[], reason="learnt our slang",
                           actor="admin")
    assert _active(runtime) == version
    promoted = runtime.current_classifier()
    assert promoted is not served
    assert version in promoted.version.split("+")
    ingest(runtime, texts, now=now, channel="replay", prefix="r")
    produced = _alerts(runtime, "replay")
    assert produced == report.candidate_alerts
    assert report.alerts_per_week_change == (produced - live_alerts) / 8
    replay_versions = _versions(runtime, "replay")
    assert len(replay_versions) == 1
    assert version in replay_versions.pop().split("+")
    assert _lab_actions(runtime) == ["lab.candidate.settings", "lab.shadow.start", "lab.promote"]

    # back to the baseline; the organisation then writes a case from one comment the two
    # models disagree on, siding with the baseline: the lab refuses to promote the version
    # again, with the case shown, and nothing changes
    with transaction(runtime.factory) as session:
        retrain.rollback(session, to_version=baseline, actor="cli:tester")
    change = (report.newly_flagged or report.stopped)[0]
    if report.newly_flagged:  # the candidate flags it: the case says it is not that
        must, must_not = [], [change.labels[0]]
        fault = f"unwanted {change.labels[0]}"
    else:  # the candidate stopped flagging it: the case says it is
        must, must_not = [change.live_labels[0]], []
        fault = f"missing {change.live_labels[0]}"
    with transaction(runtime.factory) as session:
        text = session.get_one(Item, change.item_id).text
        case = add_case(session, text=text, must=must, must_not=must_not,
                        clause="a moderator's call on a comment we know", actor="admin")
        candidates.set_settings(session, sensitivity=None, thresholds={},
                                model_version=version, actor="admin")
    with runtime.factory() as session:
        assert case.id not in {f.case.id for f in failing_cases(session, served)}
    with transaction(runtime.factory) as session, pytest.raises(
            candidates.PromotionRefused) as refused:
        candidates.promote(session, runtime.settings, names=[], reason="again", actor="admin")
    shown = [f for f in refused.value.failures if f.startswith(f"policy case {case.id} ")]
    assert len(shown) == 1, refused.value.failures
    assert shown[0].startswith(f"policy case {case.id} (a moderator's call on a comment we "
                               f"know): {text!r} expected ")
    assert shown[0].endswith(f"({fault})")
    assert _active(runtime) == baseline
    assert _lab_actions(runtime) == ["lab.candidate.settings", "lab.shadow.start",
                                     "lab.promote", "lab.candidate.settings"]
