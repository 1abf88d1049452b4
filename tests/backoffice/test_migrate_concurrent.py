"""Replicas starting together on a new PostgreSQL database all migrate it, one at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text

from monitor import db
from monitor.models import AuditHead
from tests.conftest import PG_URL, _pg_schema_url

pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="PostgreSQL only (set SOCMON_TEST_DATABASE_URL): SQLite needs no lock, its "
    "migrations already run one at a time under the database file's write lock",
)

REPLICAS = 6
ROUNDS = 3


@contextmanager
def fresh_schema() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema (dropped afterwards)."""
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_schema_url("public"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _assert_migrated_once(url: str) -> None:
    engine = db.make_engine(url)
    try:
        assert db.is_current(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            assert conn.execute(select(func.count()).select_from(AuditHead)).scalar_one() == 1
    finally:
        engine.dispose()


#: a replica's start, cut to the migration: ready once imported, upgrade when told to
REPLICA = """
import sys
from monitor import db
engine = db.make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
db.upgrade(engine)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SOCMON_CONFIG", None)
    return env


def _upgrade_together(url: str) -> list[str]:
    """REPLICAS processes, all imported and connected, released at once; what failed said."""
    # Processes, not threads: Alembic keeps its `op` and `context` proxies in module globals,
    # so two upgrades in one process would share them; replicas are processes anyway.
    procs = [
        subprocess.Popen([sys.executable, "-c", REPLICA, url], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        for _ in range(REPLICAS)
    ]
    try:
        for proc in procs:  # the barrier: every replica is ready before any is released
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line == "ready\n", (line, proc.stderr.read() if proc.stderr else "")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [(proc.wait(timeout=120), proc.communicate()[1]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [_error_line(err) for code, err in results if code != 0]


def _error_line(stderr: str) -> str:
    """The exception line of a traceback (the database's own message)."""
    lines = stderr.strip().splitlines()
    return next((line for line in lines if "Error:" in line), lines[-1] if lines else "")


def test_concurrent_upgrades_of_a_fresh_database_all_succeed() -> None:
    failures: dict[int, list[str]] = {}
    for trial in range(ROUNDS):
        with fresh_schema() as url:
            errors = _upgrade_together(url)
            if errors:
                failures[trial] = errors
            else:
                _assert_migrated_once(url)
    summary = {trial: (len(errors), sorted(set(errors))) for trial, errors in failures.items()}
    assert not failures, f"failed upgrades per round (of {REPLICAS}): {summary}"
