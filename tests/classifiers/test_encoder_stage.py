"""The encoder stage: shipped weights, the cascade's second opinion, calibration, severity."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from classifiers.base import Label, Severity
from classifiers.calibration import (
    ALONE_FLOOR,
    CLEAN_BUDGET,
    FLOOR,
    GATES,
    RECALL_FIRST,
    RECALL_FIRST_BUDGET,
    alone_cuts,
    strong_cut,
    thresholds,
)
from classifiers.encoder import ENCODER_DIR, EncoderError, EncoderModel, encoder_text, shipped
from classifiers.model import MODEL_LABELS
from classifiers.policy import PolicyClassifier

#: everyday comments that once raised flags (issue 13), several of them critical
EVERYDAY = (
    "Nice photo", "Lovely", "Lovely initiative", "some text", "Gorgeous photo", "cute photo",
    "We'll update by 7am tomorrow.", "Well done Year 6!", "See you there",
    "Photos from the swimming gala are on the app", "Secret Santa is on Friday",
)


#: a disclosure no rule catches: the fast model sees a chance, the encoder confirms it
UNRULED_DISCLOSURE = "the man at the park keeps taking pictures of the little ones"


class _Recording(EncoderModel):
    """The shipped encoder, remembering which texts it was asked about."""

    asked: list[str]

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        self.asked.extend(texts)
        return super().probabilities(texts)


def _with_meta(**meta: Any) -> PolicyClassifier:
    """The cascade with the shipped encoder, some of its calibration replaced."""
    encoder = shipped()
    return PolicyClassifier(encoder=dataclasses.replace(encoder, meta={**encoder.meta, **meta}))


def _recording() -> _Recording:
    base = shipped()
    recording = _Recording(base.session, base.tokenizer, base.labels, base.version, base.meta)
    recording.asked = []
    return recording


def test_shipped_files_match_their_recorded_sha256() -> None:
    meta = json.loads((ENCODER_DIR / "encoder.json").read_text("utf-8"))
    assert tuple(meta["labels"]) == MODEL_LABELS
    for name, digest in meta["files"].items():
        assert hashlib.sha256((ENCODER_DIR / name).read_bytes()).hexdigest() == digest, name
    assert set(meta["thresholds"]) == set(MODEL_LABELS)
    assert all(FLOOR <= cut < 1 for cut in meta["thresholds"].values())


def test_probabilities_are_per_text_and_in_order() -> None:
    encoder = shipped()
    texts = ["Lovely", "you useless prat, I know where you live", "See you at sports day"]
    together = encoder.probabilities(texts)
    alone = np.vstack([encoder.probabilities([t]) for t in texts])
    assert together.shape == (3, len(MODEL_LABELS))
    assert np.allclose(together, alone, atol=1e-5)  # padding never changes a text's scores
    assert ((together >= 0) & (together <= 1)).all()


def test_handles_are_blanked_for_the_encoder() -> None:
    assert encoder_text("@school_org thanks @Mrs_H!") == "@user thanks @user!"
    assert encoder_text("mail me at jo@example.com") == "mail me at jo@example.com"


@pytest.mark.parametrize("text", EVERYDAY)
def test_everyday_comments_raise_no_flag(text: str) -> None:
    verdict = PolicyClassifier().classify([text])[0]
    assert verdict.labels == (), verdict.reasons


def test_the_encoder_is_asked_only_where_the_fast_stage_sees_a_chance() -> None:
    recording = _recording()
    classifier = PolicyClassifier(encoder=recording)
    clean = ["See you at sports day", "Thank you Mrs Hughes", "Is the cafe open on Friday?",
             *EVERYDAY]
    p, ruled = classifier.fast_stage(clean)
    chance = [text for text, row, hit in zip(clean, p, ruled, strict=True)
              if not hit.any() and (row >= classifier.gates()).any()]
    classifier.classify(clean)
    assert recording.asked == chance
    assert len(chance) < len(clean)  # a comment the fast model sees no chance in is not asked
    recording.asked.clear()
    classifier.classify(["you useless prat"])  # the rules decide abuse; nothing else is likely
    asked_before = len(recording.asked)
    classifier.classify([UNRULED_DISCLOSURE])
    assert recording.asked[asked_before:] == [UNRULED_DISCLOSURE]


def test_a_rule_flagged_text_near_the_deciding_cut_is_asked() -> None:
    """A score that reaches the deciding cut gets the encoder's opinion, even on a text the
    rules flagged and below the fast model's own cut (it once became a label unasked)."""
    base = shipped()
    recording = _recording()
    low = {head: 0.05 for head in MODEL_LABELS}
    recording.meta = {**base.meta, "thresholds": low}
    text = "you useless prat, I will find where you live"
    PolicyClassifier(encoder=recording).classify([text])
    assert recording.asked == [text]


def test_the_encoder_labels_alone_beyond_its_cut() -> None:
    """Where the encoder is beyond its `alone` cut it labels whatever the fast model says;
    below it, its opinion only counts in the blend."""
    text = "theres a man who lives with us now and he gets in my bed when mums on nights"
    encoder = shipped()
    closed = {head: 1.01 for head in MODEL_LABELS}
    fast_only = {**encoder.meta, "blend": 0.0, "alone": closed}
    assert Label.SAFEGUARDING not in PolicyClassifier(
        encoder=dataclasses.replace(encoder, meta=fast_only)).classify([text])[0].labels
    opened = {**fast_only, "alone": {**closed, "safeguarding": 0.0}}
    assert Label.SAFEGUARDING in PolicyClassifier(
        encoder=dataclasses.replace(encoder, meta=opened)).classify([text])[0].labels


