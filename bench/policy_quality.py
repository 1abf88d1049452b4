"""Quality where it matters to users: a blind taxonomy set and HateCheck (evaluation only).

Prints figures only, never rows: the blind set's errors stay unread until the round ends.

    .venv/bin/python -m bench.policy_quality [--set bench/data/taxonomy_blind7.jsonl]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import emit
from classifiers.base import Classifier, Label, Severity
from classifiers.policy import PolicyClassifier

ROOT = Path(__file__).resolve().parents[1]
BLIND = ROOT / "bench" / "data" / "taxonomy_blind7.jsonl"
HATECHECK = ROOT.parent / "shared" / "datasets" / "hatecheck" / "test_suite_cases.csv"


def taxonomy_set(classifier: Classifier, path: Path = BLIND) -> dict[str, Any]:
    """Clean comments flagged (and flagged critical), and per-label precision and recall."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    verdicts = classifier.classify([r["text"] for r in rows])
    clean = [v for r, v in zip(rows, verdicts, strict=True) if not r["labels"]]
    out: dict[str, Any] = {
        "rows": len(rows), "clean_rows": len(clean),
        "clean_flagged": round(sum(v.flagged for v in clean) / max(1, len(clean)), 4),
        "clean_critical": round(sum(v.severity is Severity.CRITICAL for v in clean)
                                / max(1, len(clean)), 4),
        "exact": round(sum({lb.value for lb in v.labels} == set(r["labels"])
                           for r, v in zip(rows, verdicts, strict=True)) / len(rows), 4),
    }
    for label in Label:
        tp = fp = fn = 0
        for r, v in zip(rows, verdicts, strict=True):
            want, got = label.value in r["labels"], label in v.labels
            tp += want and got
            fp += got and not want
            fn += want and not got
        out[label.value] = {"rows": tp + fn, "precision": round(tp / max(1, tp + fp), 3),
                            "recall": round(tp / max(1, tp + fn), 3)}
    quiet = [(r, v) for r, v in zip(rows, verdicts, strict=True)
             if "safeguarding" in r["labels"] and r.get("alarm_words") is False]
    if quiet:
        out["safeguarding_without_alarm_words_recall"] = round(
            sum(Label.SAFEGUARDING in v.labels for _, v in quiet) / len(quiet), 3)
    return out


def hatecheck(classifier: Classifier, path: Path = HATECHECK) -> dict[str, Any]:
    """HateCheck's functional tests: accuracy on `hate`, recall, and false alarms by function."""
    with path.open(encoding="utf-8") as fh:
        cases = list(csv.DictReader(fh))
    verdicts = classifier.classify([c["test_case"].strip() for c in cases])
    right = 0
    hateful_hit = hateful = benign_hit = benign = 0
    by_function: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case, verdict in zip(cases, verdicts, strict=True):
        gold = case["label_gold"] == "hateful"
        got = Label.HATE in verdict.labels
        right += gold == got
        if gold:
            hateful += 1
            hateful_hit += got
        else:
            benign += 1
            benign_hit += got
        by_function[case["functionality"]][0] += gold == got
        by_function[case["functionality"]][1] += 1
    return {
        "cases": len(cases), "accuracy": round(right / len(cases), 3),
        "hate_recall": round(hateful_hit / hateful, 3),
        "hate_on_non_hateful": round(benign_hit / benign, 3),
        "accuracy_by_functionality": {k: round(a / n, 2) for k, (a, n) in sorted(
            by_function.items())},
    }


def public(classifier: Classifier) -> dict[str, float]:
    """Macro-F1 on the public test splits (TweetEval hate and offensive, Davidson)."""
    from bench.classifier import TASKS, macro, read
    from classifiers.model import DEFAULT_DATASETS

    out: dict[str, float] = {}
    for name, positive in TASKS.items():
        texts, y = read(DEFAULT_DATASETS, name, "test")
        got = [int(bool(positive & set(v.labels))) for v in classifier.classify(texts)]
        out[name] = macro(y, got)
    return out


def everyday(classifier: Classifier, texts: Sequence[str]) -> Counter[str]:
    """Which labels a handful of everyday comments get (none is the right answer)."""
    return Counter(lb.value for v in classifier.classify(list(texts)) for lb in v.labels)


def main() -> None:
    """Measure the shipped classifier and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=BLIND)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--public", action="store_true", help="also the public test splits")
    parser.add_argument("--fast-only", action="store_true", help="without the encoder stage")
    args = parser.parse_args()
    classifier = PolicyClassifier(use_encoder=not args.fast_only)
    result: dict[str, Any] = {"version": classifier.version,
                              "blind": taxonomy_set(classifier, args.set),
                              "hatecheck": hatecheck(classifier)}
    if args.public:
        result["public"] = public(classifier)
    emit(result, args.out)


if __name__ == "__main__":
    main()
