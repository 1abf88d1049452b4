"""The multi-label text model: hashed word n-grams, one logistic head per label, Platt-calibrated.

The artefact is plain numpy arrays (`model.npz`, loaded with `allow_pickle=False`) plus JSON
(`model.json`); `train()` rebuilds both reproducibly from the public data and the seed corpus.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32

from classifiers.base import Label
from classifiers.normalise import normalise, tokens, without_mentions
from classifiers.rules import canonical

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
N_FEATURES = 2**20
#: "offensive" is an auxiliary head (any of abuse, hate, profanity, sexual, threat)
OFFENSIVE = "offensive"
MODEL_LABELS: tuple[str, ...] = (
    OFFENSIVE, Label.ABUSE.value, Label.HATE.value, Label.SEXUAL.value, Label.THREAT.value,
    Label.SAFEGUARDING.value, Label.SPAM.value, Label.PROFANITY.value,
)
_OFFENSIVE_PARTS = frozenset({"abuse", "hate", "profanity", "sexual", "threat"})

#: datasets whose licence lets them go into the shipped model, and how they are used
LICENCES: dict[str, dict[str, str]] = {
    "davidson2017": {"licence": "MIT", "shipped": "yes",
                     "mapping": "class 0 hate -> hate + offensive; class 1 offensive -> "
                                "offensive; class 2 neither -> negative for every head"},
    "tweeteval_offensive": {"licence": "unverified (OLID; research/evaluation only)",
                            "shipped": "no", "mapping": "label 1 -> offensive"},
    "tweeteval_hate": {"licence": "unverified (HatEval; research/evaluation only)",
                       "shipped": "no", "mapping": "label 1 -> hate + offensive"},
    "pii-wnut17": {"licence": "CC-BY 4.0 (cite Derczynski et al. 2017)", "shipped": "yes",
                   "mapping": "texts on which no lexicon word fires -> negative for every head "
                              "(everyday social-media language)"},
    "pii-presidio-synth": {"licence": "MIT", "shipped": "yes",
                           "mapping": "every text -> negative for every head"},
    "seed_corpus": {"licence": "Apache-2.0 (written by the socmon project)", "shipped": "yes",
                    "mapping": "taxonomy labels as written; offensive = any of abuse, hate, "
                               "profanity, sexual, threat"},
}


class ModelError(RuntimeError):
    """The model artefact is missing, unreadable or inconsistent."""


def model_text(text: str) -> str:
    """The text the model sees: normalised, de-obfuscated tokens joined by spaces."""
    if len(text) > 20_000:
        text = text[:20_000]  # the model needs the gist; rules scan the whole text
    return " ".join(canonical(t) for t in tokens(without_mentions(normalise(text))))


_TOKEN_PATTERN = r"(?u)\b\w[\w']*\b"  # noqa: S105  (a regex, not a secret)


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False,
                             norm=None, token_pattern=_TOKEN_PATTERN, lowercase=False,
                             dtype=np.float32)


_WORDS = re.compile(_TOKEN_PATTERN)




def bucket(gram: str) -> int:
    """The hashed feature id of one n-gram: the index HashingVectorizer uses (murmurhash3,
    seed 0, no sign)."""
    return int(abs(murmurhash3_32(gram, seed=0))) % N_FEATURES


def _bucket_names(joined: str) -> dict[int, str]:
    """The hashed feature id of each of a text's n-grams, mapped to the n-gram."""
    return {_bucket_cached(gram): gram for gram in _grams(joined)}


def _bucket_names_of(joined: str, wanted: Collection[int]) -> dict[int, str]:
    """`_bucket_names(joined)` restricted to the ids in `wanted`.

    Explanations quote at most a few n-grams, so only those are built as strings; every
    other bigram is looked up by its word pair. Later n-grams win a shared bucket, as in the
    dict `_bucket_names` builds.
    """
    out: dict[int, str] = {}
    words = _words(joined)
    for word in words:
        fid = _bucket_cached(word)
        if fid in wanted:
            out[fid] = word
    for pair in pairwise(words):
        fid = _pair_bucket(pair)
        if fid in wanted:
            out[fid] = " ".join(pair)
    return out


#: explanations name the n-grams of flagged texts only, so a small cache serves them
_bucket_cached = functools.lru_cache(maxsize=1 << 14)(bucket)


@functools.lru_cache(maxsize=1 << 14)
def _pair_bucket(pair: tuple[str, str]) -> int:
    """The bucket of a word bigram, keyed by the word pair so that no string is built."""
    return bucket(" ".join(pair))