def test_alone_cuts_keep_clean_rows_within_half_the_budget() -> None:
    rng = np.random.default_rng(11)
    clean = rng.uniform(0, 1.0, size=(3000, len(MODEL_LABELS)))
    q = np.vstack([clean, rng.uniform(0.9, 1.0, size=(100, len(MODEL_LABELS)))])
    y = np.vstack([np.zeros_like(clean, dtype=int), np.ones((100, len(MODEL_LABELS)), int)])
    cuts = alone_cuts(q, y)
    for h, head in enumerate(MODEL_LABELS):
        assert cuts[head] >= ALONE_FLOOR
        if head != "offensive":
            assert np.mean(clean[:, h] >= cuts[head]) <= CLEAN_BUDGET / 2 + 1e-9, head


def test_critical_needs_strong_evidence() -> None:
    text = UNRULED_DISCLOSURE
    lenient = _with_meta(strong=0.0).classify([text])[0]
    assert Label.SAFEGUARDING in lenient.labels
    assert lenient.severity is Severity.CRITICAL
    strict = _with_meta(strong=1.01).classify([text])[0]
    assert Label.SAFEGUARDING in strict.labels
    assert strict.severity is Severity.HIGH
    assert any("strong-evidence" in reason for reason in strict.reasons)
    # A rule's hit keeps critical whatever the encoder's cut.
    ruled = _with_meta(strong=1.01).classify(["I will kill you"])[0]
    assert ruled.severity is Severity.CRITICAL


def test_a_rule_hit_the_encoder_contradicts_is_high_not_critical() -> None:
    """A critical rule hit stays critical unless the encoder finds none of its label there;
    then the label stays (a rule is never overridden) at high, with the reason."""
    text = "my uncle touches me and says its our secret"
    agreeing = _with_meta(veto=0.0).classify([text])[0]
    assert Label.SAFEGUARDING in agreeing.labels
    assert agreeing.severity is Severity.CRITICAL
    doubting = _with_meta(veto=1.01).classify([text])[0]
    assert Label.SAFEGUARDING in doubting.labels
    assert doubting.severity is Severity.HIGH
    assert any("finds no safeguarding" in reason for reason in doubting.reasons)
    # Without the encoder the rules decide severity alone.
    fast = PolicyClassifier(use_encoder=False).classify([text])[0]
    assert fast.severity is Severity.CRITICAL


def test_a_missing_or_altered_encoder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="missing"):
        EncoderModel.load(tmp_path)
    copy = tmp_path / "encoder"
    shutil.copytree(ENCODER_DIR, copy)
    weights = copy / "encoder-int8.onnx"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(EncoderError, match="sha256"):
        EncoderModel.load(copy)


def test_without_the_encoder_the_fast_stage_still_classifies() -> None:
    fast = PolicyClassifier(use_encoder=False)
    assert fast.encoder is None
    assert Label.ABUSE in fast.classify(["you useless prat"])[0].labels
    assert "+enc-" not in fast.version
    assert "+enc-" in PolicyClassifier().version


def test_thresholds_keep_clean_rows_within_budget() -> None:
    rng = np.random.default_rng(7)
    clean = rng.uniform(0, 0.8, size=(2000, len(MODEL_LABELS)))
    positive = rng.uniform(0.55, 1.0, size=(200, len(MODEL_LABELS)))
    q = np.vstack([clean, positive])
    y = np.vstack([np.zeros_like(clean, dtype=int), np.ones_like(positive, dtype=int)])
    cuts = thresholds(q, y)
    for h, head in enumerate(MODEL_LABELS):
        assert cuts[head] >= FLOOR
        budget = RECALL_FIRST_BUDGET if head in RECALL_FIRST else CLEAN_BUDGET
        assert np.mean(clean[:, h] >= cuts[head]) <= budget
        if head in RECALL_FIRST:  # the lowest cut within budget: one step lower breaks it
            assert np.mean(clean[:, h] >= cuts[head] - 0.01) > budget, head


def test_only_realistic_clean_rows_spend_the_budget() -> None:
    """Hard negatives written beside their positives do not raise a threshold by themselves."""
    rng = np.random.default_rng(3)
    usual = rng.uniform(0, 0.4, size=(1000, len(MODEL_LABELS)))
    look_alikes = np.full((50, len(MODEL_LABELS)), 0.7)
    positive = rng.uniform(0.6, 1.0, size=(100, len(MODEL_LABELS)))
    q = np.vstack([usual, look_alikes, positive])
    y = np.vstack([np.zeros((1050, len(MODEL_LABELS)), int), np.ones_like(positive, dtype=int)])
    realistic = np.array([True] * 1000 + [False] * 50 + [True] * 100)
    head = MODEL_LABELS.index("safeguarding")
    assert thresholds(q, y)["safeguarding"] >= 0.7
    assert thresholds(q, y, realistic)["safeguarding"] == FLOOR
    assert np.all(look_alikes[:, head] >= FLOOR)


def test_gates_sit_below_thresholds_and_strong_above_clean_rows() -> None:
    meta = shipped().meta
    for head, gate in GATES.items():
        if head != "offensive":  # never decides a label: its gate is closed
            assert gate <= meta["thresholds"][head], head
    q = np.full((4, len(MODEL_LABELS)), 0.2)
    q[0, MODEL_LABELS.index("threat")] = 0.9
    assert strong_cut(q, np.zeros_like(q, dtype=int)) == 0.91
