"""The gateway's web page (services/gateway/web) in a real headless Chromium (Debian's chromium
driven by chromium-driver through python3-selenium): create a user and a product, place an
order and see CONFIRMED arrive live over the WebSocket (PENDING, RESERVED, PAID, CONFIRMED),
list the orders, cancel one, and chat with support. Saves a screenshot (second argument).
Skipped when chromium or its driver is missing.
Usage: gateway_browser_test.py PATH/TO/percore-server SCREENSHOT.png"""

import os
import shutil
import sys
import tempfile
import unittest

from gateway_support import start

SERVER = None
SCREENSHOT = None


class BrowserTest(unittest.TestCase):
    def setUp(self):
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service as DriverService
        except ImportError:
            self.skipTest("python3-selenium missing")
        driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        if not os.path.exists(driver) or not shutil.which("chromium"):
            self.skipTest("chromium or chromium-driver missing")
        self.server, self.base, _ = start(SERVER, "--shards", "2")
        self.profile = tempfile.TemporaryDirectory(prefix="percore-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=480,1800",
                     "--user-data-dir=" + self.profile.name):
            options.add_argument(flag)
        try:
            self.browser = webdriver.Chrome(service=DriverService(driver), options=options)
        except Exception:
            self.server.stop()
            raise

    def tearDown(self):
        self.browser.quit()
        self.profile.cleanup()
        self.assertEqual(self.server.stop(), 0, self.server.stderr_text())

    def wait_text(self, element_id, predicate, what):
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.browser, 15).until(
            lambda b: predicate(b.find_element("id", element_id).text),
            "%s; page error: %r" % (what, self.browser.find_element("id", "error").text))

    def test_place_order_and_see_it_confirmed_live(self):
        b = self.browser
        b.get(self.base + "/")
        self.assertEqual(b.title, "percore shop")
        b.find_element("id", "create-user").click()
        self.wait_text("user-out", lambda t: t.startswith("User "), "user created")
        b.find_element("id", "create-product").click()
        self.wait_text("product-out", lambda t: "available" in t, "product created")
        b.find_element("id", "place-order").click()
        self.wait_text("order-status", lambda t: t == "CONFIRMED", "order confirmed live")
        events = [e.text.split(" ")[0] for e in b.find_elements("css selector", "#order-events li")]
        self.assertEqual(events, ["PENDING", "RESERVED", "PAID", "CONFIRMED"])
        self.wait_text("orders", lambda t: "CONFIRMED" in t, "order listed")
        b.find_element("css selector", "#orders button.cancel").click()
        self.wait_text("order-status", lambda t: t == "CANCELLED", "cancel seen live")
        self.wait_text("orders", lambda t: "CANCELLED" in t, "cancel listed")
        b.find_element("id", "chat-text").send_keys("help")
        b.find_element("id", "chat-send").click()
        self.wait_text("chat-log", lambda t: "support:" in t, "chat answered")
        self.assertEqual(b.find_element("id", "error").text, "")
        if SCREENSHOT:
            b.save_screenshot(SCREENSHOT)
            self.assertGreater(os.path.getsize(SCREENSHOT), 1000)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    SCREENSHOT = sys.argv.pop(1) if len(sys.argv) > 1 else None
    unittest.main(verbosity=2)
