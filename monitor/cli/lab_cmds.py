"""`socmon lab`: organisation rules, back-tests, live shadow, promote and discard."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from classifiers.base import Label
from classifiers.org_rules import OrgRule
from monitor.cli import lab_suite_cmds
from monitor.cli.common import (
    CommandError,
    ConfigOption,
    JsonOption,
    console,
    open_runtime,
    print_json,
    print_table,
)
from monitor.db import transaction
from monitor.lab import candidates, rules
from monitor.lab.backtest import BacktestError, Candidate, Report, backtest
from monitor.live_policy import live_rules
from monitor.models import OrgRuleVersion
from monitor.runtime import load_names

app = typer.Typer(no_args_is_help=True)
rules_app = typer.Typer(no_args_is_help=True)
app.add_typer(rules_app, name="rules", help="The organisation's own rules (drafts until promoted).")
app.add_typer(lab_suite_cmds.suite_app, name="suite", help="The organisation's policy test suite.")
app.add_typer(lab_suite_cmds.authors_app, name="authors",
              help="Which accounts are one author (series rules).")
app.add_typer(lab_suite_cmds.series_app, name="series", help="Signals across comments.")

ActorOption = Annotated[str | None, typer.Option(help="who acts (default: your login)")]
ReasonOption = Annotated[str, typer.Option("--reason", help="why (required; kept on record)")]
KindOption = Annotated[str, typer.Option("--kind", help="watch, allow or author")]
LabelOption = Annotated[str, typer.Option("--label", help="the label the rule gives or stops")]
SeverityOption = Annotated[str, typer.Option("--severity", help="low, high or critical")]
QueueOption = Annotated[str, typer.Option("--queue", help="route its alerts to this queue")]
PlatformOption = Annotated[str, typer.Option("--platform", help="author rules: the platform")]


def _who(actor: str | None) -> str:
    return f"cli:{actor or getpass.getuser()}"


def _row(row: OrgRuleVersion) -> dict[str, Any]:
    return {"rule": row.rule_id, "version": row.version, "state": row.state,
            "removed": row.removed, "kind": row.kind, "text": row.text, "label": row.label,
            "severity": row.severity, "queue": row.queue, "platform": row.platform,
            "actor": row.actor, "at": row.created_at.isoformat()}


@rules_app.command("add")
def add_rule(text: Annotated[str, typer.Argument(help="phrase, term or author id")],
             kind: KindOption = "watch", label: LabelOption = "abuse",
             severity: SeverityOption = "high", queue: QueueOption = "",
             platform: PlatformOption = "", reason: ReasonOption = "",
             actor: ActorOption = None, config: ConfigOption = None,
             as_json: JsonOption = False) -> None:
    """Add a rule as a draft (a watched phrase by default)."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            row = rules.add(session, rules.RuleInput(kind, text, label, severity, queue,
                                                     platform), reason=reason, actor=_who(actor))
            out = _row(row)
    except rules.RuleError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    _print_done(out, as_json, "added")


