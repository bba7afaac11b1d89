#!/usr/bin/env python3
"""Drives the web page (/ui) in headless Chromium through Selenium, against a running server.

  browser_test.py --base http://127.0.0.1:PORT --token TOKEN --out DIR [--small-base URL]

Cases, each at desktop and phone width:
  1. a small PNG with the right token: progress moves, the result and its dimensions appear, the download is the
     right size and format;
  2. a wrong token: the page says the token was not accepted;
  3. a file over the server's size limit (served by --small-base, a server started with a 1 MiB limit): refused
     on the page, and no upload request is made.
Every request the page makes must go to the server itself. Screenshots go to DIR. Exits non-zero on the first
failure, with the reason.
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def browser(download_dir, width, height):
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False})
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(path):
            options.binary_location = path
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    # Headless windows have a minimum width; emulate the device size instead, as a phone would report it.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.viewport = (width, height)
    return driver


def screenshot(driver, path):
    """The whole page, not just the first screen: the results are below the options."""
    width, height = driver.viewport
    full = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": max(height, full), "deviceScaleFactor": 1, "mobile": width < 600})
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def requested_urls(driver):
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            urls.append((request.get("method"), request["url"]))
    return urls


def check_hosts(urls, base):
    allowed = urlparse(base).netloc
    for method, url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob"):
            continue
        if parsed.netloc != allowed:
            fail(f"the page requested another host: {method} {url}")


def make_png(path, width, height, noise=False):
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height))
        image.putdata([((x * 3) % 256, (y * 4) % 256, ((x + y) * 2) % 256) for y in range(height) for x in range(width)])
    image.save(path)
    return path


def enter_token(driver, token):
    field = driver.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)


def wait_for_options(driver):
    WebDriverWait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#model option")) > 0)


def upscale_case(base, token, out, size_name, fixtures, downloads):
    width, height = SIZES[size_name]
    driver = browser(downloads, width, height)
    try:
        driver.get(base + "/ui")
        wait_for_options(driver)
        screenshot(driver, out / f"{size_name}-1-empty.png")
        enter_token(driver, token)
        driver.execute_script("const m = document.getElementById('model'); m.value = 'realesrgan-x4plus';"
                              "m.dispatchEvent(new Event('change'));")
        driver.find_element(By.ID, "picker").send_keys(str(fixtures / "photo.png"))
        seen, shot = [], False
        deadline = time.time() + 180
        while time.time() < deadline:
            values = driver.execute_script(
                "return [...document.querySelectorAll('li.file progress')].map(p => p.value)")
            if values:
                seen.append(values[0])
                if 0 < values[0] < 1 and not shot:
                    screenshot(driver, out / f"{size_name}-2-progress.png")
                    shot = True
            if driver.find_elements(By.CSS_SELECTOR, "li.file .download"):
                break
            errors = driver.find_elements(By.CSS_SELECTOR, "li.file .message.error")
            if errors:
                fail(f"{size_name}: the page showed an error: {errors[0].text}")
            time.sleep(0.05)
        else:
            fail(f"{size_name}: no result within 180 s; progress seen: {seen[-5:]}")
        if not any(0 < v < 1 for v in seen):
            fail(f"{size_name}: the progress bar never showed a value between 0 and 1: {sorted(set(seen))}")
        stage_texts = driver.execute_script("return document.querySelector('li.file .stage').textContent")
        text = driver.find_element(By.CSS_SELECTOR, "li.file .output-size").text
        if "800 × 600" not in text:
            fail(f"{size_name}: the output dimensions shown are '{text}', expected 800 × 600")
        time.sleep(0.3)
        screenshot(driver, out / f"{size_name}-3-result.png")
        for old in downloads.glob("*"):
            old.unlink()
        driver.find_element(By.CSS_SELECTOR, "li.file .download").click()
        # Chromium may show the final name before the last byte is written: wait until no partial file is left and
        # the file reads as a whole image.
        deadline = time.time() + 20
        files, complete = [], False
        while time.time() < deadline and not complete:
            names = list(downloads.glob("*"))
            files = [f for f in names if not f.name.endswith(".crdownload")]
            if files and len(files) == len(names):
                try:
                    with Image.open(files[0]) as candidate:
                        candidate.load()
                    complete = True
                except (OSError, SyntaxError):
                    pass
            if not complete:
                time.sleep(0.1)
        if not complete:
            fail(f"{size_name}: the download did not arrive whole: {[f.name for f in downloads.glob('*')]}")
        result = Image.open(files[0])
        if result.format != "PNG" or result.size != (800, 600):
            fail(f"{size_name}: downloaded {result.format} {result.size}, expected PNG (800, 600)")
        urls = requested_urls(driver)
        check_hosts(urls, base)
        print(f"{size_name}: result 800x600 PNG, {len(seen)} progress samples, final stage '{stage_texts}', "
              f"{len(urls)} requests, all to {urlparse(base).netloc}")
    finally:
        driver.quit()


def wrong_token_case(base, out, fixtures, downloads):
    driver = browser(downloads, *SIZES["desktop"])
    try:
        driver.get(base + "/ui")
        wait_for_options(driver)
        enter_token(driver, "definitely-not-a-token")
        driver.find_element(By.ID, "picker").send_keys(str(fixtures / "tiny.png"))
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#token-message .message.error"))
        message = driver.find_element(By.CSS_SELECTOR, "#token-message .message.error").text
        if "token was not accepted" not in message:
            fail(f"wrong token: the message is '{message}'")
        screenshot(driver, out / "desktop-4-wrong-token.png")
        check_hosts(requested_urls(driver), base)
        print(f"wrong token: '{message}'")
    finally:
        driver.quit()


def oversize_case(base, token, out, fixtures, downloads):
    driver = browser(downloads, *SIZES["desktop"])
    try:
        driver.get(base + "/ui")
        wait_for_options(driver)
        enter_token(driver, token)
        driver.find_element(By.ID, "picker").send_keys(str(fixtures / "big.png"))
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "li.file .message.error"))
        message = driver.find_element(By.CSS_SELECTOR, "li.file .message.error").text
        if "Not uploaded" not in message:
            fail(f"oversize: the message is '{message}'")
        time.sleep(0.5)
        urls = requested_urls(driver)
        posts = [url for method, url in urls if method == "POST"]
        if posts:
            fail(f"oversize: the page uploaded anyway: {posts}")
        check_hosts(urls, base)
        screenshot(driver, out / "desktop-5-oversize.png")
        print(f"oversize: '{message}', no upload")
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--small-base", required=True, help="a server with a 1 MiB body limit")
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fixtures = out / "fixtures"
    downloads = out / "downloads"
    fixtures.mkdir(exist_ok=True)
    downloads.mkdir(exist_ok=True)
    make_png(fixtures / "photo.png", 200, 150)
    make_png(fixtures / "tiny.png", 16, 12)
    make_png(fixtures / "big.png", 900, 900, noise=True)
    if (fixtures / "big.png").stat().st_size <= 1 << 20:
        fail("the oversize fixture is not over 1 MiB")
    for size_name in SIZES:
        upscale_case(args.base, args.token, out, size_name, fixtures, downloads)
    wrong_token_case(args.base, out, fixtures, downloads)
    oversize_case(args.small_base, args.token, out, fixtures, downloads)
    print("browser test passed; screenshots in " + str(out))


if __name__ == "__main__":
    main()
