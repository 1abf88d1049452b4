"""Candidate models from the base training data plus labelled examples, and how to judge them.

Pure like the rest of `classifiers/`: texts and targets in, a model directory and metrics out.
The artefact has exactly the shipped model's format (`model.npz` + `model.json`), so
`classifiers.model.load` reads it and `PolicyClassifier(model=...)` serves it. Beside it,
`encoder-calibration.json` holds the encoder stage's thresholds and gates recalibrated with the
feedback: the encoder's weights are not retrained (that needs the train extra and an hour of
CPU), but what it takes to flag is, which is where moderators' decisions say most.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

from classifiers import encoder as encoder_stage
from classifiers import model as text_model
from classifiers.base import Classifier, Label, ProtectedName, Verdict
from classifiers.calibration import calibrate
from classifiers.model import MODEL_LABELS, OFFENSIVE
from classifiers.policy import PolicyClassifier
from classifiers.registry import ClassifierConfigError

log = logging.getLogger(__name__)

#: moderator feedback is in-domain, like the seed corpus, so it weighs as much as a seed row
FEEDBACK_WEIGHT = 8.0
#: the taxonomy labels the model scores (identifying comes from rules and the names register)
MODEL_TAXONOMY: tuple[str, ...] = tuple(h for h in MODEL_LABELS if h != OFFENSIVE)
_OFFENSIVE_PARTS = frozenset({"abuse", "hate", "profanity", "sexual", "threat"})
#: public test splits: dataset -> the predicted labels that count as its positive class
PUBLIC_TASKS: Mapping[str, frozenset[Label]] = {
    "tweeteval_offensive": frozenset({Label.ABUSE, Label.HATE, Label.PROFANITY, Label.SEXUAL,
                                      Label.THREAT}),
    "tweeteval_hate": frozenset({Label.HATE}),
    "davidson2017": frozenset({Label.ABUSE, Label.HATE, Label.PROFANITY, Label.SEXUAL,
                               Label.THREAT}),
}


class BaseDataMissing(FileNotFoundError):
    """The base training data (../shared/datasets) is not where it was looked for."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text: per model label 1 (is), 0 (is not); labels not named are unknown."""

    text: str
    targets: Mapping[str, int]

    @classmethod
    def from_labels(cls, text: str, *, positive: Iterable[str] = (),
                    negative: Iterable[str] = ()) -> Example:
        """Targets for the taxonomy labels given; the "offensive" head follows its parts."""
        targets: dict[str, int] = {}
        for label in negative:
            if label in MODEL_TAXONOMY:
                targets[label] = 0
        for label in positive:  # a label both confirmed and denied counts as confirmed
            if label in MODEL_TAXONOMY:
                targets[label] = 1
        parts = {k: v for k, v in targets.items() if k in _OFFENSIVE_PARTS}
        if any(parts.values()):
            targets[OFFENSIVE] = 1
        elif parts:
            targets[OFFENSIVE] = 0
        return cls(text, targets)

    def row(self) -> list[int]:
        """Targets in MODEL_LABELS order, -1 where unknown (the head skips the row)."""
        return [self.targets.get(head, -1) for head in MODEL_LABELS]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trained candidate: where it is, its version and what it was trained on."""

    path: Path
    version: str
    meta: dict[str, Any] = field(default_factory=dict)


def _sampled(text: str, fraction: float) -> bool:
    """A deterministic pseudo-random share of the base rows (tests train on a small one)."""
    if fraction >= 1.0:
        return True
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") < fraction * 2**32


def _require(datasets: Path) -> None:
    needed = [datasets / "davidson2017" / "raw" / "labeled_data.csv",
              datasets / "davidson2017" / "split_index.csv",
              datasets / "pii-wnut17" / "train.jsonl",
              datasets / "pii-presidio-synth" / "synth_dataset_v2.jsonl"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise BaseDataMissing(f"base training data not found: {', '.join(missing)}")


def train_candidate(
    out_dir: Path,
    examples: Sequence[Example],
    *,
    datasets: Path = text_model.DEFAULT_DATASETS,
    base_fraction: float = 1.0,
    weight: float = FEEDBACK_WEIGHT,
    seed_corpus: Path | None = None,
) -> Candidate:
    """Train the shipped recipe on its licensed base data plus `examples` into `out_dir`.

    A fifth of the examples (by text hash, as for the seed corpus) joins the calibration set.
    Readable feature names come from the base data only, so no moderated comment is written
    out as text: the examples enter the model only as hashed-feature weights.
    """
    _require(datasets)
    seed_path = seed_corpus or text_model.DATA_DIR / "seed_corpus.jsonl"
    train_rows: list[tuple[str, list[int], float]] = []
    dev_rows: list[tuple[str, list[int]]] = []
    for text, y in text_model._davidson(datasets, "train"):  # the shipped recipe
        if _sampled(text, base_fraction):
            train_rows.append((text, y, 1.0))
    for text, y in text_model._neutral(datasets):
        if text_model._is_dev(text):
            dev_rows.append((text, y))
        elif _sampled(text, base_fraction):
            train_rows.append((text, y, 1.0))
    for text, y in text_model._seed(seed_path):
        if text_model._is_dev(text):
            dev_rows.append((text, y))
        else:
            train_rows.append((text, y, 8.0))
    dev_rows += [(t, y) for t, y in text_model._davidson(datasets, "val")
                 if _sampled(t, base_fraction)]
    n_base = len(train_rows)
    n_feedback_dev = 0
    for ex in examples:
        if text_model._is_dev(ex.text):
            dev_rows.append((ex.text, ex.row()))
            n_feedback_dev += 1
        else:
            train_rows.append((ex.text, ex.row(), weight))

    meta = text_model.fit_and_save(
        train_rows, dev_rows, out_dir, name_rows=n_base,
        meta={
            "sources": {"base": "davidson2017 + pii-wnut17 + pii-presidio-synth + seed_corpus",
                        "seed_corpus": hashlib.sha256(seed_path.read_bytes()).hexdigest()},
            "licences": {k: v for k, v in text_model.LICENCES.items() if v["shipped"] == "yes"},
            "base_fraction": base_fraction,
            "feedback_rows": {"train": len(examples) - n_feedback_dev,
                              "calibration": n_feedback_dev},
        },
    )
    _recalibrate_encoder(out_dir, examples, datasets=datasets, base_fraction=base_fraction)
    version = str(meta["version"])
    log.info("trained candidate %s on %d rows (%d from feedback)", version, len(train_rows),
             len(examples) - n_feedback_dev)
    return Candidate(out_dir, version, {k: meta[k] for k in (
        "train_rows", "dev_rows", "base_fraction", "feedback_rows", "thresholds")})


#: the file beside a candidate's model that holds its encoder thresholds, gates and strong cut
ENCODER_CALIBRATION = "encoder-calibration.json"


def _recalibrate_encoder(out_dir: Path, examples: Sequence[Example], *, datasets: Path,
                         base_fraction: float) -> None:
    """Calibrate the shipped encoder's cuts on its dev rows plus the feedback's dev fifth,
    with the candidate's fast model as the gate."""
    from classifiers.encoder_train import dev_rows

    rows = [(r.text, list(r.targets), r.realistic) for r in dev_rows(datasets)
            if _sampled(r.text, base_fraction)]
    rows += [(ex.text, ex.row(), True) for ex in examples if text_model._is_dev(ex.text)]
    texts = [text for text, _, _ in rows]
    q = encoder_stage.shipped().probabilities(texts)
    fast = PolicyClassifier(model=text_model.load(out_dir), use_encoder=False)
    p, ruled = fast.fast_stage(texts)
    cuts = calibrate(q, p, ruled, [targets for _, targets, _ in rows],
                     realistic=[realistic for _, _, realistic in rows])
    (out_dir / ENCODER_CALIBRATION).write_text(json.dumps(cuts, indent=1, sort_keys=True) + "\n",
                                               encoding="utf-8")


