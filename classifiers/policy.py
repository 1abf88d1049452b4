"""The "policy" classifier: rules and the trained model combined into one verdict."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from classifiers.base import Classifier, Label, ProtectedName, Verdict, make_verdict
from classifiers.lexicon import IDENTITY_TERMS
from classifiers.model import MODEL_LABELS, OFFENSIVE, TextModel, shipped
from classifiers.rules import (
    LexicalHits,
    RulesClassifier,
    about_a_child,
    identifying_hits_found,
    lexical_hits,
)

#: the labels the model scores (identifying comes from the rules and the names register only)
_MODEL_TAXONOMY = tuple(Label(h) for h in MODEL_LABELS if h != OFFENSIVE)
#: (label, head name) pairs, so the per-text loops do not look up enum values
_MODEL_HEADS = tuple((label, label.value) for label in _MODEL_TAXONOMY)
_SCORE_LABELS = tuple(Label)
#: each label's head in a row of rounded scores with 0.0 appended (for identifying)
_SCORE_COLUMNS = [MODEL_LABELS.index(label.value) if label.value in MODEL_LABELS
                  else len(MODEL_LABELS) for label in _SCORE_LABELS]
_OFFENSIVE_LABELS = frozenset({Label.ABUSE, Label.HATE, Label.PROFANITY, Label.SEXUAL,
                               Label.THREAT})
#: a rule hit is near-certain, but not quite: the score stays comparable with the model's
RULE_SCORE = 0.97


def _round4_array(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`round(x, 4)` of every probability, for the whole batch at once (Python's is slow).

    numpy rounds the product x * 1e4, Python the exact decimal value of x; for x in [0, 1]
    the product is within 2e-12 of exact, so the two pick the same integer k unless the
    product is next to a .5 tie, and then both return the double nearest to k / 1e4.
    The few near-tie scores are rounded by Python itself.
    """
    scaled = p * 1e4
    rounded: npt.NDArray[np.float64] = np.rint(scaled) / 1e4
    near_tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    for i, j in zip(*np.nonzero(near_tie | ~((p >= 0.0) & (p <= 1.0))), strict=True):
        rounded[i, j] = round(float(p[i, j]), 4)
    return rounded


def _score_table(p: npt.NDArray[np.float64]) -> list[float]:
    """Every text's rounded scores, flat: one per label in taxonomy order (0 for identifying).

    One flat list rather than a list per text: every object alive until the batch is done
    brings the garbage collector's next pass over the whole heap closer.
    """
    padded = np.concatenate([_round4_array(p), np.zeros((len(p), 1))], axis=1)
    flat: list[float] = padded[:, _SCORE_COLUMNS].ravel().tolist()
    return flat


def _scores_at(table: Sequence[float], i: int) -> dict[Label, float]:
    """Every label in taxonomy order with text `i`'s score from a `_score_table`."""
    width = len(_SCORE_LABELS)
    return dict(zip(_SCORE_LABELS, table[i * width:(i + 1) * width], strict=True))


#: what the identifying rules found in a text they found nothing in (read, never changed)
_NO_HITS = LexicalHits()


def _plain_hits(joined: str) -> LexicalHits:
    """What `lexical_hits` returns for a one-window text whose model input is `joined`,
    when it found no label and no idiom there."""
    return LexicalHits(joined=[joined])


def _names_a_group(lex: LexicalHits) -> bool:
    """Whether the text names a protected characteristic or a group defined by one."""
    return any(not IDENTITY_TERMS.isdisjoint(joined.split(" ")) for joined in lex.joined)


def effective_threshold(base: float, sensitivity: float) -> float:
    """A label's threshold moved by the organisation's sensitivity (0.5 keeps it as trained)."""
    return float(min(0.95, max(0.05, base * (1.5 - sensitivity))))


