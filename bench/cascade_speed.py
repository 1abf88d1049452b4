"""Speed and cost of the cascade next to Presidio with the same 5,000-name register.

    taskset -c 0 .venv/bin/python -m bench.cascade_speed --texts 3000

Tweet-length texts (the TweetEval offensive and hate test splits, each text once: the encoder
caches by text, so a repeated text would be free); one core; batched rates in one run,
latency one comment at a time on texts not yet seen, the encoder's size, load time and the
process's peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.classifier import presidio_recognizers, presidio_spans, rate, read, roster
from bench.report import emit
from classifiers.encoder import ENCODER_DIR, EncoderModel
from classifiers.model import DEFAULT_DATASETS
from classifiers.policy import PolicyClassifier


def _latency(clf: PolicyClassifier, texts: list[str]) -> dict[str, float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        clf.classify([text])
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 2),
            "p99_ms": round(float(np.percentile(times, 99)), 2),
            "max_ms": round(max(times), 2)}


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=3000, help="at most 3,300")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    pool = list(dict.fromkeys(read(DEFAULT_DATASETS, "tweeteval_offensive", "test")[0]
                              + read(DEFAULT_DATASETS, "tweeteval_hate", "test")[0]))
    texts, unseen = pool[: args.texts], pool[args.texts: args.texts + 500]
    register = roster(5000)
    start = time.perf_counter()
    EncoderModel.load()
    load_s = time.perf_counter() - start
    cascade = PolicyClassifier(register)
    fast = PolicyClassifier(register, use_encoder=False)
    recognizers = presidio_recognizers(register)

    def presidio(batch: list[str]) -> None:
        for text in batch:
            presidio_spans(recognizers, text)

    out: dict[str, Any] = {"texts": len(texts)}
    out["cascade_batched"] = rate(cascade.classify, texts, batched=True)
    out["fast_stage_batched"] = rate(fast.classify, texts, batched=True)
    out["presidio_with_register"] = rate(presidio, texts[: len(texts) // 5], batched=True)
    out["cascade_vs_presidio"] = round(out["cascade_batched"] / out["presidio_with_register"], 2)
    out["fast_vs_presidio"] = round(out["fast_stage_batched"] / out["presidio_with_register"], 2)
    out["latency_one_at_a_time"] = _latency(cascade, unseen)
    asked = sum(1 for t in texts[:1000] if _asked(cascade, t))
    out["share_asked_of_encoder"] = round(asked / min(1000, len(texts)), 3)
    out["encoder_bytes"] = sum(f.stat().st_size for f in ENCODER_DIR.iterdir())
    out["encoder_load_seconds"] = round(load_s, 3)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    emit(out, args.out)


def _asked(cascade: PolicyClassifier, text: str) -> bool:
    """Whether the cascade asks the encoder about `text` (counted, not timed)."""
    encoder = cascade.encoder
    assert encoder is not None
    calls: list[int] = []
    original = encoder.probabilities

    def counting(texts: Any) -> Any:
        calls.append(len(texts))
        return original(texts)

    object.__setattr__(encoder, "probabilities", counting)
    try:
        cascade.classify([text])
    finally:
        object.__delattr__(encoder, "probabilities")
    return bool(calls)


if __name__ == "__main__":
    main()
