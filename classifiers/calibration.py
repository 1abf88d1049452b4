"""Calibrate the cascade on dev rows: thresholds for precision on everyday traffic, and the
strong-evidence cut for critical; the gates, blend and veto are the cascade's fixed policy.

Thresholds are chosen for F1 on the dev positives, but never so low that more than
`CLEAN_BUDGET` of the clean dev rows (everyday comments, hard negatives) reach them: a real
comment stream is almost all clean, so a cut that is F1-best on a positive-heavy dev set would
flag everyday comments in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from classifiers.model import MODEL_LABELS, OFFENSIVE

#: the share of clean dev rows one head may flag
CLEAN_BUDGET = 0.002
#: no threshold below even odds: the dev rows hold far more positives than real traffic
FLOOR = 0.5
#: the fast model's probability from which a text the rules left clean goes to the encoder.
#: A cost policy, not fitted: gates low enough to let every positive of the dev rows the
#: rules miss through would send ~90 % of tweets to the encoder. Lowest for safeguarding,
#: where a missed disclosure does the most harm (what each lets through: docs/model-card.md).
GATES: dict[str, float] = {
    OFFENSIVE: 1.0, "abuse": 0.2, "hate": 0.1, "sexual": 0.1, "threat": 0.1,
    "safeguarding": 0.03, "spam": 0.2, "profanity": 0.3,
}
#: the encoder's weight in the blended score (chosen on the read dev and first held-out sets)
BLEND = 0.4
#: the encoder probability below which it vetoes a label the fast model gave by itself
VETO = 0.25
#: labels whose default severity is critical: they need strong evidence to stay critical
CRITICAL_HEADS = ("safeguarding", "threat")


def thresholds(q: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> dict[str, float]:
    """Per head: the F1-best cut at or above `FLOOR` within the clean budget."""
    clean = np.all(y <= 0, axis=1)
    out: dict[str, float] = {}
    for h, head in enumerate(MODEL_LABELS):
        known = y[:, h] >= 0
        best, best_f1 = 0.99, -1.0
        for cut in np.arange(FLOOR, 0.995, 0.01):
            if np.mean(q[clean, h] >= cut) > CLEAN_BUDGET:
                continue
            got = q[known, h] >= cut
            want = y[known, h] == 1
            tp = float(np.sum(got & want))
            f1 = 2 * tp / max(1.0, float(np.sum(got) + np.sum(want)))
            if f1 > best_f1 + 1e-9:
                best, best_f1 = float(round(cut, 2)), f1
        out[head] = best
    return out


def gate_recall(p: npt.NDArray[np.float64], ruled: npt.NDArray[np.bool_],
                y: npt.NDArray[np.int_]) -> dict[str, float]:
    """Per head, the share of dev positives the rules miss that `GATES` lets through."""
    out: dict[str, float] = {}
    for h, head in enumerate(MODEL_LABELS):
        missed = (y[:, h] == 1) & ~ruled[:, h]
        if head != OFFENSIVE and missed.any():
            out[head] = round(float(np.mean(p[missed, h] >= GATES[head])), 3)
    return out


def strong_cut(q: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> float:
    """The encoder probability from which a critical label stays critical: above every
    clean dev row's score on the critical heads, and at least 0.85."""
    clean = np.all(y <= 0, axis=1)
    cols = [MODEL_LABELS.index(h) for h in CRITICAL_HEADS]
    highest = float(np.max(q[np.ix_(clean, cols)])) if clean.any() else 0.0
    return round(float(np.clip(highest + 0.01, 0.85, 0.98)), 2)


def calibrate(q: npt.NDArray[np.float64], p: npt.NDArray[np.float64],
              ruled: npt.NDArray[np.bool_], targets: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Everything the cascade reads from `encoder.json`, from the encoder's `q` and the fast
    model's `p` on dev rows: thresholds and the strong cut on the blended score."""
    from classifiers.policy import blend

    y = np.array(targets)
    blended = blend(p, q, BLEND)
    return {"thresholds": thresholds(blended, y), "gates": dict(GATES), "blend": BLEND,
            "veto": VETO, "strong": strong_cut(blended, y), "clean_budget": CLEAN_BUDGET,
            "gate_recall_on_dev": gate_recall(p, ruled, y)}
