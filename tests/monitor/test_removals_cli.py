"""`socmon removals add|list|contact|confirm` in its own process, as a moderator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

from sqlalchemy import select

from config.settings import Settings
from monitor.models import AuditEvent
from monitor.runtime import build_runtime


def _socmon(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCMON_")}
    env.update({"SOCMON_DATABASE_URL": settings.database_url or "",
                "SOCMON_DATA_DIR": str(settings.data_dir),
                "SOCMON_REMOVALS__DEADLINE": "6h"})
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_outside_request_from_add_to_confirm(settings: Settings) -> None:
    added = _socmon(settings, "removals", "add", "--url", "https://video.example/watch?v=abc",
                    "--requester", "Mr Lee Guardian", "--role", "parent",
                    "--what", "a video of the nativity play", "--reason", "no photo consent",
                    "--actor", "jo", "--json")
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["target"] == "outside"
    assert created["alert_id"] is None
    request_id = str(created["id"])

    contact = _socmon(settings, "removals", "contact", request_id, "--method", "form",
                      "--note", "used the site's privacy form", "--actor", "jo")
    assert contact.returncode == 0, contact.stderr
    listed = json.loads(_socmon(settings, "removals", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [created["id"]]
    assert listed[0]["host"] == "video.example"
    assert listed[0]["requester_name"] == "Mr Lee Guardian"  # the operator at the terminal
    assert [c["method"] for c in listed[0]["contacts"]] == ["form"]
    # The deadline is the configured one (6 hours here), worked out in one place.
    allowed = (datetime.fromisoformat(listed[0]["due_at"])
               - datetime.fromisoformat(listed[0]["created_at"]))
    assert allowed == timedelta(hours=6)

    confirmed = _socmon(settings, "removals", "confirm", request_id, "--note", "video removed",
                        "--actor", "jo")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "confirmed gone within its deadline" in confirmed.stdout
    assert json.loads(_socmon(settings, "removals", "list", "--json").stdout) == []
    done = json.loads(_socmon(settings, "removals", "list", "--status", "done", "--json").stdout)
    assert done[0]["resolution"] == "confirmed"
    assert done[0]["in_time"] is True

    runtime = build_runtime(settings, env={}, migrate=False)
    try:
        with runtime.factory() as session:
            events = session.execute(select(AuditEvent).where(
                AuditEvent.target_type == "removal").order_by(AuditEvent.seq)).scalars().all()
    finally:
        runtime.close()
    assert [(e.action, e.actor) for e in events] == [
        ("removal.add", "cli:jo"), ("removal.contact", "cli:jo"), ("removal.confirmed", "cli:jo")]
    add = events[0]
    assert add.details["due_at"] == done[0]["due_at"]
    assert "Guardian" not in json.dumps([e.details for e in events])


def test_mistakes_are_one_line_and_a_non_zero_exit(settings: Settings) -> None:
    cases = [
        (["removals", "add", "--requester", "A", "--role", "parent", "--what", "x",
          "--reason", "y"], "give exactly one of --url, --item or --alert"),
        (["removals", "add", "--url", "mailto:a@b.example", "--requester", "A", "--role", "p",
          "--what", "x", "--reason", "y"], "url: expected an address starting http"),
        (["removals", "add", "--item", "424242", "--requester", "A", "--role", "p",
          "--what", "x", "--reason", "y"], "item 424242 does not exist"),
        (["removals", "confirm", "7", "--note", "gone"], "removal request 7 does not exist"),
        (["removals", "list", "--status", "late"], "--status: expected open, done or all"),
    ]
    for args, message in cases:
        done = _socmon(settings, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
