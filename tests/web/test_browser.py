"""A real Chromium (Playwright) signs in, filters, opens an item, hides it and sees it verified."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn

from monitor import outbox
from monitor.db import transaction
from monitor.poller import poll_channel
from monitor.runtime import Runtime
from monitor.takedown import TakedownHandlers
from monitor.users import seed_demo_users
from monitor.web import create_app
from tests.web.conftest import seed_alert

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    """The app on 127.0.0.1, a random port; the socket listens before the thread starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(runtime), log_config=None, access_log=False,
                            lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=30)
    sock.close()


def _demo_poll(runtime: Runtime) -> None:
    channel = runtime.settings.channels[0]
    poll_channel(runtime.factory, name=channel.name, connector=runtime.connectors[channel.name],
                 classifier=runtime.classifier, routing=runtime.settings.routing, owner="test",
                 interval=channel.interval, force=True)


def test_moderator_hides_an_item_and_sees_it_verified(runtime: Runtime, server: str,
                                                       tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    _demo_poll(runtime)
    # One alert with known text on a real demo item id, so the connector can hide it.
    target = seed_alert(runtime, text="You absolute idiot, nobody wants you here",
                        labels=["abuse"], severity="high", external_id="demo-browser-1",
                        author="Rude Person", author_id="rude")
    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    name, password = creds["moderator"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(f"{server}/queue")
            expect(page).to_have_url(f"{server}/login?next=%2Fqueue")
            page.fill('input[name="username"]', name)
            page.fill('input[name="password"]', password)
            page.click('button[type="submit"]')
            expect(page).to_have_url(f"{server}/queue")

            page.select_option('select[name="label"]', "abuse")
            page.fill("#search", "nobody wants")
            page.click('#filters button[type="submit"]')
            expect(page.locator("#queue-list li.row")).to_have_count(1)
            row = page.locator("#queue-list li.row").first
            text = row.locator(".blur")
            expect(text).to_contain_text("nobody wants you here")
            text.click()
            expect(text).to_have_class("blur revealed")

            row.locator("a.open").click()
            expect(page).to_have_url(f"{server}/alerts/{target}")
            expect(page.locator("mark.span, #comment-text")).not_to_have_count(0)
            expect(page.locator("#actions")).to_contain_text("Hidden from everyone except")
            page.click("#act-hide")
            expect(page.locator(".flash.ok")).to_contain_text("Hide requested")
            expect(page.locator("#audit-trail")).to_contain_text("alert.hide")

            handlers = TakedownHandlers(runtime.connectors, verify_after=timedelta(0),
                                        max_attempts=3).as_mapping()
            first = outbox.run_once(runtime.factory, handlers, owner="test", max_attempts=3)
            second = outbox.run_once(runtime.factory, handlers, owner="test", max_attempts=3)
            assert (first.done, second.done) == (1, 1)  # the hide, then its verification

            page.reload()
            expect(page.locator("#takedown-verified")).to_contain_text("verified at")
            expect(page.locator("#takedown-verified")).to_contain_text("by re-check")
            expect(page.locator("#audit-trail")).to_contain_text("takedown.hide")
            expect(page.locator("#audit-trail")).to_contain_text("takedown.verified")

            # The queue on a phone: one column, no sideways scrolling.
            phone = browser.new_page(viewport={"width": 390, "height": 844},
                                     device_scale_factor=2, is_mobile=True, has_touch=True)
            phone.goto(f"{server}/login")
            phone.fill('input[name="username"]', name)
            phone.fill('input[name="password"]', password)
            phone.click('button[type="submit"]')
            phone.goto(f"{server}/queue?state=all")
            expect(phone.locator("#queue-list li.row").first).to_be_visible()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
            shot = tmp_path / "queue-phone.png"
            phone.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            if os.environ.get("SOCMON_SCREENSHOT_DIR"):
                target_dir = Path(os.environ["SOCMON_SCREENSHOT_DIR"])
                target_dir.mkdir(parents=True, exist_ok=True)
                (target_dir / "queue-phone.png").write_bytes(shot.read_bytes())
        finally:
            browser.close()
