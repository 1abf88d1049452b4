"""Build a training corpus in `classifiers/data/` from rows written for the classifier.

Exact repeats are dropped, and so is every row within rapidfuzz ratio 80 of any evaluation
text (the blind and held-out sets in `bench/data/`, the dev set, HateCheck): the comparison is
made by the program, so nobody reads the evaluation rows to do it.

    .venv/bin/python -m bench.tools.build_corpus everyday STAGING_DIR
    .venv/bin/python -m bench.tools.build_corpus written FILE.jsonl [FILE.jsonl ...]

`everyday` reads `benign_train.jsonl` and `flagged_train.jsonl` from STAGING_DIR (round 6);
`written` merges hand-written files (spent blind sets, training rows) into the written corpus,
each row's `source` the file's stem unless the row names one.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = {"everyday": ROOT / "classifiers" / "data" / "everyday_corpus.jsonl",
           "written": ROOT / "classifiers" / "data" / "written_corpus.jsonl"}
HATECHECK = ROOT.parent / "shared" / "datasets" / "hatecheck" / "test_suite_cases.csv"
LABELS = {"safeguarding", "threat", "identifying", "hate", "abuse", "sexual", "spam", "profanity"}


def _texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()
            if line.strip()]


def evaluation_texts() -> list[str]:
    """Every evaluation text, lower-cased: the sets in `bench/data/` and HateCheck."""
    evaluation: list[str] = []
    for path in sorted((ROOT / "bench" / "data").glob("*.jsonl")):
        evaluation += _texts(path)
    with HATECHECK.open(encoding="utf-8") as fh:
        evaluation += [row["test_case"] for row in csv.DictReader(fh)]
    return [t.lower() for t in evaluation]


def _rows(paths: Iterable[Path]) -> Iterable[dict[str, object]]:
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row.setdefault("source", path.stem)
                yield row


def build(paths: Iterable[Path], out: Path) -> None:
    """Merge, deduplicate and screen the rows of `paths` into `out`; print what was kept."""
    evaluation = evaluation_texts()
    kept: dict[str, dict[str, object]] = {}
    dropped_close = 0
    for row in _rows(paths):
        text = str(row["text"]).strip()
        key = text.lower()
        if not text or key in kept:
            continue
        if process.extractOne(key, evaluation, scorer=fuzz.ratio,
                              score_cutoff=80) is not None:
            dropped_close += 1
            continue
        labels = row["labels"]
        if not isinstance(labels, list):
            raise SystemExit(f"a row of {row['source']} has no list of labels")
        kept[key] = {"text": text, "labels": sorted(set(labels) & LABELS),
                     "source": row["source"]}
    with out.open("w", encoding="utf-8") as fh:
        for kept_row in kept.values():
            fh.write(json.dumps(kept_row, ensure_ascii=False) + "\n")
    print(f"kept {len(kept)} rows; dropped {dropped_close} within ratio 80 of an evaluation text")


def main(argv: list[str]) -> None:
    """`everyday STAGING_DIR` or `written FILE...`."""
    kind, *args = argv
    if kind == "everyday":
        staging = Path(args[0])
        build([staging / "benign_train.jsonl", staging / "flagged_train.jsonl"], OUTPUTS[kind])
    elif kind == "written":
        build([Path(a) for a in args], OUTPUTS[kind])
    else:
        raise SystemExit(f"unknown corpus {kind!r}: expected 'everyday' or 'written'")


if __name__ == "__main__":
    main(sys.argv[1:])
