"""A real Chromium: an admin adds a watched phrase, shadows it on history, promotes it, and the
next poll flags a new comment with it; the audit trail shows each step."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import ChannelConfig, Settings
from monitor.db import transaction
from monitor.models import Alert, AuditEvent, Item, Verdict
from monitor.poller import poll_channel
from monitor.runtime import Runtime, build_runtime
from monitor.users import seed_demo_users
from tests.lab.conftest import ingest
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_browser import server as server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]

HISTORY = [
    "Typical Grendon rats hanging round the school gates again",
    "gr3nd0n r@ts all over the car park at pickup",  # a variant spelling
    "The Grendon estate fun day was lovely",  # the place alone is fine
    "Lovely assembly this morning, well done Year 2",
]
NEW_COMMENT = "More G.r.e.n.d.o.n rats at the fair tonight"


@pytest.fixture
def runtime(settings: Settings, tmp_path: Path) -> Iterator[Runtime]:
    """A demo channel whose Page, at the next poll, carries one post and one new comment."""
    script = tmp_path / "page.jsonl"
    script.write_text("\n".join(json.dumps(line) for line in [
        {"kind": "post", "post": 0, "author": "Riverside Primary School",
         "text": "The summer fair is on Friday from 4pm."},
        {"kind": "comment", "post": 0, "author": "Someone Local", "text": NEW_COMMENT},
    ]) + "\n", encoding="utf-8")
    channel = ChannelConfig(name="demo", platform="demo",
                            options={"stream_path": str(script), "repeat": False, "initial": 2,
                                     "batch": 0})
    rt = build_runtime(settings.model_copy(update={"channels": [channel]}), env={})
    yield rt
    rt.close()


def test_admin_shadows_and_promotes_a_watched_phrase(runtime: Runtime, server: str,
                                                      now: datetime) -> None:
    from playwright.sync_api import expect, sync_playwright

    ingest(runtime, HISTORY, now=now, weeks=4)
    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    name, password = creds["admin"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{server}/lab")
            page.fill('input[name="username"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            expect(page).to_have_url(f"{server}/lab")

            form = page.locator("#add-rule")
            form.locator('select[name="kind"]').select_option("watch")
            form.locator('input[name="text"]').fill("Grendon rats")
            form.locator('select[name="label"]').select_option("abuse")
            form.locator('select[name="severity"]').select_option("high")
            form.locator('input[name="reason"]').fill("a local slur for the Grendon estate")
            form.locator("button").click()
            expect(page.locator(".flash.ok")).to_contain_text("added as a draft")
            expect(page.locator("#rules")).to_contain_text("draft")

            page.fill('#run-backtest input[name="weeks"]', "8")
            page.click("#run-backtest button")
            newly = page.locator("#newly-flagged tbody tr")
            expect(newly).to_have_count(2)
            expect(page.locator("#newly-flagged")).to_contain_text("Typical Grendon rats")
            expect(page.locator("#newly-flagged")).to_contain_text("gr3nd0n r@ts")
            expect(page.locator("#newly-flagged")).not_to_contain_text("fun day")
            expect(page.locator("#backtest-summary .change")).to_contain_text("+0.2")

            page.fill('#promote input[name="reason"]', "caught two in history, no false alarm")
            page.click("#promote button")
            expect(page.locator(".flash.ok")).to_contain_text("Promoted")
            expect(page.locator("#rules")).to_contain_text("live")

            # The next poll of the running service flags the new comment with the phrase.
            channel = runtime.settings.channels[0]
            poll_channel(runtime.factory, name=channel.name,
                         connector=runtime.connectors[channel.name],
                         classifier=runtime.current_classifier(),
                         routing=runtime.settings.routing, owner="test",
                         interval=channel.interval, force=True)
            with runtime.factory() as session:
                flagged = session.execute(
                    select(Alert.labels, Verdict.reasons).join(Item, Item.id == Alert.item_id)
                    .join(Verdict, Verdict.id == Alert.verdict_id)
                    .where(Item.text == NEW_COMMENT)).one()
                actions = list(session.execute(select(AuditEvent.action).where(
                    AuditEvent.action.like("lab.%")).order_by(AuditEvent.seq)).scalars())
            assert flagged.labels == ["abuse"]
            assert any("organisation rule" in reason for reason in flagged.reasons)
            assert actions == ["lab.rule.add", "lab.promote"]

            page.goto(f"{server}/lab")
            history = page.locator("#lab-history")
            expect(history).to_contain_text("lab.rule.add")
            expect(history).to_contain_text("lab.promote")
            page.goto(f"{server}/audit")
            expect(page.locator("body")).to_contain_text("lab.promote")
        finally:
            browser.close()
