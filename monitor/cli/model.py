"""`socmon classify` and `socmon model train|evaluate`: the classifier from the command line."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from classifiers.base import Label, ProtectedName, Verdict
from classifiers.names import RosterError, parse_roster
from classifiers.registry import ClassifierConfigError, UnknownClassifier, build
from monitor.cli.common import CommandError

model_app = typer.Typer(no_args_is_help=True)

_BATCH = 512
#: a binary "offensive" gold label is compared with any of these predicted labels
OFFENSIVE_LABELS = frozenset({Label.ABUSE, Label.HATE, Label.PROFANITY, Label.SEXUAL,
                              Label.THREAT})


def _fail(message: str, code: int = 1) -> Exception:
    """The exception to raise: exit 1 with one line on stderr, or a usage error (exit 2)."""
    if code == 2:
        return typer.BadParameter(message)
    return CommandError(message)


def _names(roster: Path | None) -> list[ProtectedName]:
    if roster is None:
        return []
    try:
        return parse_roster(roster)
    except RosterError as exc:
        raise _fail(f"{roster}: {exc}", 2) from None


def _read_jsonl(path: Path) -> Iterator[tuple[Any, str | None, str | None]]:
    """(id, text, error) per line; a bad line yields an error instead of stopping the run."""
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise _fail(f"{path}: cannot read ({exc.strerror})", 1) from None
    with handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, None, f"line {line_no}: not JSON ({exc.msg})"
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                ident = obj.get("id", line_no) if isinstance(obj, dict) else line_no
                yield ident, None, f"line {line_no}: no \"text\" string"
                continue
            yield obj.get("id", line_no), obj["text"], None


def _human(ident: Any, verdict: Verdict) -> str:
    prefix = f"[{ident}] " if ident is not None else ""
    if not verdict.flagged:
        return f"{prefix}ok"
    labels = ",".join(label.value for label in verdict.labels)
    reasons = "; ".join(verdict.reasons[:4])
    return f"{prefix}{verdict.severity.value} {labels}: {reasons}"


def classify_command(
    text: Annotated[str | None, typer.Argument(help="A text to classify")] = None,
    input_file: Annotated[Path | None, typer.Option(
        "--input", "-i", help="JSONL: one {\"text\", \"id\"?} object per line",
        dir_okay=False)] = None,
    names: Annotated[Path | None, typer.Option(
        "--names", help="Roster CSV: first_name,last_name,role,aliases", dir_okay=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    classifier: Annotated[str, typer.Option(help="Registered classifier name")] = "policy",
    sensitivity: Annotated[float, typer.Option(help="0 (fewer flags) to 1 (more)")] = 0.5,
) -> None:
    """Classify TEXT or every line of --input; order and ids are kept."""
    if (text is None) == (input_file is None):
        raise _fail("give either TEXT or --input FILE.jsonl (not both, not neither)", 2)
    roster = _names(names)
    try:
        clf = build(classifier, names=roster, sensitivity=sensitivity)
    except (UnknownClassifier, ClassifierConfigError) as exc:
        raise _fail(str(exc), 2) from None
    rows: Iterator[tuple[Any, str | None, str | None]]
    rows = iter([(None, text, None)]) if text is not None else _read_jsonl(input_file)  # type: ignore[arg-type]
    errors = 0
    batch: list[tuple[Any, str | None, str | None]] = []

    def flush() -> None:
        nonlocal errors
        texts = [t for _, t, err in batch if err is None and t is not None]
        verdicts = iter(clf.classify(texts))
        for ident, _t, err in batch:
            if err is not None:
                errors += 1
                if as_json:
                    typer.echo(json.dumps({"id": ident, "error": err}))
                else:
                    typer.echo(f"[{ident}] error: {err}")
                continue
            verdict = next(verdicts)
            if as_json:
                typer.echo(json.dumps({"id": ident, **verdict.to_dict()}, ensure_ascii=False))
            else:
                typer.echo(_human(ident, verdict))
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            flush()
    flush()
    if errors:
        raise _fail(f"{errors} input line(s) could not be read; see their error objects", 1)


@model_app.command("train")
def train_command(
    datasets: Annotated[Path | None, typer.Option(help="The shared datasets directory")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the artefact here instead")] = None,
    research: Annotated[bool, typer.Option(
        "--research", help="Also train on data not cleared for shipping (never ship it)")] = False,
    encoder: Annotated[bool, typer.Option(
        help="Also fine-tune, export and calibrate the encoder stage (needs the train extra)")
    ] = True,
) -> None:
    """Rebuild the model artefacts reproducibly and print their versions and thresholds."""
    from classifiers import model

    if research and out is None:
        raise _fail("--research needs --out: research data must not enter the shipped model", 2)
    try:
        meta = model.train(datasets or model.DEFAULT_DATASETS, out or model.DATA_DIR,
                           include_research=research)
    except (OSError, KeyError, ValueError) as exc:
        raise _fail(f"training failed: {exc}", 1) from None
    typer.echo(json.dumps({k: meta[k] for k in ("version", "thresholds", "sources",
                                                "train_rows", "dev_rows")}, indent=1))
    if encoder and not research:
        _train_encoder(datasets or model.DEFAULT_DATASETS, out)


def _train_encoder(datasets: Path, out: Path | None) -> None:
    """Fine-tune the encoder stage into `out`/encoder (or the package) and print its figures."""
    try:
        from classifiers import encoder, encoder_train
    except ImportError as exc:  # torch and transformers come with the train extra only
        raise _fail(f"the encoder needs the train extra (pip install -e '.[train]'): {exc}",
                    2) from None
    target = out / "encoder" if out is not None else encoder.ENCODER_DIR
    try:
        meta = encoder_train.main(target, datasets)
    except (OSError, KeyError, ValueError) as exc:
        raise _fail(f"encoder training failed: {exc}", 1) from None
    typer.echo(json.dumps({k: meta[k] for k in ("thresholds", "gates", "strong", "files",
                                                "int8_vs_fp32_max_abs_diff")}, indent=1))


def _gold_rows(path: Path, label: str) -> list[tuple[str, set[str]]]:
    """(text, gold labels) from a CSV (`text,label` binary) or JSONL (`text`, `labels`)."""
    rows: list[tuple[str, set[str]]] = []
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
                    raise _fail(f"{path}: expected columns text,label", 2)
                for n, row in enumerate(reader, start=2):
                    if row["label"] not in ("0", "1"):
                        raise _fail(f"{path}: row {n}, column label: expected 0 or 1", 2)
                    rows.append((row["text"], {label} if row["label"] == "1" else set()))
        elif path.suffix.lower() in (".jsonl", ".json"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    rows.append((str(obj["text"]), set(obj.get("labels", []))))
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise _fail(f"{path}: line {n}: expected {{\"text\", \"labels\"}}", 2) from None
        else:
            raise _fail(f"{path}: expected a .csv or .jsonl file", 2)
    except OSError as exc:
        raise _fail(f"{path}: cannot read ({exc.strerror})", 1) from None
    except UnicodeDecodeError:
        raise _fail(f"{path}: not UTF-8 text", 2) from None
    return rows


def evaluate(verdicts: Sequence[Verdict], gold: Sequence[set[str]],
             labels: Sequence[str]) -> dict[str, Any]:
    """Per-label precision, recall, F1 and support, and their macro-F1."""
    out: dict[str, Any] = {}
    for label in labels:
        tp = fp = fn = 0
        for verdict, want in zip(verdicts, gold, strict=True):
            got_labels = {lab.value for lab in verdict.labels}
            if label == "offensive":
                got = bool(got_labels & {lab.value for lab in OFFENSIVE_LABELS})
            else:
                got = label in got_labels
            tp += got and label in want
            fp += got and label not in want
            fn += (not got) and label in want
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out[label] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                      "support": tp + fn}
    macro = sum(v["f1"] for v in out.values()) / len(out) if out else 0.0
    return {"labels": out, "macro_f1": round(macro, 4), "n": len(gold)}


@model_app.command("evaluate")
def evaluate_command(
    data: Annotated[Path, typer.Option("--data", help="FILE.csv (text,label) or FILE.jsonl",
                                       dir_okay=False)],
    label: Annotated[str, typer.Option(
        help="What a CSV's label=1 means: offensive (any of abuse, hate, profanity, sexual, "
             "threat) or one taxonomy label")] = "offensive",
    classifier: Annotated[str, typer.Option(help="Registered classifier name")] = "policy",
) -> None:
    """Print per-label precision, recall and F1 and macro-F1 as JSON."""
    valid = {"offensive", *(lab.value for lab in Label)}
    if label not in valid:
        raise _fail(f"--label: {label!r} is not one of {', '.join(sorted(valid))}", 2)
    rows = _gold_rows(data, label)
    try:
        clf = build(classifier)
    except UnknownClassifier as exc:
        raise _fail(str(exc), 2) from None
    verdicts = clf.classify([t for t, _ in rows])
    gold = [g for _, g in rows]
    if data.suffix.lower() == ".csv":
        labels: list[str] = [label]
    else:
        labels = sorted({g for gs in gold for g in gs} & valid) or [lab.value for lab in Label]
    json.dump(evaluate(verdicts, gold, labels), sys.stdout, indent=1)
    sys.stdout.write("\n")