#: a character that is neither a word character, an apostrophe nor a space
_NOT_PLAIN = re.compile(r"[^\w' ]")


def _words(text: str) -> list[str]:
    """`_WORDS.findall(text)`, as a plain split when that gives the same words.

    It does when every space-separated token is word characters and apostrophes, starting and
    ending with a word character: the regex then matches each token whole. The normalised
    texts the model sees are almost always like that, and a split is much faster.
    """
    if (_NOT_PLAIN.search(text) is None and " '" not in text and "' " not in text
            and not text.startswith("'") and not text.endswith("'")):
        return text.split()
    return _WORDS.findall(text)


def _hashed_counts(joined: Sequence[str]) -> sparse.csr_matrix:
    """The same matrix as `_vectorizer().transform(joined)`, several times faster on tweets.

    The n-grams are built here (a plain split when it gives the same words, `_words`) and
    hashed in C by `FeatureHasher`. Hashes are not cached: once a long-running process had
    filled a cache of 2^18 bigrams, lookups cost twice as much as hashing afresh (31 against
    14 µs a tweet), and the cache held tens of megabytes.
    """
    return _HASHER.transform([_grams(text) for text in joined])


def _grams(text: str) -> list[str]:
    """Word 1- and 2-grams, exactly as `_vectorizer()`'s analyzer makes them."""
    words = _words(text)
    return words + list(map(" ".join, pairwise(words)))


_HASHER = FeatureHasher(n_features=N_FEATURES, input_type="string", alternate_sign=False,
                        dtype=np.float32)


