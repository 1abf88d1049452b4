"""Scan the veto on dev: per value, the cascade's mean F1, realistic clean rows flagged and
recall per label (figures only; dev rows are training data, read).

    .venv/bin/python -m bench.tools.veto_scan
"""

from __future__ import annotations

import numpy as np

from classifiers import encoder_train
from classifiers.calibration import _mean_f1, thresholds
from classifiers.encoder import EncoderModel
from classifiers.model import MODEL_LABELS, OFFENSIVE
from classifiers.policy import PolicyClassifier, blend, decide, effective_threshold

VETOES = (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def main() -> None:
    """Print one line per veto value."""
    dev = encoder_train.dev_rows()
    texts = [row.text for row in dev]
    encoder = EncoderModel.load(encoder_train.ENCODER_DIR)
    q = encoder.probabilities(texts)
    fast = PolicyClassifier(use_encoder=False)
    p, ruled = fast.fast_stage(texts)
    y = np.array([row.targets for row in dev])
    realistic = np.array([row.realistic for row in dev])
    meta = dict(encoder.meta)
    fast_cuts = np.array([effective_threshold(fast.model.thresholds.get(h, 0.5), 0.5)
                          for h in MODEL_LABELS])
    own = (p >= fast_cuts) & ~ruled
    own[:, MODEL_LABELS.index(OFFENSIVE)] = False
    by_head = thresholds(blend(p, q, meta["blend"]), y, realistic)
    cuts = np.array([by_head[h] for h in MODEL_LABELS])
    clean = np.all(y <= 0, axis=1) & realistic
    heads = [i for i, h in enumerate(MODEL_LABELS) if h != OFFENSIVE]
    print(f"{len(dev)} dev rows, {int(clean.sum())} realistic clean")
    for veto in VETOES:
        decided = decide(p, q, own, {**meta, "veto": veto}, cuts)
        got = (decided >= cuts) | ruled
        flagged = np.any(got[:, heads], axis=1)
        recall = {MODEL_LABELS[h]: round(float(np.mean(got[y[:, h] == 1, h])), 3)
                  for h in heads if (y[:, h] == 1).any()}
        print(f"veto {veto:.2f} mean F1 {_mean_f1(decided, by_head, ruled, y):.4f} "
              f"clean flagged {flagged[clean].mean():.4f} {recall}")


if __name__ == "__main__":
    main()
