"""Candidates trained on real moderation of the demo stream: promoted when they hold up,
rejected when poisoned feedback makes them regress, audited, rolled back, served.

Each test trains on a small share of the base data (FRACTION) and compares with a baseline
trained on the same share, so a candidate differs from it only by the feedback."""

from __future__ import annotations

import inspect
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from classifiers import model as text_model
from connectors.base import Action
from monitor import alerts, audit, model_registry, retrain
from monitor.alerts import DismissReason
from monitor.db import transaction
from monitor.models import AuditEvent, ModelVersion
from monitor.runtime import Runtime

from .conftest import (
    DATASETS,
    FRACTION,
    adopt_baseline,
    benign_tweets,
    moderate_honestly,
    needs_datasets,
    offensive_tweets,
    seed_alerts,
)

pytestmark = needs_datasets


def _events(rt: Runtime, target: str) -> list[AuditEvent]:
    with rt.factory() as session:
        return list(session.execute(
            select(AuditEvent).where(AuditEvent.target_id == target).order_by(AuditEvent.seq)
        ).scalars())


def _row(rt: Runtime, version: str) -> ModelVersion:
    with rt.factory() as session:
        return session.execute(
            select(ModelVersion).where(ModelVersion.version == version)).scalar_one()


def _active(rt: Runtime) -> str | None:
    with rt.factory() as session:
        row = model_registry.active_version(session)
        return row.version if row is not None else None


def _feedback_texts(rt: Runtime) -> list[str]:
    with rt.factory() as session:
        return [f.example.text for f in retrain.collect_feedback(session)]


def _poison(rt: Runtime, *, held_out_honest: bool) -> int:
    """Benign tweets hidden as abuse (a moderator clicking the wrong button all week)."""
    seeded = seed_alerts(rt, benign_tweets(200), ["abuse"])
    with transaction(rt.factory) as session:
        for alert_id, holdout in seeded:
            if holdout and held_out_honest:
                alerts.dismiss(session, alert_id=alert_id, actor="mod",
                               reason=DismissReason.FALSE_POSITIVE)
            else:
                alerts.request_takedown(session, alert_id=alert_id, actor="mod",
                                        action=Action.HIDE)
    return len(seeded)


