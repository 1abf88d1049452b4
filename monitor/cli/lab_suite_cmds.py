"""`socmon lab suite|authors|series` (mounted on `socmon lab`): the policy test suite, author
links, the series rules.

Lists never print a safeguarding case's text (like `queue list`); `suite show` does.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlalchemy import select

from classifiers.base import Label
from monitor import alerts
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
from monitor.models import AuthorLink
from monitor.policy_suite import cases as suite_cases
from monitor.policy_suite import service
from monitor.policy_suite.run import run_suite
from monitor.series import identity
from monitor.series import job as series_job

suite_app = typer.Typer(no_args_is_help=True)
authors_app = typer.Typer(no_args_is_help=True)
series_app = typer.Typer(no_args_is_help=True)

#: a safeguarding case's text in lists
REDACTED = "[safeguarding case: open it with `socmon lab suite show`]"
ActorOption = Annotated[str | None, typer.Option(help="who acts (default: your login)")]
LabelsOption = Annotated[list[Label] | None, typer.Option(help="a label (repeatable)")]


def _who(actor: str | None) -> str:
    return f"cli:{actor or getpass.getuser()}"


def _listed(case: suite_cases.Case) -> dict[str, object]:
    return {"id": case.id, "text": REDACTED if case.safeguarding else case.text,
            "expects": case.expected(), "clause": case.clause, "known_gap": case.known_gap,
            "source_alert_id": case.source_alert_id}


@suite_app.command("list")
def suite_list(config: ConfigOption = None, as_json: JsonOption = False,
               org_only: Annotated[bool, typer.Option("--org", help="only the organisation's "
                                                              "own cases")] = False) -> None:
    """Every case: the starting suite, then the organisation's."""
    runtime = open_runtime(config, quiet=as_json)
    with runtime.factory() as session:
        every = suite_cases.org_cases(session) if org_only else suite_cases.all_cases(session)
    rows = [_listed(c) for c in every]
    if as_json:
        print_json(rows)
        return
    print_table(f"Policy test suite ({len(rows)} cases)", ["id", "expects", "text", "gap"],
                [(r["id"], r["expects"], str(r["text"])[:80], r["known_gap"] or "")
                 for r in rows])


@suite_app.command("show")
def suite_show(case_id: Annotated[str, typer.Argument(help="e.g. org-3 or idioms-2")],
               config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """One case with its text (safeguarding cases included: mind who is looking)."""
    runtime = open_runtime(config, quiet=as_json)
    with runtime.factory() as session:
        found = [c for c in suite_cases.all_cases(session) if c.id == case_id]
    if not found:
        raise CommandError(f"no case {case_id!r} (see `socmon lab suite list`)")
    case = found[0]
    data = {**_listed(case), "text": case.text, "must": list(case.must),
            "must_not": list(case.must_not), "created_by": case.created_by}
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"{key}: {value}", markup=False, highlight=False)


