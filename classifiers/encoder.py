"""The encoder stage: fine-tuned all-MiniLM-L6-v2 as int8 ONNX, run by onnxruntime.

No torch and no network at run time: the weights and the tokenizer ship in
`classifiers/data/encoder/`. One session per process, one intra-op thread (the daemon
already runs its jobs in threads, and a school's traffic is hundreds of comments a minute).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ENCODER_DIR = Path(__file__).resolve().parent / "data" / "encoder"
WEIGHTS_FILE = "encoder-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
#: comments longer than this many word pieces are judged on their start (and the rules see all)
MAX_TOKENS = 64
#: texts per onnxruntime call. One: dynamic int8 quantisation scales activations over the whole
#: batch, so batch-mates would move a text's scores (by up to 0.07); batching gave no speed here
BATCH = 1

_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
#: where a sentence ends: after terminal punctuation and its spaces, or at line breaks
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
#: sentences judged on their own beyond the whole text (longer comments: the first ones)
MAX_SENTENCES = 4
#: the heads one sentence decides alone: a disclosure is one wherever it sits in a comment,
#: while a threat or hate needs its context ("... someone is going to get hurt if it isn't
#: changed" is a fair complaint; a quoted slur may be counter-speech)
SENTENCE_HEADS = ("safeguarding",)


def encoder_text(text: str) -> str:
    """What the encoder reads: @-handles say who is addressed, not what is said."""
    return _HANDLE.sub("@user", text)


def text_pieces(text: str) -> list[str]:
    """The text, and each of its sentences when it has several (at most `MAX_SENTENCES`).

    A text's score on `SENTENCE_HEADS` is the highest of its pieces': mean pooling over a whole
    comment dilutes one alarming sentence behind a harmless one ("Is youth club open tonight?
    ... I keep thinking about killing myself." scored 0.20 for safeguarding, that sentence
    alone 0.93).
    """
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if len(s) > 2]
    if len(sentences) < 2:
        return [text]
    return [text, *sentences[:MAX_SENTENCES]]


def unpadded(tokenizer: Any) -> Any:
    """The tokenizer truncating at `MAX_TOKENS` and padding nothing.

    The packaged tokenizer.json pads every text to 128 word pieces; a comment averages about
    16, so padding made every text cost eight times its length, in training and in use.
    """
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


class EncoderError(RuntimeError):
    """The shipped encoder is missing or does not match its recorded hash."""


@dataclass
class EncoderModel:
    """An int8 ONNX sentence encoder with one sigmoid head per model label."""

    session: Any
    tokenizer: Any
    labels: tuple[str, ...]
    version: str
    meta: dict[str, Any]

    @classmethod
    def load(cls, directory: Path = ENCODER_DIR, *, weights: str = WEIGHTS_FILE) -> EncoderModel:
        """Load the weights and tokenizer from `directory` (checking the recorded sha256)."""
        import onnxruntime
        from tokenizers import Tokenizer

        path = directory / weights
        meta_path = directory / "encoder.json"
        if not path.is_file() or not meta_path.is_file():
            raise EncoderError(f"the encoder is missing from {directory}: run "
                               "`socmon model train --encoder` or reinstall socmon")
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        recorded = meta.get("files", {}).get(weights)
        if recorded is not None and recorded != digest:
            raise EncoderError(f"{path} does not match the sha256 in encoder.json")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
        tokenizer = unpadded(Tokenizer.from_file(str(directory / TOKENIZER_FILE)))
        # The version covers the calibration too: new thresholds change verdicts as surely
        # as new weights, and the audit trail must tell them apart.
        version = hashlib.sha256(digest.encode() + meta_path.read_bytes()).hexdigest()
        return cls(session, tokenizer, tuple(meta["labels"]), f"enc-{version[:12]}", meta)

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Per text, the probability of each label in `labels` (rows in input order)."""
        out = np.zeros((len(texts), len(self.labels)))
        todo = [i for i, text in enumerate(texts) if not _CACHE.get(self.version, text, out[i])]
        if todo:
            owners: list[int] = []
            pieces: list[str] = []
            for i in todo:
                for piece in text_pieces(texts[i]):
                    owners.append(i)
                    pieces.append(piece)
            fresh = self._run(pieces)
            alone = [self.labels.index(h) for h in SENTENCE_HEADS if h in self.labels]
            for row, i in enumerate(owners):
                if row == 0 or owners[row - 1] != i:  # the whole text: every head
                    out[i] = fresh[row]
                else:  # one of its sentences: the heads a single sentence can decide
                    out[i, alone] = np.maximum(out[i, alone], fresh[row, alone])
            for i in todo:
                _CACHE.put(self.version, texts[i], out[i])
        return out

    def _run(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """The network's probabilities for `texts`, uncached."""
        out = np.zeros((len(texts), len(self.labels)))
        encoded = self.tokenizer.encode_batch([encoder_text(t) for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            width = max(len(encoded[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                seq = encoded[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            (logits,) = self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
            out[chunk] = 1 / (1 + np.exp(-np.asarray(logits, dtype=np.float64)))
        return out


class _Cache:
    """The latest probabilities per (encoder version, text), bounded, shared by threads.

    Texts repeat (spam waves, a candidate and the active model judged on the same sets), and
    one text at a time a text's probabilities depend on nothing else.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: OrderedDict[tuple[str, str], npt.NDArray[np.float64]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, version: str, text: str, into: npt.NDArray[np.float64]) -> bool:
        """Copy the cached row into `into`; False when there is none."""
        with self.lock:
            row = self.rows.get((version, text))
            if row is None:
                return False
            self.rows.move_to_end((version, text))
        into[:] = row
        return True

    def put(self, version: str, text: str, row: npt.NDArray[np.float64]) -> None:
        """Remember a row, forgetting the least recently used beyond `size`."""
        with self.lock:
            self.rows[(version, text)] = row.copy()
            while len(self.rows) > self.size:
                self.rows.popitem(last=False)


_CACHE = _Cache(50_000)
_LOCK = threading.Lock()


@cache
def _shipped() -> EncoderModel:
    return EncoderModel.load()


def shipped() -> EncoderModel:
    """The packaged encoder, loaded once per process."""
    with _LOCK:
        return _shipped()
