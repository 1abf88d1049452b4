"""A real Chromium records removal requests on the Removals page and follows them to the end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from monitor import outbox
from monitor.db import transaction
from monitor.models import Item
from monitor.runtime import Runtime
from monitor.takedown import TakedownHandlers
from monitor.users import seed_demo_users
from tests.web.test_browser import ARGS, CHROMIUM, _demo_poll, pytestmark, server

__all__ = ["pytestmark", "server"]  # the browser marks and the live server fixture


def test_moderator_records_requests_and_sees_them_met(runtime: Runtime, server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    _demo_poll(runtime)
    with runtime.factory() as session:  # the school's own first post, as a parent would link it
        post = session.execute(select(Item).where(Item.is_own.is_(True)).order_by(Item.id)
                               ).scalars().first()
        assert post is not None
        post_url = post.url
    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    name, password = creds["moderator"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(f"{server}/login")
            page.fill('input[name="username"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            page.click('nav a[href="/removals"]')
            expect(page.locator("#no-removals")).to_be_visible()

            # A page elsewhere: recorded, approached, confirmed gone.
            form = page.locator("#add-removal form")
            form.locator('input[name="url"]').fill("https://blog.example.net/our-trip")
            form.locator('input[name="requester"]').fill("Mr Sam Askew")
            form.locator('input[name="requester_role"]').fill("parent")
            form.locator('textarea[name="what"]').fill("trip photo with my daughter")
            form.locator('textarea[name="reason"]').fill("photo consent withdrawn")
            form.locator("button.primary").click()
            expect(page.locator(".flash.ok")).to_contain_text("record each approach")
            card = page.locator("section.card", has_text="elsewhere: blog.example.net")
            expect(card.locator(".requester")).to_have_text("Mr Sam Askew (parent)")
            card.locator('textarea[name="note"]').fill("e-mailed the blog's owner")
            card.locator("button", has_text="Record contact").click()
            card = page.locator("section.card", has_text="elsewhere: blog.example.net")
            expect(card).to_contain_text("e-mailed the blog's owner")
            card.locator('input[name="note"]').fill("checked signed out: removed")
            card.locator("button", has_text="Confirm gone").click()
            expect(page.locator(".flash.ok")).to_contain_text("confirmed gone")

            # The school's own post: taken down by socmon, verified by the re-check.
            form = page.locator("#add-removal form")
            form.locator('input[name="url"]').fill(post_url or "")
            form.locator('input[name="requester"]').fill("Ms Pat Askew")
            form.locator('input[name="requester_role"]').fill("parent")
            form.locator('textarea[name="what"]').fill("the post naming my son")
            form.locator('textarea[name="reason"]').fill("photo consent withdrawn")
            form.locator("button.primary").click()
            expect(page.locator(".flash.ok")).to_contain_text("the takedown is queued")
            expect(page.locator("section.card", has_text="on demo")).to_contain_text(
                "Takedown (delete): pending")

            handlers = TakedownHandlers(runtime.connectors, verify_after=timedelta(0),
                                        max_attempts=3).as_mapping()
            first = outbox.run_once(runtime.factory, handlers, owner="test", max_attempts=3)
            second = outbox.run_once(runtime.factory, handlers, owner="test", max_attempts=3)
            assert (first.done, second.done) == (1, 1)  # the delete, then its re-check

            page.goto(f"{server}/removals?status=done")
            expect(page.locator("section.card", has_text="on demo")).to_contain_text(
                "Verified gone on the platform")
            expect(page.locator("section.card", has_text="blog.example.net")).to_contain_text(
                "Confirmed gone")
            expect(page.locator("section.card", has_text="on demo")).to_contain_text("(in time)")
        finally:
            browser.close()