def policy_from_dir(
    model_dir: Path,
    *,
    names: Sequence[ProtectedName] = (),
    sensitivity: float = 0.5,
    thresholds: Mapping[Label, float] | None = None,
    use_encoder: bool = True,
) -> PolicyClassifier:
    """The "policy" classifier serving the model in `model_dir` (raises model.ModelError);
    with `use_encoder` False, its fast stage alone."""
    if not 0.0 <= sensitivity <= 1.0:
        raise ClassifierConfigError(f"sensitivity: {sensitivity} is not between 0 and 1")
    for label, value in (thresholds or {}).items():
        if not 0.0 < value < 1.0:
            raise ClassifierConfigError(f"thresholds.{label}: {value} is not between 0 and 1")
    calibration = model_dir / ENCODER_CALIBRATION
    encoder = None
    if use_encoder and calibration.is_file():
        shipped = encoder_stage.shipped()
        cuts = json.loads(calibration.read_text(encoding="utf-8"))
        encoder = dataclasses.replace(shipped, meta={**shipped.meta, **cuts})
    return PolicyClassifier(names, sensitivity=sensitivity, thresholds=thresholds,
                            model=text_model.load(model_dir), encoder=encoder,
                            use_encoder=use_encoder)


def _f1(tp: int, fp: int, fn: int) -> float:
    # no positives and none predicted is a perfect score, not an undefined one: a slice of
    # dismissals only is judged on whether the model stays quiet
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def evaluate_examples(classifier: Classifier, examples: Sequence[Example],
                      *, batch: int = 512) -> dict[str, dict[str, float | int | str]]:
    """Per taxonomy label with rows that speak to it: F1, precision, recall, true-negative
    rate, and `score`, the figure to compare: F1, or the true-negative rate when the rows
    hold no positive (F1 is then 0 or 1 whatever the model does on the negatives)."""
    verdicts: list[Verdict] = []
    for start in range(0, len(examples), batch):
        verdicts += classifier.classify([e.text for e in examples[start:start + batch]])
    out: dict[str, dict[str, float | int | str]] = {}
    for label in MODEL_TAXONOMY:
        tp = fp = fn = n = 0
        for ex, verdict in zip(examples, verdicts, strict=True):
            want = ex.targets.get(label)
            if want is None:
                continue
            n += 1
            got = label in {lab.value for lab in verdict.labels}
            tp += got and want == 1
            fp += got and want == 0
            fn += (not got) and want == 1
        if n:
            negatives = n - tp - fn
            f1 = round(_f1(tp, fp, fn), 4)
            tnr = round(1 - fp / negatives, 4) if negatives else 1.0
            out[label] = {"f1": f1, "tnr": tnr,
                          "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
                          "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
                          "positives": tp + fn, "rows": n, "errors": fp + fn,
                          "metric": "f1" if tp + fn else "tnr",
                          "score": f1 if tp + fn else tnr}
    return out


def _read_test(path: Path) -> tuple[list[str], list[int]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def public_sets(datasets: Path) -> tuple[dict[str, Path], list[str]]:
    """The public test splits present under `datasets`, and a note for each one absent."""
    found: dict[str, Path] = {}
    notes: list[str] = []
    for name in PUBLIC_TASKS:
        path = datasets / name / "test.csv"
        if path.is_file():
            found[name] = path
        else:
            notes.append(f"public test set {name} not found at {path}; skipped")
    return found, notes


def evaluate_public(classifier: Classifier, sets: Mapping[str, Path],
                    *, batch: int = 1024) -> dict[str, dict[str, float | int]]:
    """Macro-F1 (both classes, as TweetEval reports it) on each public test split."""
    out: dict[str, dict[str, float | int]] = {}
    for name, path in sets.items():
        texts, gold = _read_test(path)
        positive = PUBLIC_TASKS[name]
        pred: list[int] = []
        for start in range(0, len(texts), batch):
            pred += [int(bool(positive & set(v.labels)))
                     for v in classifier.classify(texts[start:start + batch])]
        out[name] = {"macro_f1": round(float(f1_score(gold, pred, average="macro")), 4),
                     "n": len(texts)}
    return out
