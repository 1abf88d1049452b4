"""Calibrate the cascade on dev rows: the blend, thresholds for precision on everyday
traffic, the encoder's own cut to flag alone, and the strong-evidence cut for critical; the
gates and the veto are the cascade's fixed policy.

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
#: A cost policy, not fitted. Round 7 cut round 6's gates to 0.3x once the encoder ran twelve
#: times faster (unpadded): on dev, the share of rule-missed positives let through rose from
#: 0.63-0.86 to 0.84-0.94 per head, and the share of tweets asked about doubled. Lowest for
#: safeguarding, where a missed disclosure does the most harm (docs/model-card.md).
GATES: dict[str, float] = {
    OFFENSIVE: 1.0, "abuse": 0.06, "hate": 0.03, "sexual": 0.03, "threat": 0.03,
    "safeguarding": 0.01, "spam": 0.06, "profanity": 0.09,
}
#: the encoder weights in the blended score that calibration chooses from (by mean F1 on dev;
#: round 6 fixed 0.4, chosen on the read dev and first held-out sets)
BLENDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: the encoder probability below which it vetoes a label the fast model gave by itself
VETO = 0.25
#: the encoder flags by itself (whatever the fast model says) only from this probability up:
#: it reads wordings the n-gram model never saw, where the blend would drown it out
ALONE_FLOOR = 0.8
#: labels whose default severity is critical: they need strong evidence to stay critical
CRITICAL_HEADS = ("safeguarding", "threat")
#: heads whose threshold is the lowest within the clean budget rather than the F1-best: a
#: missed disclosure or threat costs more than a false alarm, which critical's strong-evidence
#: cut keeps at high. Round 8's F1-best cuts (safeguarding 0.80) let through, on the spent
#: fifth blind set, 25 of 54 missed disclosures whose blend was >= 0.5, against 1 clean row.
RECALL_FIRST = CRITICAL_HEADS
#: their clean budget: the five other heads' 0.2 % each and these two's 0.4 % each stay
#: within the 1.5 % of clean comments flagged that issue 13 allows, as heads overlap
RECALL_FIRST_BUDGET = 0.004


def thresholds(q: npt.NDArray[np.float64], y: npt.NDArray[np.int_],
               realistic: npt.NDArray[np.bool_] | None = None) -> dict[str, float]:
    """Per head: the F1-best cut at or above `FLOOR` within the clean budget, counted on the
    `realistic` clean rows (all clean rows by default); for `RECALL_FIRST` heads, the lowest
    cut within their own budget."""
    clean = np.all(y <= 0, axis=1)
    if realistic is not None:
        clean &= realistic
    out: dict[str, float] = {}
    for h, head in enumerate(MODEL_LABELS):
        known = y[:, h] >= 0
        best, best_f1 = 0.99, -1.0
        budget = RECALL_FIRST_BUDGET if head in RECALL_FIRST else CLEAN_BUDGET
        for cut in np.arange(FLOOR, 0.995, 0.01):
            if np.mean(q[clean, h] >= cut) > budget:
                continue
            if head in RECALL_FIRST:
                best = float(round(cut, 2))
                break
            got = q[known, h] >= cut
            want = y[known, h] == 1
            tp = float(np.sum(got & want))
            f1 = 2 * tp / max(1.0, float(np.sum(got) + np.sum(want)))
            if f1 > best_f1 + 1e-9:
                best, best_f1 = float(round(cut, 2)), f1
        out[head] = best
    return out


def alone_cuts(q: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> dict[str, float]:
    """Per head, the encoder probability from which it labels alone: at least `ALONE_FLOOR`,
    and reached by no more than half the clean budget of clean dev rows."""
    clean = np.all(y <= 0, axis=1)
    out: dict[str, float] = {}
    for h, head in enumerate(MODEL_LABELS):
        out[head] = 1.0  # never alone, unless a cut keeps the clean rows within budget
        if head == OFFENSIVE:
            continue
        for cut in np.arange(ALONE_FLOOR, 0.995, 0.01):
            if np.mean(q[clean, h] >= cut) <= CLEAN_BUDGET / 2:
                out[head] = float(round(cut, 2))
                break
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


def _mean_f1(decided: npt.NDArray[np.float64], cuts: dict[str, float],
             ruled: npt.NDArray[np.bool_], y: npt.NDArray[np.int_]) -> float:
    """Mean F1 over the labelling heads of the labels the rules or `decided` give."""
    f1s = []
    for h, head in enumerate(MODEL_LABELS):
        known = y[:, h] >= 0
        if head == OFFENSIVE or not known.any():
            continue
        got = (decided[known, h] >= cuts[head]) | ruled[known, h]
        want = y[known, h] == 1
        f1s.append(2 * float(np.sum(got & want)) / max(1.0, float(np.sum(got) + np.sum(want))))
    return float(np.mean(f1s))


def choose_blend(q: npt.NDArray[np.float64], p: npt.NDArray[np.float64],
                 ruled: npt.NDArray[np.bool_], y: npt.NDArray[np.int_],
                 realistic: npt.NDArray[np.bool_] | None = None) -> float:
    """The encoder's weight in `BLENDS` whose calibrated cascade has the best mean F1 on dev."""
    from classifiers.policy import blend

    def score(weight: float) -> float:
        blended = blend(p, q, weight)
        return _mean_f1(blended, thresholds(blended, y, realistic), ruled, y)

    return max(BLENDS, key=score)


def calibrate(q: npt.NDArray[np.float64], p: npt.NDArray[np.float64],
              ruled: npt.NDArray[np.bool_], targets: Sequence[Sequence[int]],
              realistic: Sequence[bool] | None = None) -> dict[str, Any]:
    """Everything the cascade reads from `encoder.json`, from the encoder's `q` and the fast
    model's `p` on dev rows: the blend, thresholds and strong cut on the blended score, and
    the encoder's cuts to label alone.

    Thresholds spend the clean budget on the `realistic` clean rows only: hard negatives
    written beside their positives are far rarer in a real stream than in dev, and counting
    them raised round 8's safeguarding threshold from 0.67 to 0.80. The alone and strong
    cuts, which decide without the fast model and wake the DSL, still count every clean row.
    """
    from classifiers.policy import blend

    y = np.array(targets)
    usual = None if realistic is None else np.array(realistic, dtype=bool)
    weight = choose_blend(q, p, ruled, y, usual)
    blended = blend(p, q, weight)
    return {"thresholds": thresholds(blended, y, usual), "gates": dict(GATES), "blend": weight,
            "veto": VETO, "alone": alone_cuts(q, y), "strong": strong_cut(blended, y),
            "clean_budget": CLEAN_BUDGET, "gate_recall_on_dev": gate_recall(p, ruled, y)}
