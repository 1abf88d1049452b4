"""A real Chromium: a moderator dismisses a false alarm and, in one click, makes it a test case."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from monitor.db import transaction
from monitor.models import AuditEvent
from monitor.policy_suite.cases import all_cases
from monitor.runtime import Runtime
from monitor.users import seed_demo_users
from tests.web.conftest import seed_alert
from tests.web.test_browser import ARGS, CHROMIUM, pytestmark, server  # noqa: F401

TEXT = "The choir were on fire tonight, absolutely killed it"


def test_a_dismissed_false_alarm_becomes_a_test_case_in_one_click(
        runtime: Runtime, server: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    alert_id = seed_alert(runtime, text=TEXT, labels=["threat"], severity="critical",
                          external_id="demo-fa-1")
    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    name, password = creds["moderator"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{server}/login?next=/alerts/{alert_id}")
            page.fill('input[name="username"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            expect(page).to_have_url(f"{server}/alerts/{alert_id}")
            page.select_option("#dismiss-reason", "false_positive")
            page.click('#actions form:has(#dismiss-reason) button')
            expect(page.locator(".flash.ok")).to_contain_text("dismiss: done")

            # the one click
            expect(page.locator("#suite-case-add")).to_contain_text("expects clean")
            page.click("#suite-case-add")
            expect(page.locator(".flash.ok")).to_contain_text(
                "Added to the policy test suite as org-1 (expects clean)")
            expect(page.locator("#suite-case-done")).to_contain_text("org-1")
            expect(page.locator("#suite-case-add")).to_have_count(0)

            page.click("#suite-case-done a")
            expect(page).to_have_url(f"{server}/lab/suite#case-org-1")
            row = page.locator("#case-org-1")
            expect(row).to_contain_text(TEXT)
            expect(row).to_contain_text("clean")
            expect(row).to_contain_text(f"alert #{alert_id}")
        finally:
            browser.close()

    with runtime.factory() as session:
        case = next(c for c in all_cases(session) if c.id == "org-1")
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "policy_case.add")).scalar_one()
    assert case.text == TEXT
    assert case.expects_clean
    assert case.source_alert_id == alert_id
    # the alert's threat label is what the live classifier said: a known gap, not a block
    assert case.known_gap is not None
    assert event.actor == name
    assert TEXT not in str(event.details)