@suite_app.command("add")
def suite_add(
    text: Annotated[str, typer.Option(help="the comment text the case tests")],
    clause: Annotated[str, typer.Option(help="the clause or note of the policy it tests")],
    must: LabelsOption = None,
    must_not: LabelsOption = None,
    clean: Annotated[bool, typer.Option("--clean", help="expect no label at all")] = False,
    known_gap: Annotated[str | None, typer.Option(
        help="the live classifier fails it today: why (it will not block promotions)")] = None,
    actor: ActorOption = None, config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Write a case by hand (audited; the text itself is never in the audit trail)."""
    if clean and (must or must_not):
        raise CommandError("--clean expects no label: leave out --must and --must-not")
    expected = (suite_cases.clean_expectation() if clean else
                ([m.value for m in must or []], [m.value for m in must_not or []]))
    runtime = open_runtime(config, quiet=as_json)
    try:
        with transaction(runtime.factory) as session:
            case = service.add_case(session, text=text, must=expected[0], must_not=expected[1],
                                    clause=clause, actor=_who(actor), known_gap=known_gap)
    except suite_cases.BadCase as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        print_json(_listed(case))
    else:
        console.print(f"added {case.id} (expects {case.expected()})")


@suite_app.command("from-alert")
def suite_from_alert(
    alert_id: Annotated[int, typer.Argument(help="the alert")],
    confirm: LabelsOption = None,
    actor: ActorOption = None, config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Turn an alert into a case: clean if dismissed as a false alarm, else the confirmed labels
    (default: the alert's)."""
    runtime = open_runtime(config, quiet=as_json)
    try:
        with transaction(runtime.factory) as session:
            case = service.case_from_alert(
                session, alert_id=alert_id, actor=_who(actor),
                confirmed=None if confirm is None else [c.value for c in confirm])
    except (suite_cases.BadCase, alerts.NotFound) as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        print_json(_listed(case))
    else:
        console.print(f"added {case.id} (expects {case.expected()})")


@suite_app.command("run")
def suite_run(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Run the suite against the live classifier; exit 1 when a case that is no known gap fails."""
    runtime = open_runtime(config, quiet=as_json)
    classifier = runtime.classifier
    with runtime.factory() as session:
        run = run_suite(session, classifier)
    lines = [f.describe(show_text=not f.case.safeguarding) for f in run.failures]
    if as_json:
        print_json({"classifier": classifier.version, "total": run.total,
                    "failures": [{"id": f.case.id, "known_gap": f.case.known_gap,
                                  "line": line} for f, line in zip(run.failures, lines,
                                                                   strict=True)],
                    "fixed_gaps": [c.id for c in run.fixed_gaps]})
    else:
        console.print(f"{run.total - len(run.failures)} of {run.total} passed "
                      f"({classifier.version})", markup=False)
        for failure, line in zip(run.failures, lines, strict=True):
            mark = "known gap" if failure.case.known_gap else "FAIL"
            console.print(f"  {mark}: {line}", markup=False, highlight=False)
        for case in run.fixed_gaps:
            console.print(f"  now passes (a known gap): {case.id}", markup=False)
    if run.blocking:
        raise typer.Exit(1)


def _account(value: str) -> tuple[str, str]:
    platform, sep, author_id = value.partition(":")
    if not sep or not platform or not author_id:
        raise CommandError(f"{value!r}: give the account as PLATFORM:AUTHOR_ID")
    return platform, author_id


@authors_app.command("link")
def authors_link(
    account: Annotated[str, typer.Argument(help="PLATFORM:AUTHOR_ID")],
    person: Annotated[str, typer.Argument(help="a name for the person (any label you choose)")],
    actor: ActorOption = None, config: ConfigOption = None,
) -> None:
    """Say an account belongs to a person: all their accounts count as one author."""
    platform, author_id = _account(account)
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            identity.link(session, platform=platform, author_id=author_id, person=person,
                          actor=_who(actor))
    except identity.BadLink as exc:
        raise CommandError(str(exc)) from None
    console.print(f"linked {account} to {person}", markup=False)


@authors_app.command("unlink")
def authors_unlink(account: Annotated[str, typer.Argument(help="PLATFORM:AUTHOR_ID")],
                   actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Remove an account's link."""
    platform, author_id = _account(account)
    runtime = open_runtime(config)
    try:
        with transaction(runtime.factory) as session:
            identity.unlink(session, platform=platform, author_id=author_id, actor=_who(actor))
    except identity.BadLink as exc:
        raise CommandError(str(exc)) from None
    console.print(f"unlinked {account}", markup=False)


@authors_app.command("list")
def authors_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The links in force."""
    runtime = open_runtime(config, quiet=as_json)
    with runtime.factory() as session:
        rows = [{"account": f"{r.platform}:{r.author_id}", "person": r.person,
                 "by": r.created_by, "at": r.created_at.isoformat()}
                for r in session.execute(select(AuthorLink).order_by(
                    AuthorLink.person, AuthorLink.id)).scalars()]
    if as_json:
        print_json(rows)
    else:
        print_table("Author links", ["account", "person", "by", "at"],
                    [tuple(r.values()) for r in rows])


@series_app.command("run")
def series_run(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Run the series rules once now (the daemon runs them every `series.interval`)."""
    runtime = open_runtime(config, quiet=as_json)
    result = series_job.run(runtime.factory, runtime.settings)
    data = {"scanned": result.scanned, "signals": result.signals, "opened": result.opened,
            "extended": result.extended, "attached": result.attached}
    if as_json:
        print_json(data)
    else:
        console.print(f"read {result.scanned} comments ({result.signals} signals); "
                      f"opened {len(result.opened)} series alert(s), extended "
                      f"{len(result.extended)}, attached {len(result.attached)} to comments' "
                      "own alerts", markup=False)
