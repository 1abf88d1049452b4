"""`socmon model retrain|versions|rollback`: learning from moderators, from the command line."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor import model_registry, retrain
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
from monitor.models import ModelVersion

app = typer.Typer(no_args_is_help=True)

ActorOption = Annotated[str | None, typer.Option(help="who acts (default: your login)")]


def _who(actor: str | None) -> str:
    return f"cli:{actor or getpass.getuser()}"


def retrain_command(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help=f"Train even with fewer than {retrain.MIN_NEW_FEEDBACK} new labelled "
                        "alerts (the candidate is still judged before promotion)")] = False,
    datasets: Annotated[Path | None, typer.Option(
        help="The shared datasets directory (base training data and public test sets)",
        file_okay=False)] = None,
    base_fraction: Annotated[float, typer.Option(
        hidden=True, min=0.01, max=1.0,
        help="Train on this share of the base data (quick trials only)")] = 1.0,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train a candidate on moderators' decisions; promote it only if nothing regresses."""
    runtime = open_runtime(config)
    try:
        result = retrain.retrain(runtime.factory, runtime.settings, actor=_who(actor),
                                 force=force, datasets=datasets, base_fraction=base_fraction)
    except retrain.RetrainError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json(result.to_dict())
        return
    _show(result)


def _show(result: retrain.RetrainResult) -> None:
    m = result.metrics
    fb = m.get("feedback", {})
    console.print(f"candidate {result.version}: {result.outcome.value} "
                  f"(compared with {result.compared_with}); feedback: {fb.get('train', 0)} "
                  f"training, {fb.get('holdout', 0)} held out, {fb.get('new', 0)} new")
    if "active" in m:
        rows: list[list[Any]] = [
            [name, score["macro_f1"], m["candidate"]["public"][name]["macro_f1"], score["n"]]
            for name, score in m["active"]["public"].items()]
        rows += [[f"held-out {label} ({score['metric']})", score["score"],
                  m["candidate"]["holdout"][label]["score"], score["rows"]]
                 for label, score in m["active"]["holdout"].items()]
        print_table("Active model vs candidate", ["measure", "active", "candidate", "rows"], rows)
    for line in result.regressions:
        console.print(f"regressed: {line}")
    for line in m.get("notes", []):
        console.print(f"note: {line}")
    if result.outcome is retrain.Outcome.PROMOTED:
        console.print(f"a running daemon loads it within {retrain.WATCH_MINUTES} minutes")


def _row(v: ModelVersion) -> dict[str, Any]:
    m = v.metrics or {}
    public = (m.get("candidate") or {}).get("public", {})
    return {
        "version": v.version, "active": v.active,
        "status": m.get("status", "active" if v.active else ""),
        "origin": m.get("origin", ""), "created_at": v.created_at.isoformat(timespec="seconds"),
        "promoted_at": v.promoted_at.isoformat(timespec="seconds") if v.promoted_at else None,
        "previous": m.get("previous"),
        "feedback": {k: (m.get("feedback") or {}).get(k) for k in ("train", "holdout")}
        if "feedback" in m else None,
        "public_macro_f1": {name: s["macro_f1"] for name, s in public.items()},
        "regressions": m.get("regressions", []),
    }


def versions_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every model version: which is active, where each came from, how it scored."""
    runtime = open_runtime(config)
    try:
        with runtime.factory() as session:
            rows = [_row(v) for v in model_registry.list_versions(session)]
    finally:
        runtime.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no versions recorded: the packaged model is in use")
        return
    print_table("Model versions", ["version", "status", "origin", "promoted",
                                   "public macro-F1 (offensive, hate, davidson)"],
                [[("* " if r["active"] else "") + r["version"], r["status"], r["origin"],
                  (r["promoted_at"] or "")[:16].replace("T", " "),
                  " ".join(str(v) for v in r["public_macro_f1"].values())]
                 for r in rows])


def rollback_command(
    version: Annotated[str | None, typer.Argument(
        help="The version to re-activate (default: the one the active model replaced)")] = None,
    config: ConfigOption = None,
    actor: ActorOption = None,
    reason: Annotated[str | None, typer.Option(
        help="Why (shown on the changes page and in the annual review)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-activate the previous model version (or VERSION); audited with the reason."""
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            row = retrain.rollback(session, to_version=version, actor=_who(actor),
                                   reason=reason)
            result = {"active": row.version, "packaged": row.path == model_registry.PACKAGED}
    except retrain.RetrainError as exc:
        raise CommandError(str(exc)) from None
    finally:
        runtime.close()
    if as_json:
        print_json(result)
    else:
        console.print(f"model {result['active']} is active again; a running daemon loads it "
                      f"within {retrain.WATCH_MINUTES} minutes")


def register(group: typer.Typer) -> None:
    """Add `retrain`, `versions` and `rollback` to an existing group (the `model` group)."""
    group.command("retrain")(retrain_command)
    group.command("versions")(versions_command)
    group.command("rollback")(rollback_command)


register(app)