def test_honest_feedback_is_promoted_audited_served_and_rolled_back(
        runtime: Runtime, baseline_dir: Path) -> None:
    actioned, dismissed = moderate_honestly(runtime)
    assert actioned > 20
    assert dismissed >= 3  # false alarms to learn from (fewer with each better classifier)
    # an invented insult, so the test can tell whether feedback text leaks out as text
    with transaction(runtime.factory) as session:
        for alert_id, _ in seed_alerts(runtime, [f"shut up you vile zorblax, {i} times over"
                                                 for i in range(12)], ["abuse"]):
            alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    baseline = adopt_baseline(runtime, baseline_dir)
    watcher = retrain.ModelWatcher(runtime)
    result = retrain.retrain(runtime.factory, runtime.settings, actor="cli:tester",
                             base_fraction=FRACTION, min_feedback=30)

    assert result.outcome is retrain.Outcome.PROMOTED, result.regressions
    assert result.compared_with == baseline
    m = result.metrics
    assert m["feedback"]["train"] > 20
    assert m["feedback"]["holdout"] > 3
    assert m["feedback"]["positives"]["abuse"] > 0
    assert m["feedback"]["negatives"]
    for who in ("candidate", "active"):
        assert set(m[who]["public"]) == {"tweeteval_offensive", "tweeteval_hate",
                                         "davidson2017"}
        assert m[who]["holdout"], "the held-out slice was evaluated"
        assert all(0.0 <= s["macro_f1"] <= 1.0 for s in m[who]["public"].values())
    # on the slice it never saw, no label lost two or more rows (the gate's rule; a single row
    # on a slice this small is noise); that it learnt the feedback is checked on its weights
    for label, active in m["active"]["holdout"].items():
        assert m["candidate"]["holdout"][label]["errors"] <= active["errors"] + 1, label
    assert m["regressions"] == []

    row = _row(runtime, result.version)
    assert row.active
    assert row.promoted_at is not None
    assert row.metrics["previous"] == baseline
    assert row.metrics["status"] == "active"
    assert not _row(runtime, baseline).active
    with runtime.factory() as session:
        path = model_registry.active_model_path(session, runtime.settings.data_dir)
    assert path == runtime.settings.data_dir / "models" / result.version
    assert (path / "model.npz").is_file()

    # audited in one transaction: candidate then promotion, consecutive, same instant
    candidate, promote = _events(runtime, result.version)
    assert [candidate.action, promote.action] == ["model.candidate", "model.promote"]
    assert promote.seq == candidate.seq + 1
    assert promote.at == candidate.at
    assert candidate.actor == promote.actor == "cli:tester"
    assert promote.details == {"from": baseline, "to": result.version}
    assert candidate.details["public"]["davidson2017"]["candidate"] > 0.5
    with runtime.factory() as session:
        assert audit.verify(session).ok

    # no comment text left the database except into the model's weights
    texts = _feedback_texts(runtime)
    stored = (path / "model.json").read_text(encoding="utf-8")
    details = json.dumps([candidate.details, promote.details, row.metrics])
    assert not [t for t in texts if t in stored or t in details]
    # the word is in the weights, pushing abuse up, but nowhere as readable text
    learnt = text_model.load(path)
    feature = text_model.bucket("zorblax")
    position = int(np.searchsorted(learnt.index, feature))
    assert learnt.index[position] == feature
    assert learnt.coef[position, text_model.MODEL_LABELS.index("abuse")] > 0
    assert "zorblax" not in stored

    # a daemon notices the promotion and reloads; the served model is the promoted one
    assert watcher() is True
    assert watcher() is False
    served = retrain.serving_classifier(path, runtime.settings)
    assert result.version in served.version.split("+")

    # rollback: to the baseline, then to the packaged model, then nothing further
    with transaction(runtime.factory) as session:
        assert retrain.rollback(session, actor="cli:tester").version == baseline
    assert _active(runtime) == baseline
    assert watcher() is True
    rolled = _events(runtime, baseline)[-1]
    assert rolled.action == "model.rollback"
    assert rolled.actor == "cli:tester"
    assert rolled.details == {"from": result.version, "to": baseline}
    assert _row(runtime, result.version).metrics["status"] == "rolled_back"
    with transaction(runtime.factory) as session:
        packaged = retrain.rollback(session, actor="cli:tester")
    assert packaged.path == model_registry.PACKAGED
    with runtime.factory() as session:
        assert model_registry.active_model_path(session, runtime.settings.data_dir) is None
    with transaction(runtime.factory) as session, pytest.raises(retrain.RollbackError):
        retrain.rollback(session, actor="cli:tester")
    # and forward again to a named version
    with transaction(runtime.factory) as session:
        retrain.rollback(session, to_version=result.version, actor="cli:tester")
    assert _active(runtime) == result.version

    # nothing new since that candidate: the weekly job waits
    with pytest.raises(retrain.NotEnoughFeedback, match=r"^0 labelled"):
        retrain.retrain(runtime.factory, runtime.settings, base_fraction=FRACTION)
    # forced, the same data trains the same bytes: nothing new is recorded
    seen = len(_events(runtime, result.version))
    again = retrain.retrain(runtime.factory, runtime.settings, base_fraction=FRACTION,
                            force=True)
    assert again.outcome is retrain.Outcome.UNCHANGED
    assert again.version == result.version
    assert len(_events(runtime, result.version)) == seen


def test_runtime_classifier_reports_the_promoted_version(
        runtime: Runtime, baseline_dir: Path) -> None:
    wired = "active_model_path" in inspect.getsource(Runtime._build_classifier)
    if not wired:
        pytest.xfail("Runtime._build_classifier does not load the active version yet "
                     "(see docs/retraining.md, 'Wiring')")
    moderate_honestly(runtime)
    before = runtime.classifier.version
    version = adopt_baseline(runtime, baseline_dir)
    assert version not in before.split("+")
    runtime.reload_classifier()
    assert version in runtime.classifier.version.split("+")
    # a few more honest takedowns of offensive tweets take it past the weekly threshold
    with transaction(runtime.factory) as session:
        for alert_id, _ in seed_alerts(runtime, offensive_tweets(10), ["abuse"]):
            alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    with runtime.factory() as session:
        assert retrain.new_feedback_count(session) >= retrain.MIN_NEW_FEEDBACK
    result = retrain.run_scheduled(runtime, threading.Event(), base_fraction=FRACTION)
    assert result is not None
    assert result.outcome is retrain.Outcome.PROMOTED, result.regressions
    assert result.version in runtime.classifier.version.split("+")  # run_scheduled reloaded it


