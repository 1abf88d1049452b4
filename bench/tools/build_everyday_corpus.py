"""Build `classifiers/data/everyday_corpus.jsonl` from the rows written for the encoder stage.

Exact repeats are dropped, and so is every row within rapidfuzz ratio 80 of any evaluation
text (the blind sets, the held-out sets, the dev set, HateCheck): the comparison is made by
the program, so nobody reads the evaluation rows to do it.

    .venv/bin/python -m bench.tools.build_everyday_corpus STAGING_DIR
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "classifiers" / "data" / "everyday_corpus.jsonl"
EVALUATION = [*sorted((ROOT / "bench" / "data").glob("*.jsonl"))]
HATECHECK = ROOT.parent / "shared" / "datasets" / "hatecheck" / "test_suite_cases.csv"
LABELS = {"safeguarding", "threat", "identifying", "hate", "abuse", "sexual", "spam", "profanity"}


def _texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()
            if line.strip()]


def main(staging: Path) -> None:
    """Merge, deduplicate and screen the staging files; print what was kept and dropped."""
    evaluation: list[str] = []
    for path in EVALUATION:
        evaluation += _texts(path)
    with HATECHECK.open(encoding="utf-8") as fh:
        evaluation += [row["test_case"] for row in csv.DictReader(fh)]
    evaluation_lower = [t.lower() for t in evaluation]
    kept: dict[str, dict[str, object]] = {}
    dropped_close = 0
    for name in ("benign_train.jsonl", "flagged_train.jsonl"):
        for line in (staging / name).read_text("utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text = str(row["text"]).strip()
            labels = sorted(set(row["labels"]) & LABELS)
            key = text.lower()
            if not text or key in kept:
                continue
            if process.extractOne(key, evaluation_lower, scorer=fuzz.ratio,
                                  score_cutoff=80) is not None:
                dropped_close += 1
                continue
            kept[key] = {"text": text, "labels": labels,
                         "source": row.get("source", name.removesuffix(".jsonl"))}
    with OUT.open("w", encoding="utf-8") as fh:
        for row in kept.values():
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"kept {len(kept)} rows; dropped {dropped_close} within ratio 80 of an evaluation text")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
