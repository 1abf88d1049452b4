"""The "policy" classifier: rules, the fast linear model and the encoder, in one verdict.

A cascade. The rules (lexicons, patterns, identifying detectors, the names register) and a
linear model over n-grams read every text. Where the linear model sees a chance of a label
the rules did not give, the fine-tuned encoder gives the second opinion: a label then needs
the blend of both models to reach its threshold, or the fast model's own label with the
encoder not confidently against it (see `decide`). Rule hits are never overridden.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from classifiers.base import (
    DEFAULT_SEVERITY,
    Classifier,
    Label,
    ProtectedName,
    Severity,
    Verdict,
    make_verdict,
)
from classifiers.encoder import EncoderError, EncoderModel
from classifiers.encoder import shipped as shipped_encoder
from classifiers.lexicon import IDENTITY_TERMS
from classifiers.model import MODEL_LABELS, OFFENSIVE, TextModel, shipped
from classifiers.rules import (
    LexicalHits,
    RulesClassifier,
    about_a_child,
    identifying_hits_found,
    lexical_hits,
)

log = logging.getLogger(__name__)

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
#: the model heads of the labels whose default severity is critical
_CRITICAL_COLUMNS = [MODEL_LABELS.index(label.value) for label in _MODEL_TAXONOMY
                     if DEFAULT_SEVERITY[label] is Severity.CRITICAL]
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


def _lexical(texts: Sequence[str]) -> tuple[list[str], dict[int, LexicalHits]]:
    """Each text's model input, and the hits of the texts the rules found something in.

    Only those keep their hits until the verdicts are built (few objects alive per batch
    means few garbage-collector passes over the heap); the rest keep the model's input, from
    which `_plain_hits` rebuilds theirs.
    """
    joined: list[str] = []
    lex: dict[int, LexicalHits] = {}
    for i, text in enumerate(texts):
        hits = lexical_hits(text)
        joined.append(" ".join(hits.joined))
        if hits.labels or hits.idiom or len(hits.joined) != 1:
            lex[i] = hits
    return joined, lex


def _ruled(shape: tuple[int, ...], lex: Mapping[int, LexicalHits]) -> npt.NDArray[np.bool_]:
    """Per text and model head, whether the rules already gave that label."""
    ruled = np.zeros(shape, dtype=bool)
    for i, hits in lex.items():
        for label in hits.labels:
            if label.value in MODEL_LABELS:
                ruled[i, MODEL_LABELS.index(label.value)] = True
    return ruled


def decide(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64],
           own: npt.NDArray[np.bool_], meta: Mapping[str, Any],
           cuts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Deciding scores from the fast model's `p` and the encoder's `q` (rows of asked texts).

    The blend of the two (they err differently); raised to the threshold where the fast model
    gave the label itself (`own`) and the encoder's probability is at least the veto floor,
    or where the encoder alone is beyond its calibrated cut (`alone` in its metadata).
    """
    blended: npt.NDArray[np.float64] = blend(p, q, float(meta["blend"]))
    kept = own & (q >= float(meta["veto"]))
    if "alone" in meta:  # artefacts before round 7 have no cut to flag alone
        kept |= q >= np.array([float(meta["alone"].get(h, 1.0)) for h in MODEL_LABELS])
    out: npt.NDArray[np.float64] = np.maximum(blended, np.where(kept, cuts, 0.0))
    return out