def test_poisoned_feedback_regresses_on_public_sets_and_is_rejected(
        runtime: Runtime, baseline_dir: Path) -> None:
    moderate_honestly(runtime)
    baseline = adopt_baseline(runtime, baseline_dir)
    assert _poison(runtime, held_out_honest=False) == 200
    result = retrain.retrain(runtime.factory, runtime.settings, base_fraction=FRACTION)

    assert result.outcome is retrain.Outcome.REJECTED
    assert any("tweeteval_offensive macro-F1" in r for r in result.regressions)
    assert _active(runtime) == baseline
    row = _row(runtime, result.version)
    assert not row.active
    assert row.promoted_at is None
    assert row.metrics["status"] == "rejected"
    assert row.metrics["files"] == "deleted"
    assert not (runtime.settings.data_dir / "models" / result.version).exists()
    assert not [p for p in (runtime.settings.data_dir / "models").iterdir()
                if p.name.startswith(".tmp")]
    candidate, reject = _events(runtime, result.version)
    assert [candidate.action, reject.action] == ["model.candidate", "model.reject"]
    assert candidate.actor == reject.actor == retrain.SYSTEM_ACTOR
    assert reject.details["active"] == baseline
    assert reject.details["regressions"] == result.regressions
    # a rejected candidate is no rollback target
    with transaction(runtime.factory) as session, pytest.raises(
            retrain.RollbackError, match="never promoted"):
        retrain.rollback(session, to_version=result.version)


def _base_only(tmp_path: Path) -> Path:
    """A datasets directory with the training data but none of the public test splits."""
    root = tmp_path / "datasets"
    for rel in ("davidson2017/raw", "davidson2017/split_index.csv", "pii-wnut17/train.jsonl",
                "pii-wnut17/dev.jsonl", "pii-presidio-synth/synth_dataset_v2.jsonl"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(DATASETS / rel)
    return root


def test_without_public_sets_the_held_out_slice_still_catches_a_regression(
        runtime: Runtime, baseline_dir: Path, tmp_path: Path) -> None:
    moderate_honestly(runtime)
    baseline = adopt_baseline(runtime, baseline_dir)
    # the poison lands in training; on the held-out side moderators dismissed the same kind
    _poison(runtime, held_out_honest=True)
    result = retrain.retrain(runtime.factory, runtime.settings, base_fraction=FRACTION,
                             datasets=_base_only(tmp_path))

    notes = result.metrics["notes"]
    assert sum("not found" in n and "skipped" in n for n in notes) == 3
    assert result.metrics["candidate"]["public"] == {}
    assert result.outcome is retrain.Outcome.REJECTED
    assert any("held-out abuse " in r for r in result.regressions), \
        result.regressions
    assert _active(runtime) == baseline


def test_missing_base_data_is_a_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    moderate_honestly(runtime)
    with pytest.raises(retrain.RetrainError, match="base training data not found"):
        retrain.retrain(runtime.factory, runtime.settings, force=True,
                        datasets=tmp_path / "nowhere")
    with runtime.factory() as session:
        assert model_registry.list_versions(session) == []


def _holdout(score: float, errors: int, rows: int = 9) -> dict[str, object]:
    return {"holdout": {"safeguarding": {"score": score, "errors": errors, "rows": rows,
                                         "metric": "f1"}}, "public": {}}


def test_one_more_wrong_row_on_a_small_slice_is_not_a_regression() -> None:
    found, _ = retrain.regressions(_holdout(0.75, 2), _holdout(0.889, 1))
    assert found == []
    found, _ = retrain.regressions(_holdout(0.6, 3), _holdout(0.889, 1))
    assert found == ["held-out safeguarding f1 0.600 < 0.889"]