def _print_done(out: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        print_json(out)
    else:
        console.print(f"rule {out['rule']} {what} as draft version {out['version']}; "
                      "back-test it with `socmon lab backtest`, then `socmon lab promote`")


@rules_app.command("edit")
def edit_rule(rule_id: Annotated[int, typer.Argument(help="rule id")],
              text: Annotated[str | None, typer.Option(help="new phrase, term or id")] = None,
              label: Annotated[str | None, typer.Option(help="new label")] = None,
              severity: Annotated[str | None, typer.Option(help="new severity")] = None,
              queue: Annotated[str | None, typer.Option(help="new queue")] = None,
              reason: ReasonOption = "", actor: ActorOption = None,
              config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """A new draft version of a rule (fields not given stay as they are)."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            old = rules.history(session, rule_id)[-1]
            data = rules.RuleInput(old.kind, text if text is not None else old.text,
                                   label or old.label, severity or old.severity,
                                   old.queue if queue is None else queue, old.platform)
            out = _row(rules.edit(session, rule_id, data, reason=reason, actor=_who(actor)))
    except rules.RuleError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    _print_done(out, as_json, "edited")


@rules_app.command("remove")
def remove_rule(rule_id: Annotated[int, typer.Argument(help="rule id")],
                reason: ReasonOption = "", actor: ActorOption = None,
                config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """A draft that takes the rule out once promoted."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            out = _row(rules.remove(session, rule_id, reason=reason, actor=_who(actor)))
    except rules.RuleError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    _print_done(out, as_json, "removed")


@rules_app.command("list")
def list_rules(history: Annotated[int | None, typer.Option(help="every version of this rule")]
               = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The live rules and the drafts (or one rule's whole history)."""
    runtime = open_runtime(config, quiet=True)
    try:
        with runtime.factory() as session:
            rows = (rules.history(session, history) if history is not None
                    else rules.current(session))
            out = [_row(r) for r in rows]
    except rules.RuleError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json(out)
        return
    print_table("organisation rules", ["rule", "v", "state", "kind", "text", "label",
                                       "severity", "queue"],
                [[r["rule"], r["version"], r["state"] + (" (removal)" if r["removed"] else ""),
                  r["kind"], r["text"], r["label"], r["severity"], r["queue"]] for r in out])


def read_candidate(path: Path, live: list[OrgRule]) -> Candidate:
    """A candidate file (YAML or JSON): `rules` to add (or `replace_rules: true`),
    `sensitivity`, `thresholds` and `model_version`; a bad one is a CommandError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read it as YAML or JSON ({type(exc).__name__})"
                           ) from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a mapping with rules, sensitivity, thresholds "
                           "or model_version")
    unknown = set(data) - {"rules", "replace_rules", "sensitivity", "thresholds",
                           "model_version"}
    if unknown:
        raise CommandError(f"{path}: unknown key {sorted(unknown)[0]!r}")
    new_rules: list[OrgRule] = []
    start = max((r.id for r in live), default=0)
    for i, item in enumerate(data.get("rules") or []):
        if not isinstance(item, dict):
            raise CommandError(f"{path}: rules[{i}]: expected a mapping")
        try:
            checked = rules.check(rules.RuleInput(
                str(item.get("kind", "watch")), str(item.get("text", "")),
                str(item.get("label", "")), str(item.get("severity", "high")),
                str(item.get("queue", "")), str(item.get("platform", ""))))
        except rules.RuleError as exc:
            raise CommandError(f"{path}: rules[{i}].{exc}") from None
        new_rules.append(OrgRule(start + i + 1, checked.kind, checked.text, checked.label,
                                 checked.severity, checked.queue, checked.platform))
    try:
        sensitivity = data.get("sensitivity")
        sensitivity = None if sensitivity is None else float(sensitivity)
        thresholds = {Label(k): float(v) for k, v in (data.get("thresholds") or {}).items()}
    except (TypeError, ValueError, AttributeError):
        raise CommandError(f"{path}: sensitivity is a number and thresholds map a label "
                           f"({', '.join(v.value for v in Label)}) to a number") from None
    if sensitivity is not None and not 0.0 <= sensitivity <= 1.0:
        raise CommandError(f"{path}: sensitivity: between 0 and 1, please")
    if any(not 0.0 < v < 1.0 for v in thresholds.values()):
        raise CommandError(f"{path}: thresholds: each between 0 and 1, please")
    base = [] if data.get("replace_rules") else list(live)
    model = data.get("model_version")
    return Candidate(rules=base + new_rules if new_rules or data.get("replace_rules") else None,
                     sensitivity=sensitivity, thresholds=thresholds,
                     model_version=None if model is None else str(model))


def _print_report(report: Report) -> None:
    data = report.to_dict()
    console.print(f"{report.comments} comments over {report.weeks} weeks "
                  f"({report.method}, {report.seconds:.1f} s)")
    console.print(f"alerts a week: live {data['alerts_per_week_live']}, candidate "
                  f"{data['alerts_per_week_candidate']} "
                  f"(change {data['alerts_per_week_change']:+})")
    for key, title in (("newly_flagged", "would newly flag"), ("stopped_flagging",
                                                               "would stop flagging")):
        part = data[key]
        console.print(f"{title}: {part['count']}  by label/severity {part['by_label_severity']}"
                      f"  moderators {part['moderators']}")


@app.command("backtest")
def backtest_command(
    candidate: Annotated[Path | None, typer.Option(
        "--candidate", help="YAML/JSON candidate file (default: the lab's open candidate)",
        dir_okay=False)] = None,
    weeks: Annotated[int, typer.Option(help="how many weeks of stored comments")] = 8,
    config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """What a candidate would have done to the stored comments, side by side with live."""
    if candidate is not None and not candidate.is_file():
        raise CommandError(f"{candidate}: no such file")
    runtime = open_runtime(config, quiet=True)
    try:
        with runtime.factory() as session:
            if candidate is not None:
                cand = read_candidate(candidate, live_rules(session))
            else:
                cand = candidates.as_candidate(session, candidates.current_candidate(session))
            report = backtest(session, runtime.settings, cand, weeks=weeks,
                              names=load_names(session))
    except (BacktestError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)


@app.command("set")
def set_command(
    sensitivity: Annotated[float | None, typer.Option(help="candidate sensitivity")] = None,
    threshold: Annotated[list[str] | None, typer.Option(help="LABEL=VALUE, repeatable")] = None,
    model_version: Annotated[str | None, typer.Option(help="a recorded model version")] = None,
    actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Put settings (sensitivity, thresholds, a model version) into the lab's candidate."""
    thresholds: dict[Label, float] = {}
    for entry in threshold or []:
        label, _, value = entry.partition("=")
        try:
            thresholds[Label(label.strip())] = float(value)
        except ValueError:
            raise CommandError(f"--threshold {entry!r}: expected LABEL=VALUE, LABEL one of "
                               f"{', '.join(v.value for v in Label)}") from None
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            candidates.set_settings(session, sensitivity=sensitivity, thresholds=thresholds,
                                    model_version=model_version, actor=_who(actor))
    except candidates.LabError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    console.print("the lab's candidate holds these settings; back-test, then promote")


@app.command("shadow")
def shadow_command(hours: Annotated[float, typer.Option(help="how long to shadow")] = 24.0,
                   actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Shadow the lab's candidate on live traffic: the daemon classifies with it too."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            row = candidates.start_shadow(session, hours=hours, actor=_who(actor))
            until = row.shadow_until
    except candidates.LabError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    console.print(f"the candidate shadows live traffic until {until:%Y-%m-%d %H:%M} UTC")


@app.command("promote")
def promote_command(reason: ReasonOption = "", actor: ActorOption = None,
                    config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Make the lab's candidate live, if every gate passes; the daemon uses it next poll."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            row = candidates.promote(session, runtime.settings, names=load_names(session),
                                     reason=reason, actor=_who(actor))
            out = {"candidate": row.id, "state": row.state}
    except candidates.PromotionRefused as exc:
        for failure in exc.failures:
            console.print(f"failing: {failure}")
        raise CommandError(f"promotion refused: {len(exc.failures)} gate failure(s)") from None
    except candidates.LabError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json(out)
    else:
        console.print(f"candidate {out['candidate']} promoted")


@app.command("discard")
def discard_command(reason: ReasonOption = "", actor: ActorOption = None,
                    config: ConfigOption = None) -> None:
    """Drop the lab's candidate and its draft rules, with a reason."""
    runtime = open_runtime(config, quiet=True)
    try:
        with transaction(runtime.factory) as session:
            row = candidates.discard(session, reason=reason, actor=_who(actor))
            ident = row.id
    except candidates.LabError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    console.print(f"candidate {ident} discarded")


__all__ = ["app", "read_candidate"]
