"""The audit chain: intact after real work, and broken by any edit, deletion or reordering."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from config.settings import Settings
from monitor import audit
from monitor.cli import app
from monitor.db import make_engine, session_factory, transaction, upgrade


@pytest.fixture
def factory(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        for n in range(1, 8):
            audit.record(
                session,
                actor="tester",
                action="test.event",
                target_type="alert",
                target_id=n,
                details={"n": n, "note": "café ✓"},
                evidence_sha256=audit.sha256_hex(str(n)),
            )
    yield factory
    engine.dispose()


def _verify(factory) -> audit.VerifyResult:  # type: ignore[no-untyped-def]
    with factory() as session:
        return audit.verify(session)


def _sql(factory, statement: str) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        session.execute(text(statement))


def test_intact_chain_verifies(factory) -> None:  # type: ignore[no-untyped-def]
    result = _verify(factory)
    assert result.ok
    assert result.checked == 7


def test_edited_details_are_detected(factory) -> None:  # type: ignore[no-untyped-def]
    _sql(factory, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    result = _verify(factory)
    assert not result.ok
    assert result.bad_seq == 4
    assert "altered" in result.problem


def test_edited_timestamp_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        session.execute(
            text("UPDATE audit_events SET at = :at WHERE seq = 2"), {"at": "2020-01-01 00:00:00"}
        )
    assert _verify(factory).bad_seq == 2


def test_deleted_middle_row_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    _sql(factory, "DELETE FROM audit_events WHERE seq = 3")
    result = _verify(factory)
    assert not result.ok
    assert result.bad_seq == 3


def test_deleted_last_row_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    _sql(factory, "DELETE FROM audit_events WHERE seq = 7")
    result = _verify(factory)
    assert not result.ok
    assert result.bad_seq == 7


def test_reordered_rows_are_detected(factory) -> None:  # type: ignore[no-untyped-def]
    _sql(factory, "UPDATE audit_events SET seq = 100 WHERE seq = 5")
    _sql(factory, "UPDATE audit_events SET seq = 5 WHERE seq = 6")
    _sql(factory, "UPDATE audit_events SET seq = 6 WHERE seq = 100")
    result = _verify(factory)
    assert not result.ok
    assert result.bad_seq == 5


def test_row_inserted_out_of_order_is_detected(factory) -> None:  # type: ignore[no-untyped-def]
    # Make room at 6 (in two steps: the primary key is checked row by row on SQLite).
    _sql(factory, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 6")
    _sql(factory, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    with factory() as session:
        row = session.execute(text("SELECT prev_hash, hash FROM audit_events WHERE seq = 5")).one()
    with transaction(factory) as session:
        session.execute(
            text(
                "INSERT INTO audit_events (seq, at, actor, action, target_type, target_id, "
                "details, prev_hash, hash) VALUES (6, '2026-01-01 00:00:00', 'x', 'forged', "
                "'alert', '1', '{}', :prev, :hash)"
            ),
            {"prev": row.hash, "hash": "f" * 64},
        )
    result = _verify(factory)
    assert not result.ok
    assert result.bad_seq == 6


def test_cli_verify_names_the_bad_event(settings: Settings) -> None:
    runner = CliRunner()
    env = {
        "SOCMON_DATABASE_URL": settings.database_url or "",
        "SOCMON_DATA_DIR": str(settings.data_dir),
    }
    ok = runner.invoke(app, ["demo", "--once", "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    good = runner.invoke(app, ["audit", "verify"], env=env)
    assert good.exit_code == 0
    assert "intact" in good.output
    engine = make_engine(settings.database_url or "")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET details = '{}' WHERE seq = 2"))
    engine.dispose()
    bad = runner.invoke(app, ["audit", "verify", "--json"], env=env)
    assert bad.exit_code == 1
    assert '"bad_seq": 2' in bad.output
