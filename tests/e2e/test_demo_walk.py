"""The demo as the README tells a new user to try it: `make demo` (AFTERCART_ENV=demo, SQLite, jobs inline) on a
free port in its own process, then the links it prints opened in Chromium: the admin home, a tracking page,
the returns portal and a return's status page, in English and in Thai, on a wide and a phone screen.

Fails on any answer of 400 or more and on anything the browser logs as an error. The requests that leave
the machine, Shopify's App Bridge and Polaris scripts on the admin pages, are answered by stand-ins (the test
network is closed; the admin's own stylesheet draws the page then); every other request must go to the demo
itself. Screenshots go to test-artifacts/demo-walk/.

Needs Debian's Chromium at /usr/bin/chromium and Python Playwright; Thai glyphs need fonts-thai-tlwg-ttf.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium
from tests.conftest import free_port

try:
    from playwright.sync_api import Page, Route, sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
POLARIS = "https://cdn.shopify.com/shopifycloud/polaris.js"


@dataclass
class Demo:
    base: str
    output: list[str] = field(default_factory=list)

    def link(self, pattern: str) -> str:
        """The first printed link on a line matching `pattern` (a regular expression)."""
        for line in self.output:
            if re.search(pattern, line):
                found = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", line)
                if found:
                    return found.group(1)
        raise AssertionError(f"the demo printed no link matching {pattern!r}:\n" + "".join(self.output))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    """`make demo`, as its recipe runs it, on a free port."""
    port = free_port()
    database = tmp_path_factory.mktemp("demo-walk") / "demo.db"
    env = {"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Demo(base=f"http://127.0.0.1:{port}")
    reader = threading.Thread(target=lambda: running.output.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{running.base}/healthz", timeout=2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError("the demo did not start:\n" + "".join(running.output)[-3000:]) from None
                time.sleep(0.3)
        yield running
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        reader.join(timeout=5)
        proc.stdout.close()


@dataclass
class Watch:
    """What went wrong while a page loaded: failed answers, console errors, requests that left the machine."""

    failures: list[str] = field(default_factory=list)

    def attach(self, page: Page, base: str) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.failures.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.failures.append(f"page error: {exc}"))
        page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))

        def outside(route: Route) -> None:
            url = route.request.url
            if url in (APP_BRIDGE, POLARIS):
                route.fulfill(status=200, content_type="text/javascript", body="/* Shopify CDN stand-in */")
            elif url.startswith(base) or url.startswith("data:"):
                route.continue_()
            else:
                self.failures.append(f"left the machine: {url}")
                route.abort()

        page.route("**/*", outside)


def _pages(demo: Demo) -> dict[str, str]:
    """The links the README walks: the admin home, a tracking page, the returns portal, a return's page."""
    return {
        "admin-home": demo.link(r"Admin \(as the owner"),
        "tracking": demo.link(r"#\d+\s+in_transit\s"),
        "returns-portal": demo.link(r"#\d+\s+portal\s"),
        "return-status": demo.link(r"\s+awaiting_shipment\s+http.*/l/returns/status/"),
    }


@needs_chromium
@pytest.mark.parametrize("locale", ["en", "th"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_demo_walk_in_a_browser(demo: Demo, locale: str, width: int):
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    folder = artifacts("demo-walk")
    pages = _pages(demo)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": width, "height": 900}, locale="th-TH" if locale == "th" else "en-US"
            )
            for name, url in pages.items():
                page = context.new_page()
                watch = Watch()
                watch.attach(page, demo.base)
                shopper = name != "admin-home"
                target = f"{url}{'&' if '?' in url else '?'}locale={locale}" if shopper else url
                response = page.goto(target, wait_until="load")
                assert response is not None and response.status == 200, f"{name}: {response and response.status}"
                page.screenshot(path=str(folder / f"{name}-{locale}-{width}.png"), full_page=True)
                assert watch.failures == [], f"{name} ({locale}, {width}px): {watch.failures}"
                if shopper:
                    assert page.locator("html").get_attribute("lang") == locale
                    # Every picture shown has loaded, and nothing is wider than the screen.
                    broken = page.eval_on_selector_all(
                        "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
                    )
                    assert broken == [], f"{name}: pictures that did not load: {broken}"
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, f"{name} is {overflow}px wider than a {width}px screen"
                if name == "returns-portal":
                    assert page.locator("span.ac-thumb").count() == 0  # no empty picture boxes
                    assert page.locator("img.ac-thumb").count() >= 1
                    assert "Default Title" not in page.content()
                    if locale == "th":
                        assert "Member" not in page.inner_text(".ac-returns")
                page.close()
        finally:
            browser.close()
