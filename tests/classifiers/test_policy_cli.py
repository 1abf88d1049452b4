"""The combined policy classifier, its quality floor on held-out seed data, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from classifiers.base import Classifier, Label, Severity
from classifiers.model import artefact_version, seed_split, shipped
from classifiers.registry import build
from monitor.cli.model import classify_command, evaluate, model_app

POLICY = build("policy")


def test_policy_satisfies_the_protocol_and_versions_every_verdict() -> None:
    assert isinstance(POLICY, Classifier)
    verdicts = POLICY.classify(["you f***ing l0ser", "lovely assembly today"])
    assert artefact_version() in POLICY.version
    assert all(v.model_version == POLICY.version for v in verdicts)
    assert verdicts[0].labels == (Label.ABUSE,)
    assert verdicts[0].severity is Severity.HIGH
    assert verdicts[1].labels == ()


def test_model_loads_once_and_scores_are_probabilities() -> None:
    assert shipped() is shipped()
    probs = shipped().predict(["hello", "you stupid bitch"])
    assert ((probs >= 0) & (probs <= 1)).all()
    assert probs[1].max() > probs[0].max()


def test_sensitivity_moves_thresholds() -> None:
    low = build("policy", sensitivity=0.0)
    high = build("policy", sensitivity=1.0)
    assert all(low.thresholds()[k] > high.thresholds()[k] for k in low.thresholds())  # type: ignore[attr-defined]


def test_multi_label_verdict_with_spans_and_reasons() -> None:
    from classifiers.base import ProtectedName

    clf = build("policy", names=[ProtectedName("Jacob", "O'Connor")])
    verdict = clf.classify(["Jacob O'Connor's mum is a drunk"])[0]
    assert {Label.ABUSE, Label.IDENTIFYING} <= set(verdict.labels)
    assert verdict.spans[0].label is Label.IDENTIFYING
    assert any("protected name" in r for r in verdict.reasons)


def test_quality_floor_on_held_out_seed_slice() -> None:
    """The seed corpus's dev fifth is never trained on; the pipeline must get most of it right."""
    _, dev = seed_split()
    verdicts = POLICY.classify([t for t, _ in dev])
    gold = [set(labels) for _, labels in dev]
    flagged_right = sum(bool(v.labels) == bool(g) for v, g in zip(verdicts, gold, strict=True))
    assert flagged_right / len(dev) >= 0.75
    result = evaluate(verdicts, gold, ["safeguarding", "threat", "abuse"])
    assert result["macro_f1"] >= 0.5


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("classify")(classify_command)
    app.add_typer(model_app, name="model")
    return app


runner = CliRunner()


def test_cli_classify_jsonl_keeps_order_ids_and_reports_bad_lines(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "a", "text": "you idiot"}\n{"text": "nice day"}\nnot json\n'
                    '{"id": 9, "text": "call 07700 900123"}\n', encoding="utf-8")
    result = runner.invoke(_app(), ["classify", "--input", str(data), "--json"])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", 2, 3, 9]
    assert lines[0]["labels"] == ["abuse"]
    assert lines[1]["labels"] == []
    assert "error" in lines[2]
    assert lines[3]["spans"][0]["label"] == "identifying"
    assert set(lines[0]) >= {"id", "labels", "scores", "severity", "spans", "reasons"}
    assert result.exit_code == 1


def test_cli_classify_text_human_readable() -> None:
    result = runner.invoke(_app(), ["classify", "shit weather for sports day"])
    assert result.exit_code == 0
    assert result.stdout.startswith("low profanity")


def test_cli_classify_with_roster(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("first_name,last_name,role,aliases\nJacob,Smith,pupil,Jake;JJ\n")
    result = runner.invoke(_app(), ["classify", "Jake Smith was upset", "--names", str(roster),
                                    "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["labels"] == ["identifying"]


@pytest.mark.parametrize("args", [[], ["x", "--input", "y.jsonl"]])
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    assert runner.invoke(_app(), ["classify", *args]).exit_code == 2


def test_cli_bad_roster_exits_2_naming_the_column(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("first_name,surname\nA,B\n")
    result = runner.invoke(_app(), ["classify", "x", "--names", str(roster)])
    assert result.exit_code == 2
    assert "surname" in result.output


def test_cli_evaluate_prints_metrics_json(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "you idiot", "labels": ["abuse"]}\n'
                    '{"text": "watch your back", "labels": ["threat"]}\n'
                    '{"text": "lovely day", "labels": []}\n', encoding="utf-8")
    result = runner.invoke(_app(), ["model", "evaluate", "--data", str(data)])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["labels"]["abuse"]["f1"] == 1.0
    assert out["macro_f1"] == 1.0


def test_cli_evaluate_csv_bad_label_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,label\nhello,2\n", encoding="utf-8")
    assert runner.invoke(_app(), ["model", "evaluate", "--data", str(data)]).exit_code == 2