def blend(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64],
          weight: float) -> npt.NDArray[np.float64]:
    """`weight` of the encoder's probability and the rest of the fast model's."""
    out: npt.NDArray[np.float64] = weight * q + (1 - weight) * p
    return out


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
        encoder: EncoderModel | None = None,
        use_encoder: bool = True,
    ) -> None:
        """Set up the rules now; the models are loaded on first use, once per process."""
        self.rules = RulesClassifier(names)
        self.sensitivity = sensitivity
        self.overrides = dict(thresholds or {})
        self._model = model
        self._encoder = encoder
        self.use_encoder = use_encoder
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
    def encoder(self) -> EncoderModel | None:
        """The encoder stage (the packaged one unless another was given), or None if off."""
        if not self.use_encoder:
            return None
        if self._encoder is None:
            with self._lock:
                if self._encoder is None and self.use_encoder:
                    try:
                        self._encoder = shipped_encoder()
                    except EncoderError as exc:
                        # Degrade to the fast stage rather than stop classifying: a channel
                        # must never go unread. The version says which stages decided.
                        log.error("encoder stage unavailable, using rules and the fast model "
                                  "only: %s", exc)
                        self.use_encoder = False
        return self._encoder

    @property
    def version(self) -> str:
        """Rules version and the model artefacts' hashes."""
        encoder = self.encoder
        stages = f"{self.rules.version}+{self.model.version}"
        return f"{stages}+{encoder.version}" if encoder is not None else stages

    def thresholds(self) -> dict[str, float]:
        """Effective per-head thresholds of the deciding model, after overrides and sensitivity."""
        encoder = self.encoder
        trained = encoder.meta["thresholds"] if encoder is not None else self.model.thresholds
        out: dict[str, float] = {}
        for head in MODEL_LABELS:
            base = trained.get(head, 0.5)
            if head != OFFENSIVE and Label(head) in self.overrides:
                base = self.overrides[Label(head)]
            out[head] = effective_threshold(base, self.sensitivity)
        return out

    def gates(self) -> npt.NDArray[np.float64]:
        """Per head, the fast model's probability from which the encoder is asked."""
        encoder = self.encoder
        assert encoder is not None
        gates = encoder.meta["gates"]
        # A more sensitive setting asks the encoder more often, never less.
        scale = min(1.0, 1.5 - self.sensitivity)
        return np.array([gates.get(head, 1.0) * scale for head in MODEL_LABELS])

    def classify(self, texts: Sequence[str]) -> list[Verdict]:
        """One verdict per text, in order; any string is accepted."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return []
        joined, lex = _lexical(texts)
        idents = identifying_hits_found(texts, self.rules.register)
        x = self.model.features(joined)
        p = self.model.predict_features(x)
        q = np.full(p.shape, np.nan)  # the encoder's own probabilities where it was asked
        cuts = self.thresholds()
        if self.encoder is not None:
            p, q = self._second_opinion(texts, p, lex, cuts)
        hot = self._model_may_label(p, cuts)
        table = _score_table(p)
        version = self.version
        verdicts: list[Verdict] = []
        for i in range(len(texts)):
            scores = _scores_at(table, i)
            if (i in lex and lex[i].labels) or i in idents or hot[i]:
                hits = lex[i] if i in lex else _plain_hits(joined[i])
                verdicts.append(self._combine(hits, idents.get(i, _NO_HITS), p[i].tolist(),
                                              q[i].tolist(), scores, (x, i), cuts, version))
            else:
                verdicts.append(Verdict(labels=(), scores=scores, model_version=version))
        return verdicts

    def fast_stage(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float64],
                                                         npt.NDArray[np.bool_]]:
        """The fast model's probabilities and, per head, whether the rules gave that label
        (what calibration of the cascade needs)."""
        joined, lex = _lexical(texts)
        p = self.model.predict_features(self.model.features(joined))
        return p, _ruled(p.shape, lex)

    def _second_opinion(self, texts: Sequence[str], p: npt.NDArray[np.float64],
                        lex: Mapping[int, LexicalHits], deciding: Mapping[str, float]
                        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The deciding scores, with the encoder's opinion where the fast model is unsure, and
        the encoder's probabilities (NaN where it was not asked).

        A text a rule flagged with a critical label is asked too, so that severity can tell a
        rule's hit the encoder agrees with from one it contradicts (`_severity`).

        A text the rules left clean is asked when the fast model sees any chance of a label
        (its gates); one the rules flagged only when the fast model's score for another label
        reaches its own cut or the deciding cut. Where asked, a label needs the blend of both
        models to reach its threshold, or the fast model's own label with the encoder not
        confidently against it (the veto), or the encoder beyond its cut to label alone: the
        encoder removes the fast model's false alarms and adds what it missed, without
        undoing what it gets right.
        """
        encoder = self.encoder
        assert encoder is not None
        if encoder.labels != MODEL_LABELS:
            raise ValueError(f"encoder heads {encoder.labels} differ from {MODEL_LABELS}")
        ruled = _ruled(p.shape, lex)
        fast_cuts = np.array([effective_threshold(self.model.thresholds.get(h, 0.5),
                                                  self.sensitivity) for h in MODEL_LABELS])
        cuts = np.array([deciding[h] for h in MODEL_LABELS])
        own = (p >= fast_cuts) & ~ruled
        own[:, MODEL_LABELS.index(OFFENSIVE)] = False
        # A score is judged against the deciding cut, so one that reaches it must have had
        # the encoder's opinion, even where the fast model's own cut is higher.
        may_add = (p >= np.minimum(fast_cuts, cuts)) & ~ruled
        may_add[:, MODEL_LABELS.index(OFFENSIVE)] = False
        unruled = ~np.any(ruled, axis=1)
        critical = np.any(ruled[:, _CRITICAL_COLUMNS], axis=1)
        asked = np.flatnonzero(np.where(unruled, np.any(p >= self.gates(), axis=1),
                                        np.any(may_add, axis=1) | critical))
        decided = p.copy()
        opinion = np.full(p.shape, np.nan)
        if len(asked):
            q = encoder.probabilities([texts[int(i)] for i in asked])
            decided[asked] = decide(p[asked], q, own[asked], encoder.meta, cuts)
            opinion[asked] = q
        return decided, opinion

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
                 opinion: Sequence[float], scores: dict[Label, float],
                 batch_row: tuple[sparse.csr_matrix, int], cuts: Mapping[str, float],
                 version: str) -> Verdict:
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
            if self.encoder is None:
                reasons.append(f"model: {label.value} {p[label.value]:.2f} (features: {shown})")
            else:
                reasons.append(f"encoder: {label.value} {p[label.value]:.2f} "
                               f"(the fast stage's strongest words: {shown})")
        if Label.SEXUAL in labels and Label.SAFEGUARDING not in labels:
            child = about_a_child(" ".join(lex.joined))
            if child:  # anything sexual about a child is also safeguarding (the taxonomy)
                labels.add(Label.SAFEGUARDING)
                reasons.append(f"safeguarding: sexual and about a child ({child!r})")
        if Label.ABUSE in labels:
            labels.discard(Label.PROFANITY)  # swearing aimed at someone is abuse
        for label in ruled:
            scores[label] = round(max(p.get(label.value, 0.0), RULE_SCORE), 4)
        severity = self._severity(labels, ruled, p, dict(zip(MODEL_LABELS, opinion,
                                                             strict=True)), reasons)
        return make_verdict(sorted(labels), scores, spans=ident.spans, reasons=reasons,
                            model_version=version, severity=severity)

    def _severity(self, labels: set[Label], ruled: set[Label], p: Mapping[str, float],
                  opinion: Mapping[str, float], reasons: list[str]) -> Severity | None:
        """High instead of critical when no critical label rests on strong evidence.

        Critical wakes the safeguarding lead with a one-hour deadline: it needs a rule's hit
        the encoder does not contradict, or a probability above the encoder's strong-evidence
        cut, never one weak feature. A contradicted hit ("Our Secret Santa is back!" matching
        "our secret") keeps its label, at high.
        """
        encoder = self.encoder
        critical = {label for label in labels if DEFAULT_SEVERITY[label] is Severity.CRITICAL}
        if encoder is None or not critical:
            return None
        strong = float(encoder.meta.get("strong", 0.9))
        veto = float(encoder.meta.get("veto", 0.0))

        def upheld(label: Label) -> bool:
            if label in ruled:
                q = opinion.get(label.value, math.nan)
                return math.isnan(q) or q >= veto
            return p.get(label.value, 0.0) >= strong

        if any(upheld(label) for label in critical):
            return None
        contested = sorted(label.value for label in critical & ruled)
        if contested:
            reasons.append(f"severity high, not critical: the encoder finds no "
                           f"{', '.join(contested)} in the rule's match (below {veto:.2f})")
        else:
            reasons.append(f"severity high, not critical: the encoder's probability is below "
                           f"its strong-evidence cut {strong:.2f}")
        return Severity.HIGH


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
