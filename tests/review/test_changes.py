"""Every change to how socmon judges is recorded: a changed configuration at start (with or
without a reason), a reason noted in advance, model and names changes; shown on the page."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from classifiers.base import Label
from config.settings import Settings
from monitor import audit, changes, users
from monitor.db import transaction
from monitor.lab import candidates, rules
from monitor.models import AuditEvent
from monitor.people.roles import Role
from monitor.runtime import Runtime, build_runtime
from monitor.web import create_app
from tests.monitor.test_cli import _socmon
from tests.web.conftest import login


def _config_events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.factory() as session:
        return list(session.execute(select(AuditEvent).where(
            AuditEvent.action == changes.CONFIG_CHANGED).order_by(AuditEvent.seq)).scalars())


def _restart(settings: Settings, **kwargs: object) -> Runtime:
    rt = build_runtime(settings, env=kwargs.pop("env", {}), **kwargs)  # type: ignore[arg-type]
    rt.close()
    return rt


def _stricter(settings: Settings) -> Settings:
    return settings.model_copy(update={"classifier": settings.classifier.model_copy(update={
        "sensitivity": 0.7, "thresholds": {Label.ABUSE: 0.4}})})


def test_first_start_records_the_config_and_an_unchanged_restart_records_nothing(
        runtime: Runtime, settings: Settings) -> None:
    first = _config_events(runtime)
    assert len(first) == 1
    assert first[0].details["first"] is True
    assert first[0].details["reason"] == "not given"
    assert first[0].details["config"] == changes.judging_config(settings)
    # batch size changes speed, not judgement: not recorded
    faster = settings.model_copy(update={"classifier": settings.classifier.model_copy(
        update={"batch_size": 64})})
    assert _restart(faster).config_change_seq is None
    assert _restart(settings).config_change_seq is None
    assert len(_config_events(runtime)) == 1


def test_a_changed_config_without_a_reason_is_still_recorded(runtime: Runtime,
                                                             settings: Settings) -> None:
    stricter = _stricter(settings)
    later = _restart(stricter)
    assert later.config_change_seq is not None
    event = _config_events(runtime)[-1]
    assert event.seq == later.config_change_seq
    assert event.details["reason"] == "not given"
    assert event.details["changes"] == {
        "classifier.sensitivity": {"old": 0.5, "new": 0.7},
        "classifier.thresholds.abuse": {"old": None, "new": 0.4}}
    assert event.actor.startswith("config:")
    with runtime.factory() as session:
        assert audit.verify(session).ok


def test_routing_and_deadline_changes_name_each_key(runtime: Runtime,
                                                    settings: Settings) -> None:
    rules = [r.model_copy(update={"queue": "urgent"}) if r.label == Label.HATE else r
             for r in settings.routing.rules]
    routing = settings.routing.model_copy(update={
        "rules": rules, "deadlines": settings.routing.deadlines.model_copy(
            update={"critical": timedelta(minutes=30)})})
    _restart(settings.model_copy(update={"routing": routing}),
             env={changes.REASON_ENV: "Hate goes to the urgent queue after the March review"})
    event = _config_events(runtime)[-1]
    assert event.details["changes"] == {
        "routing.deadlines.critical": {"old": "PT1H", "new": "PT30M"},
        "routing.rules.hate.queue": {"old": "moderation", "new": "urgent"}}
    assert event.details["reason"] == "Hate goes to the urgent queue after the March review"
    with runtime.factory() as session:
        shown = changes.list_changes(session)[-1]
    assert shown.summary == ("routing.deadlines.critical: 1 hour → 30 minutes; "
                             "routing.rules.hate.queue: moderation → urgent")
    assert shown.shown_keys["routing.deadlines.critical"] == ("1 hour", "30 minutes")


def test_a_reason_noted_in_advance_goes_with_the_next_change(runtime: Runtime,
                                                             settings: Settings) -> None:
    noted = _socmon(["changes", "note", "--reason", "Sensitivity raised for the exam term",
                     "--json"], settings)
    assert noted.returncode == 0, noted.stderr
    assert json.loads(noted.stdout) == {"recorded": False, "pending": True}
    with runtime.factory() as session:
        assert changes.pending_reason(session) == "Sensitivity raised for the exam term"
    _restart(_stricter(settings))
    assert _config_events(runtime)[-1].details["reason"] == "Sensitivity raised for the exam term"
    with runtime.factory() as session:
        assert changes.pending_reason(session) is None  # used once
    _restart(settings)  # and back again: not the old reason
    assert _config_events(runtime)[-1].details["reason"] == "not given"


def test_note_refuses_an_empty_reason(runtime: Runtime, settings: Settings) -> None:
    done = _socmon(["changes", "note", "--reason", "  "], settings)
    assert done.returncode == 1
    assert "give the reason" in done.stderr


def test_changes_list_and_page_show_who_when_what_and_why(runtime: Runtime,
                                                          settings: Settings) -> None:
    _restart(_stricter(settings), change_reason="Too much abuse slipped through in May")
    with transaction(runtime.factory) as session:
        audit.record(session, actor="cli:alex", action="names.import", target_type="register",
                     target_id="protected_names",
                     details={"rows": 2, "added": 2, "total": 2, "replace": False})
    listed = _socmon(["changes", "list", "--json"], settings)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    # the CLI started with the default configuration (the old sensitivity): recorded too
    assert [r["kind"] for r in rows] == ["configuration", "configuration", "names register",
                                         "configuration"]
    assert rows[3]["keys"]["classifier.sensitivity"] == {"old": 0.7, "new": 0.5}
    assert rows[1]["reason"] == "Too much abuse slipped through in May"
    assert rows[1]["keys"]["classifier.sensitivity"] == {"old": 0.5, "new": 0.7}
    assert rows[2]["reason"] == "not given"
    assert rows[2]["summary"] == "2 rows read, 2 names added, 2 in the register"

    with transaction(runtime.factory) as session:
        _user, password = users.create(session, username="gov", role=Role.MANAGER,
                                       actor="test")
        _mod, mod_password = users.create(session, username="mod2", role=Role.MODERATOR,
                                          actor="test")
    with TestClient(create_app(runtime)) as client:
        login(client, "gov", password)
        page = client.get("/records/changes")
        assert page.status_code == 200
        assert "Too much abuse slipped through in May" in page.text
        assert "classifier.sensitivity" in page.text
        assert "not given" in page.text
    with TestClient(create_app(runtime)) as client:
        login(client, "mod2", mod_password)
        assert client.get("/records/changes").status_code == 403


def test_a_names_import_carries_its_reason_and_no_name(runtime: Runtime, settings: Settings,
                                                       tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("first_name,last_name,role,aliases\nPoppy,Seedchild,pupil,\n",
                      encoding="utf-8")
    done = _socmon(["names", "import", str(roster), "--reason",
                    "Autumn term roster from the MIS"], settings)
    assert done.returncode == 0, done.stderr
    listed = _socmon(["changes", "list", "--json"], settings)
    assert listed.returncode == 0, listed.stderr
    names = [r for r in json.loads(listed.stdout) if r["kind"] == "names register"]
    assert [(r["reason"], r["summary"]) for r in names] == [
        ("Autumn term roster from the MIS", "1 rows read, 1 names added, 1 in the register")]
    assert "Seedchild" not in listed.stdout
    assert names[0]["actor"] == "cli"


def test_a_changed_removal_deadline_is_recorded(runtime: Runtime, settings: Settings) -> None:
    sooner = settings.model_copy(update={"removals": settings.removals.model_copy(
        update={"deadline": timedelta(hours=12)})})
    _restart(sooner, change_reason="The policy's 24 hours halved after the governors' review")
    event = _config_events(runtime)[-1]
    assert event.details["changes"] == {"removals.deadline": {"old": "P1D", "new": "PT12H"}}
    with runtime.factory() as session:
        shown = changes.list_changes(session)[-1]
    assert shown.kind == "configuration"
    assert shown.summary == "removals.deadline: 1 day → 12 hours"
    assert shown.reason == "The policy's 24 hours halved after the governors' review"


RULE_TEXT = "scumbags from the Marsh estate"


def test_lab_rule_changes_and_promotions_are_listed_with_their_reasons(
        runtime: Runtime, settings: Settings) -> None:
    with transaction(runtime.factory) as session:
        rule = rules.add(session, rules.RuleInput("watch", RULE_TEXT, "hate", "high"),
                         reason="The estate's nickname is used as a slur on our posts",
                         actor="alex")
        rules.edit(session, rule.rule_id, rules.RuleInput("watch", RULE_TEXT, "abuse", "low"),
                   reason="Abuse rather than hate, after the DSL's advice", actor="alex")
        candidates.set_settings(session, sensitivity=0.6, thresholds={}, model_version=None,
                                actor="alex")
        candidates.promote(session, settings, names=[], actor="alex",
                           reason="Two weeks in shadow: three true catches, no false alarm")
    listed = _socmon(["changes", "list", "--json"], settings)
    assert listed.returncode == 0, listed.stderr
    rows = [r for r in json.loads(listed.stdout) if r["kind"] != "configuration"]
    assert [(r["kind"], r["reason"], r["actor"]) for r in rows] == [
        ("organisation rule drafted", "The estate's nickname is used as a slur on our posts",
         "alex"),
        ("organisation rule edited (draft)", "Abuse rather than hate, after the DSL's advice",
         "alex"),
        ("lab promotion", "Two weeks in shadow: three true catches, no false alarm", "alex")]
    assert rows[1]["summary"] == (f"rule {rule.rule_id} version 2: watch for abuse (low); "
                                  "live once promoted")
    assert rows[2]["summary"] == f"rules live: {rule.rule_id} version 2; sensitivity 0.6"
    assert "Marsh" not in listed.stdout  # the rule's words never leave the lab

    with transaction(runtime.factory) as session:
        _user, password = users.create(session, username="gov", role=Role.MANAGER,
                                       actor="test")
    with TestClient(create_app(runtime)) as client:
        login(client, "gov", password)
        page = client.get("/records/changes")
    assert page.status_code == 200
    assert "Two weeks in shadow" in page.text
    assert "organisation rule drafted" in page.text
    assert "Marsh" not in page.text
