"""A real Chromium: an admin opens the annual review from its page, a governor-facing report
with the year's figures and no child's name; the changes and privacy pages show the record."""

from __future__ import annotations

from monitor import review
from monitor.db import transaction
from monitor.runtime import Runtime
from monitor.users import seed_demo_users
from tests.review.seed_year import SG_TEXT, YEAR, seed_year
from tests.web.test_browser import ARGS, CHROMIUM, pytestmark, server

__all__ = ["pytestmark", "server"]  # the browser marks and the uvicorn fixture


def test_admin_opens_the_annual_review_and_the_records(runtime: Runtime, server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with transaction(runtime.factory) as session:
        seeded = seed_year(session, runtime.settings)
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    with runtime.factory() as session:
        figures = review.figures_for(session, runtime.settings, YEAR)
    name, password = creds["admin"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{server}/login")
            page.fill('input[name="username"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            page.click("header nav >> text=Records")
            expect(page).to_have_url(f"{server}/records/changes")
            expect(page.locator("#changes")).to_contain_text(seeded.change_reasons[0])
            expect(page.locator("#changes")).to_contain_text("not given")

            page.click("text=What we hold and why")
            expect(page.locator("#category-safeguarding .viewers")).to_have_text(
                "admin, safeguarding lead")

            page.click("text=Annual review")
            expect(page).to_have_url(f"{server}/admin/review")
            page.select_option('select[name="year"]', str(YEAR))
            page.click("#review-html")
            expect(page.locator("#review-title")).to_contain_text(f"annual review {YEAR}")
            expect(page.locator("#review-summary")).to_contain_text(
                f"read {figures.scanned:,} comments")
            expect(page.locator("#review-safeguarding")).to_contain_text(
                f"{figures.referrals} alert(s) were referred")
            expect(page.locator("#review-changes")).to_contain_text(seeded.change_reasons[1])
            expect(page.locator("#review-outages")).to_contain_text("still down")
            expect(page.locator("#review-removal_requests")).to_contain_text(
                "0 removal request(s) were made in the year")
            expect(page.locator("#review-retention")).to_contain_text(
                "The daily purge did not run in the year")
            body = page.locator("body").inner_text()
            for child in seeded.child_names:
                assert child not in body
            assert SG_TEXT not in body
            # the report's own inline style is allowed by its CSP: tables have borders
            border = page.locator("#review-labels td").first.evaluate(
                "e => getComputedStyle(e).borderTopStyle")
            assert border == "solid"

            with page.expect_download() as download:
                page.goto(f"{server}/admin/review")
                page.select_option('select[name="year"]', str(YEAR))
                page.click("#review-pdf")
            assert download.value.suggested_filename == f"socmon-review-{YEAR}.pdf"
        finally:
            browser.close()