@dataclass(frozen=True)
class TextModel:
    """The loaded model: idf weights, per-head coefficients and Platt parameters."""

    #: hashed feature ids kept at training time (sorted), and their idf
    index: npt.NDArray[np.int32]
    idf: npt.NDArray[np.float32]
    #: dense coefficients, one row per kept feature, one column per head
    coef: npt.NDArray[np.float32]
    intercept: npt.NDArray[np.float64]
    platt: npt.NDArray[np.float64]
    thresholds: Mapping[str, float]
    feature_names: Mapping[int, str]
    version: str

    @functools.cached_property
    def _position(self) -> npt.NDArray[np.int32]:
        pos = np.full(N_FEATURES, -1, dtype=np.int32)
        pos[self.index] = np.arange(len(self.index), dtype=np.int32)
        return pos

    def features(self, joined: Sequence[str]) -> sparse.csr_matrix:
        """Rows of log-tf x idf over the kept features, L2-normalised."""
        if not joined:
            return sparse.csr_matrix((0, len(self.index)), dtype=np.float64)
        x = _hashed_counts(joined)
        cols = self._position[x.indices]
        keep = cols >= 0
        # a False appended so that an empty last row still has a valid start for reduceat
        counts = (np.add.reduceat(np.append(keep, False), x.indptr[:-1]) if x.nnz
                  else np.zeros(x.shape[0], int))
        counts[np.diff(x.indptr) == 0] = 0
        indptr = np.concatenate(([0], np.cumsum(counts)))
        data = np.log1p(x.data[keep]) * self.idf[cols[keep]]
        out = sparse.csr_matrix((data, cols[keep], indptr), shape=(x.shape[0], len(self.index)))
        norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ out)

    def predict(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, one row per text and one column per MODEL_LABELS head."""
        return self.predict_joined([model_text(t) for t in texts])

    def predict_joined(self, joined: Sequence[str]) -> npt.NDArray[np.float64]:
        """Like `predict`, for texts already passed through `model_text`."""
        if not joined:
            return np.zeros((0, len(MODEL_LABELS)))
        return self.predict_features(self.features(joined))

    def predict_features(self, x: sparse.csr_matrix) -> npt.NDArray[np.float64]:
        """Calibrated probabilities for rows made by `features`."""
        raw = np.asarray(x @ self.coef) + self.intercept
        z = raw * self.platt[:, 0] + self.platt[:, 1]
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def explain(self, x: sparse.csr_matrix, head: int, k: int = 3) -> list[str]:
        """The n-grams that pushed head `head` up most for one row made by `features`."""
        return self.explain_row(x.data, x.indices, head, k)

    def explain_row(self, data: npt.NDArray[np.floating[Any]], indices: npt.NDArray[np.int32],
                    head: int, k: int = 3, joined: str | None = None) -> list[str]:
        """Like `explain`, for one row's CSR `data` and `indices` (no costly row slicing).

        With `joined` (the text the row was made from) the n-grams are named from the text
        itself: hashing can put two n-grams in one bucket, and the stored name is only one
        of them, which would quote words the text does not contain.
        """
        contrib = data * self.coef[indices, head]
        # only the features that pushed the head up are quoted, so only they need a name
        top = [int(self.index[indices[i]]) for i in np.argsort(-contrib)[:k] if contrib[i] > 0]
        names = self.feature_names if joined is None else _bucket_names_of(joined, set(top))
        return [name for fid in top if (name := names.get(fid))]


def artefact_version(directory: Path = DATA_DIR) -> str:
    """A short hash of the model files, stored with every verdict."""
    digest = hashlib.sha256()
    for name in ("model.npz", "model.json"):
        digest.update((directory / name).read_bytes())
    return "policy-" + digest.hexdigest()[:12]


def load(directory: Path = DATA_DIR) -> TextModel:
    """Load the artefact from `directory` (no pickle)."""
    try:
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        with np.load(directory / "model.npz", allow_pickle=False) as arrays:
            index = arrays["index"].astype(np.int32)
            idf = arrays["idf"].astype(np.float32)
            coef_small = arrays["coef"].astype(np.float32)
            intercept = arrays["intercept"].astype(np.float64)
            platt = arrays["platt"].astype(np.float64)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"cannot load the model from {directory}: {exc}") from None
    names = {int(k): v for k, v in meta["feature_names"].items()}
    return TextModel(index=index, idf=idf, coef=coef_small, intercept=intercept, platt=platt,
                     thresholds=meta["thresholds"], feature_names=names,
                     version=artefact_version(directory))


@functools.cache
def shipped() -> TextModel:
    """The packaged model, loaded once per process."""
    return load(DATA_DIR)


# ----------------------------------------------------------------------------- training


@dataclass
class _Rows:
    texts: list[str]
    #: per head: 1, 0, or -1 when the row says nothing about that head
    targets: list[list[int]]
    weights: list[float]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_csv(path: Path) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["text"], int(row["label"])) for row in csv.DictReader(fh)]


def _davidson(datasets: Path, split: str) -> list[tuple[str, list[int]]]:
    """Davidson rows with per-head targets; the raw class tells hate from offensive."""
    classes: dict[str, int] = {}
    with (datasets / "davidson2017" / "split_index.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("split") == split:
                classes.setdefault(row["raw_row_id"], int(row["orig_class"]))
    out = []
    raw_text = _davidson_raw(datasets)
    for rid, cls in classes.items():
        text = raw_text.get(rid)
        if text is None:
            continue
        t = [-1] * len(MODEL_LABELS)
        t[0] = 1 if cls in (0, 1) else 0
        t[MODEL_LABELS.index("hate")] = 1 if cls == 0 else 0
        # Davidson's hate and offensive tweets are overwhelmingly insults aimed at someone
        t[MODEL_LABELS.index("abuse")] = 1 if cls in (0, 1) else 0
        for head in ("threat", "safeguarding", "spam"):
            t[MODEL_LABELS.index(head)] = 0
        if cls == 2:
            t = [0] * len(MODEL_LABELS)
        out.append((text, t))
    return out


@functools.cache
def _davidson_raw(datasets: Path) -> dict[str, str]:
    with (datasets / "davidson2017" / "raw" / "labeled_data.csv").open(encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return {row[0]: row[-1] for row in reader}


def _seed(path: Path) -> list[tuple[str, list[int]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        labels = set(row["labels"])
        t = [1 if head in labels else 0 for head in MODEL_LABELS]
        t[0] = 1 if labels & _OFFENSIVE_PARTS else 0
        out.append((row["text"], t))
    return out


def _neutral(datasets: Path) -> list[tuple[str, list[int]]]:
    """Everyday text as negatives for every head: WNUT17 (lexicon-clean lines) and Presidio."""
    from classifiers.rules import lexical_hits

    texts: list[str] = []
    for split in ("train", "dev"):
        for line in (datasets / "pii-wnut17" / f"{split}.jsonl").read_text("utf-8").splitlines():
            text = json.loads(line)["text"]
            if len(text) > 20 and not lexical_hits(text).labels:
                texts.append(text)
    synth = datasets / "pii-presidio-synth" / "synth_dataset_v2.jsonl"
    texts += [json.loads(line)["text"] for line in synth.read_text("utf-8").splitlines()]
    return [(t, [0] * len(MODEL_LABELS)) for t in texts]


def _tweeteval(datasets: Path, name: str, split: str) -> list[tuple[str, list[int]]]:
    out = []
    for text, label in _read_csv(datasets / name / f"{split}.csv"):
        t = [-1] * len(MODEL_LABELS)
        t[0] = label
        if name == "tweeteval_hate":
            t[MODEL_LABELS.index("hate")] = label
            t[0] = label if label else -1  # non-hateful tweets may still be offensive
        out.append((text, t))
    return out


#: how much one seed-corpus row counts against one public-data row in training
SEED_WEIGHT = 8.0


def _is_dev(text: str) -> bool:
    """A fixed fifth of the seed corpus is held out for calibration and the quality floor."""
    return hashlib.sha256(text.encode()).digest()[0] % 5 == 0


def seed_split(path: Path | None = None) -> tuple[list[tuple[str, list[str]]],
                                                   list[tuple[str, list[str]]]]:
    """The seed corpus as (train, dev) lists of (text, labels)."""
    path = path or DATA_DIR / "seed_corpus.jsonl"
    train: list[tuple[str, list[str]]] = []
    dev: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            (dev if _is_dev(row["text"]) else train).append((row["text"], row["labels"]))
    return train, dev


def _fit_platt(scores: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> tuple[float, float]:
    """Platt scaling of raw decision values on held-out rows."""
    if len(set(y.tolist())) < 2:
        return 1.0, 0.0
    lr = LogisticRegression(C=1e4)
    lr.fit(scores.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def train(
    datasets: Path = DEFAULT_DATASETS,
    out_dir: Path = DATA_DIR,
    *,
    include_research: bool = False,
    seed_corpus: Path | None = None,
) -> dict[str, Any]:
    """Rebuild the model artefact; returns its metadata. Research data only when asked."""
    seed_path = seed_corpus or DATA_DIR / "seed_corpus.jsonl"
    seed_rows = _seed(seed_path)
    seed_train = [r for r in seed_rows if not _is_dev(r[0])]
    seed_dev = [r for r in seed_rows if _is_dev(r[0])]
    train_rows: list[tuple[str, list[int], float]] = []
    train_rows += [(t, y, 1.0) for t, y in _davidson(datasets, "train")]
    neutral = _neutral(datasets)
    train_rows += [(t, y, 1.0) for t, y in neutral if not _is_dev(t)]
    # the seed corpus is small and close to the product's domain, so it counts for more
    train_rows += [(t, y, SEED_WEIGHT) for t, y in seed_train]
    dev_rows = [(t, y) for t, y in _davidson(datasets, "val")] + seed_dev
    dev_rows += [(t, y) for t, y in neutral if _is_dev(t)]
    sources = {"davidson2017": _sha256(datasets / "davidson2017" / "raw" / "labeled_data.csv"),
               "pii-wnut17": _sha256(datasets / "pii-wnut17" / "train.jsonl"),
               "pii-presidio-synth": _sha256(datasets / "pii-presidio-synth" /
                                             "synth_dataset_v2.jsonl"),
               "seed_corpus": _sha256(seed_path)}
    if include_research:
        for name in ("tweeteval_offensive", "tweeteval_hate"):
            train_rows += [(t, y, 1.0) for t, y in _tweeteval(datasets, name, "train")]
            dev_rows += _tweeteval(datasets, name, "val")
            sources[name] = _sha256(datasets / name / "train.csv")
    return fit_and_save(
        train_rows, dev_rows, out_dir,
        meta={"sources": sources,
              "licences": {k: v for k, v in LICENCES.items() if k in sources}},
    )


def fit_and_save(
    train_rows: Sequence[tuple[str, list[int], float]],
    dev_rows: Sequence[tuple[str, list[int]]],
    out_dir: Path,
    *,
    meta: dict[str, Any],
    name_rows: int | None = None,
) -> dict[str, Any]:
    """Fit every head on (text, labels, weight) rows, calibrate on dev rows, save the artefact.

    One recipe for the shipped model and for retrained candidates, so a candidate differs
    from the shipped model only by its data. `name_rows` limits the readable feature names
    to the first rows (the public base data, never moderators' feedback). Returns the
    metadata written to model.json, with the artefact's version.
    """
    texts = [model_text(t) for t, _, _ in train_rows]
    counts = _vectorizer().transform(texts)
    df = np.bincount(counts.indices, minlength=N_FEATURES)
    keep = np.flatnonzero(df >= 2).astype(np.int32)
    n_docs = counts.shape[0]
    idf = (np.log((1 + n_docs) / (1 + df[keep])) + 1.0).astype(np.float32)
    model = TextModel(index=keep, idf=idf, coef=np.zeros((len(keep), len(MODEL_LABELS)),
                                                         dtype=np.float32),
                      intercept=np.zeros(len(MODEL_LABELS)), platt=np.ones((len(MODEL_LABELS), 2)),
                      thresholds={}, feature_names={}, version="training")
    x_train = model.features(texts)
    x_dev = model.features([model_text(t) for t, _ in dev_rows])
    y_train = np.array([y for _, y, _ in train_rows])
    y_dev = np.array([y for _, y in dev_rows])
    w_train = np.array([w for _, _, w in train_rows])
    coef = np.zeros((len(keep), len(MODEL_LABELS)), dtype=np.float32)
    intercept = np.zeros(len(MODEL_LABELS))
    platt = np.zeros((len(MODEL_LABELS), 2))
    thresholds: dict[str, float] = {}
    for h, head in enumerate(MODEL_LABELS):
        rows = y_train[:, h] >= 0
        lr = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000, solver="liblinear")
        lr.fit(x_train[rows], y_train[rows, h], sample_weight=w_train[rows])
        coef[:, h] = lr.coef_[0]
        intercept[h] = lr.intercept_[0]
        dev_mask = y_dev[:, h] >= 0
        raw = np.asarray(x_dev[dev_mask] @ lr.coef_[0]).ravel() + lr.intercept_[0]
        a, b = _fit_platt(raw, y_dev[dev_mask, h])
        platt[h] = (a, b)
        thresholds[head] = _best_threshold(1 / (1 + np.exp(-(raw * a + b))), y_dev[dev_mask, h])
        log.info("trained head %s on %d rows", head, int(rows.sum()))
    names = _top_feature_names(texts[:name_rows], keep, coef)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "model.npz", index=keep, idf=idf,
                        coef=coef.astype(np.float16), intercept=intercept, platt=platt)
    written: dict[str, Any] = {
        "labels": list(MODEL_LABELS), "n_features": N_FEATURES,
        "features": "hashed word 1-2-grams of the normalised text, log tf x idf, L2",
        "thresholds": thresholds,
        "train_rows": len(train_rows), "dev_rows": len(dev_rows),
        "feature_names": {str(k): v for k, v in sorted(names.items())},
        **meta,
    }
    (out_dir / "model.json").write_text(json.dumps(written, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")
    written["version"] = artefact_version(out_dir)
    return written


def _best_threshold(p: npt.NDArray[np.float64], y: npt.NDArray[np.int_]) -> float:
    """The middle of the probability cuts whose dev F1 is within 0.005 of the best, in [0.5, 0.8].

    F1 is flat near its peak, so the single best cut jumps about from one training run to the
    next; the middle of the plateau is the cut that small changes in the data move least.
    Never below even odds: the dev rows hold far more positives than a real comment stream, so
    a cut that is F1-best there flags too many clean comments in use (on the held-out taxonomy
    set a floor of 0.3 flagged 10.6 % of clean comments, 0.5 flagged 6.5 %). An organisation
    that wants more recall lowers the cut with its sensitivity setting.
    """
    if y.sum() == 0:
        return 0.5
    cuts = np.arange(0.5, 0.81, 0.025)
    positives = float((y == 1).sum())
    f1 = np.array([2 * float((p >= cut)[y == 1].sum()) / max(1.0, float((p >= cut).sum())
                                                                + positives) for cut in cuts])
    near = cuts[f1 >= f1.max() - 0.005]
    return float(round(float(np.median(near)) / 0.025) * 0.025)


def _top_feature_names(texts: Iterable[str], keep: npt.NDArray[np.int32],
                       coef: npt.NDArray[np.float32], per_head: int = 400) -> dict[int, str]:
    """Readable n-grams for the strongest features of each head (hashing is one-way)."""
    wanted: set[int] = set()
    for h in range(coef.shape[1]):
        wanted.update(int(keep[i]) for i in np.argsort(-coef[:, h])[:per_head])
    analyzer = _vectorizer().build_analyzer()
    grams: set[str] = set()
    for text in texts:
        grams.update(analyzer(text))
    names: dict[int, str] = {}
    for gram in sorted(grams):
        idx = bucket(gram)
        if idx in wanted and idx not in names:
            names[idx] = gram
    return names