class PolicyClassifier:
    """Rules (lexicons, patterns, identifying detectors, names) plus the calibrated model."""

    def __init__(
        self,
        names: Sequence[ProtectedName] = (),
        *,
        sensitivity: float = 0.5,
        thresholds: Mapping[Label, float] | None = None,
        model: TextModel | None = None,
    ) -> None:
        """Set up the rules now; the model is loaded on first use, once per process."""
        self.rules = RulesClassifier(names)
        self.sensitivity = sensitivity
        self.overrides = dict(thresholds or {})
        self._model = model
        self._lock = threading.Lock()
        #: the auxiliary "offensive" head over-fires outside Davidson-like text (see model card)
        self.use_offensive_head = False

    @property
    def model(self) -> TextModel:
        """The text model (the packaged one unless another was given)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = shipped()
        return self._model

    @property
    def version(self) -> str:
        """Rules version and model artefact hash."""
        return f"{self.rules.version}+{self.model.version}"

    def thresholds(self) -> dict[str, float]:
        """Effective per-head thresholds after overrides and sensitivity."""
        out: dict[str, float] = {}
        for head in MODEL_LABELS:
            base = self.model.thresholds.get(head, 0.5)
            if head != OFFENSIVE and Label(head) in self.overrides:
                base = self.overrides[Label(head)]
            out[head] = effective_threshold(base, self.sensitivity)
        return out

    def classify(self, texts: Sequence[str]) -> list[Verdict]:
        """One verdict per text, in order; any string is accepted."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return []
        # Only texts the rules found something in keep their hits until the verdicts are built
        # (few objects alive per batch means few garbage-collector passes over the heap); the
        # rest keep the model's input, from which `_plain_hits` rebuilds theirs.
        joined: list[str] = []
        lex: dict[int, LexicalHits] = {}
        for i, text in enumerate(texts):
            hits = lexical_hits(text)
            joined.append(" ".join(hits.joined))
            if hits.labels or hits.idiom or len(hits.joined) != 1:
                lex[i] = hits
        idents = identifying_hits_found(texts, self.rules.register)
        x = self.model.features(joined)
        p = self.model.predict_features(x)
        cuts = self.thresholds()
        hot = self._model_may_label(p, cuts)
        table = _score_table(p)
        version = self.version
        verdicts: list[Verdict] = []
        for i in range(len(texts)):
            scores = _scores_at(table, i)
            if (i in lex and lex[i].labels) or i in idents or hot[i]:
                hits = lex[i] if i in lex else _plain_hits(joined[i])
                verdicts.append(self._combine(hits, idents.get(i, _NO_HITS), p[i].tolist(),
                                              scores, (x, i), cuts, version))
            else:
                verdicts.append(Verdict(labels=(), scores=scores, model_version=version))
        return verdicts

    def _model_may_label(self, p: npt.NDArray[np.float64], cuts: Mapping[str, float]
                         ) -> list[bool]:
        """Per text, whether any head `_combine` may turn into a label reaches its threshold.

        The texts where none does, and the rules found nothing, get a verdict without labels
        straight away: for them `_combine` would only copy the scores.
        """
        heads = [head for _, head in _MODEL_HEADS]
        if self.use_offensive_head:
            heads.append(OFFENSIVE)
        cols = [MODEL_LABELS.index(head) for head in heads]
        reached: npt.NDArray[np.bool_] = np.greater_equal(p[:, cols],
                                                          [cuts[h] for h in heads])
        hot: list[bool] = np.any(reached, axis=1).tolist()
        return hot

    def _combine(self, lex: LexicalHits, ident: LexicalHits, row: Sequence[float],
                 scores: dict[Label, float], batch_row: tuple[sparse.csr_matrix, int],
                 cuts: Mapping[str, float], version: str) -> Verdict:
        """The verdict from the rules' hits and the model's scores for one text."""
        ruled = lex.labels | ident.labels
        labels = set(ruled)
        p = dict(zip(MODEL_LABELS, row, strict=True))
        reasons = [*lex.reasons, *ident.reasons]
        model_labels: list[Label] = []
        for label, head in _MODEL_HEADS:
            if p[head] >= cuts[head] and label not in labels:
                if label is Label.THREAT and lex.idiom:
                    continue  # "killed it", "I'm dying": idioms, not violence
                if label is Label.HATE and not _names_a_group(lex):
                    continue  # hate is about a protected characteristic, so it must name one
                model_labels.append(label)
        if (self.use_offensive_head and p[OFFENSIVE] >= cuts[OFFENSIVE]
                and not (labels | set(model_labels)) & _OFFENSIVE_LABELS):
            model_labels.append(Label.ABUSE if p["abuse"] >= p["profanity"] else Label.PROFANITY)
        for label in model_labels:
            labels.add(label)
            # only flagged texts pay for an explanation, read straight from the batch's arrays
            x, i = batch_row
            lo, hi = x.indptr[i], x.indptr[i + 1]
            feats = self.model.explain_row(x.data[lo:hi], x.indices[lo:hi],
                                           MODEL_LABELS.index(label.value),
                                           joined=" ".join(lex.joined))
            shown = ", ".join(repr(f) for f in feats) or "no single strong word"
            reasons.append(f"model: {label.value} {p[label.value]:.2f} (features: {shown})")
        if Label.SEXUAL in labels and Label.SAFEGUARDING not in labels:
            child = about_a_child(" ".join(lex.joined))
            if child:  # anything sexual about a child is also safeguarding (the taxonomy)
                labels.add(Label.SAFEGUARDING)
                reasons.append(f"safeguarding: sexual and about a child ({child!r})")
        if Label.ABUSE in labels:
            labels.discard(Label.PROFANITY)  # swearing aimed at someone is abuse
        for label in ruled:
            scores[label] = round(max(p.get(label.value, 0.0), RULE_SCORE), 4)
        return make_verdict(sorted(labels), scores, spans=ident.spans, reasons=reasons,
                            model_version=version)


def build_rules(
    *,
    names: Sequence[ProtectedName] = (),
    sensitivity: float = 0.5,
    thresholds: Mapping[Label, float] | None = None,
) -> Classifier:
    """The rule-only classifier (sensitivity and thresholds do not apply to rules)."""
    del sensitivity, thresholds
    return RulesClassifier(names)


def build_policy(
    *,
    names: Sequence[ProtectedName] = (),
    sensitivity: float = 0.5,
    thresholds: Mapping[Label, float] | None = None,
) -> Classifier:
    """The full classifier: rules plus the packaged model."""
    return PolicyClassifier(names, sensitivity=sensitivity, thresholds=thresholds)
