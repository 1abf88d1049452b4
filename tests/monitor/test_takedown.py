"""Moderator actions through the outbox: takedown on the platform, verification, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from config.settings import Settings
from connectors.base import Action, ItemKind, ItemRef
from connectors.demo import DemoConnector
from monitor import alerts, audit, outbox
from monitor.db import transaction
from monitor.models import Alert, AlertState, AuditEvent, Item, OutboxEntry, TakedownStatus
from monitor.poller import poll_channel
from monitor.runtime import Runtime, build_runtime
from monitor.takedown import TakedownHandlers


@pytest.fixture
def runtime(settings: Settings):  # type: ignore[no-untyped-def]
    rt = build_runtime(settings, env={})
    ch = rt.settings.channels[0]
    poll_channel(
        rt.factory,
        name=ch.name,
        connector=rt.connectors[ch.name],
        classifier=rt.classifier,
        routing=rt.settings.routing,
        owner="t",
        interval=ch.interval,
        force=True,
    )
    yield rt
    rt.close()


def _work(rt: Runtime) -> outbox.RunStats:
    handlers = TakedownHandlers(rt.connectors, verify_after=timedelta(0), max_attempts=3)
    return outbox.run_once(rt.factory, handlers.as_mapping(), owner="t", max_attempts=3)


def _first_alert(rt: Runtime) -> tuple[int, ItemRef]:
    with rt.factory() as session:
        alert, item = session.execute(
            select(Alert, Item).join(Item, Alert.item_id == Item.id).order_by(Alert.id)
        ).first()  # type: ignore[misc]
        return alert.id, ItemRef(item.external_id, ItemKind(item.kind), item.parent_id)


def _actions(rt: Runtime, alert_id: int) -> list[str]:
    with rt.factory() as session:
        return list(
            session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.target_type == "alert",
                       AuditEvent.target_id == str(alert_id))
                .order_by(AuditEvent.seq)
            ).scalars()
        )


def _demo(rt: Runtime) -> DemoConnector:
    connector = rt.connectors["demo"]
    assert isinstance(connector, DemoConnector)
    return connector


def test_hide_is_performed_then_verified(runtime: Runtime) -> None:
    alert_id, ref = _first_alert(runtime)
    with transaction(runtime.factory) as session:
        alerts.claim(session, alert_id=alert_id, actor="mod")
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    assert _work(runtime).done == 1  # the hide
    assert _demo(runtime).check(ref).value == "hidden"
    assert _work(runtime).done == 1  # the verification
    with runtime.factory() as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.state == AlertState.ACTIONED
        assert alert.takedown_status == TakedownStatus.VERIFIED
        assert alert.verified_at is not None
        assert audit.verify(session).ok
    assert _actions(runtime, alert_id) == [
        "alert.open",
        "alert.claim",
        "alert.hide",
        "takedown.hide",
        "takedown.verified",
    ]


def test_delete_of_item_the_author_removed_counts_as_done(runtime: Runtime) -> None:
    alert_id, ref = _first_alert(runtime)
    _demo(runtime).remove_by_author(ref)
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.DELETE)
    _work(runtime)
    _work(runtime)
    with runtime.factory() as session:
        assert session.get_one(Alert, alert_id).takedown_status == TakedownStatus.VERIFIED
        details = session.execute(
            select(AuditEvent.details).where(AuditEvent.action == "takedown.delete")
        ).scalar_one()
    assert details["outcome"] == "already_gone"


def test_verification_catches_an_item_restored_on_the_platform(runtime: Runtime) -> None:
    alert_id, ref = _first_alert(runtime)
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    _work(runtime)
    _demo(runtime).restore(ref)
    _work(runtime)
    with runtime.factory() as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.takedown_status == TakedownStatus.FAILED
        assert "still visible" in (alert.takedown_error or "")
    assert _actions(runtime, alert_id)[-1] == "takedown.verify_failed"


def test_transient_failures_are_retried_then_succeed(runtime: Runtime) -> None:
    alert_id, ref = _first_alert(runtime)
    _demo(runtime).fail_next_takedowns(1)
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.DELETE)
    assert _work(runtime).retried >= 1
    with runtime.factory() as session:  # due again at once (retry_after=0)
        entry = session.execute(
            select(OutboxEntry).where(OutboxEntry.kind == "takedown")
        ).scalar_one()
        assert entry.attempts == 1
        assert entry.last_error
    assert _work(runtime).done == 1
    assert _demo(runtime).check(ref).value == "gone"


def test_failed_takedown_can_be_retried_by_a_moderator(runtime: Runtime) -> None:
    alert_id, _ref = _first_alert(runtime)
    _demo(runtime).fail_next_takedowns(10)
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    for _ in range(3):
        _work(runtime)
    with runtime.factory() as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.takedown_status == TakedownStatus.FAILED
    _demo(runtime).fail_next_takedowns(0)
    with transaction(runtime.factory) as session:
        alerts.request_takedown(session, alert_id=alert_id, actor="mod", action=Action.HIDE)
    _work(runtime)
    with runtime.factory() as session:
        assert session.get_one(Alert, alert_id).takedown_status == TakedownStatus.DONE


def test_invalid_transitions_are_refused(runtime: Runtime) -> None:
    alert_id, _ = _first_alert(runtime)
    with transaction(runtime.factory) as session:
        alerts.dismiss(
            session, alert_id=alert_id, actor="mod", reason=alerts.DismissReason.FALSE_POSITIVE
        )
    with pytest.raises(alerts.InvalidTransition), transaction(runtime.factory) as session:
        alerts.escalate(
            session, alert_id=alert_id, actor="mod", to=alerts.EscalationTarget.MANAGEMENT
        )
    with pytest.raises(alerts.NotFound), transaction(runtime.factory) as session:
        alerts.claim(session, alert_id=999_999, actor="mod")
