"""The web page in a real browser: Debian's headless Chromium, driven by Selenium through /usr/bin/chromedriver.

Nothing is downloaded: `apt-get install -y chromium chromium-driver` provides both (.ci/run does it).
The slow test, on the real RFT and SFT adapters, takes the README's screenshots: into docs/img/ when
UNITLM_SCREENSHOTS=1 is set (`UNITLM_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_browser.py -m slow`),
else into the test's temporary folder, so a test run leaves the tree as it was.
"""

import math
import os
from pathlib import Path

import pytest

from test_serve import WAIT, start_server, tiny_flags
from unitlm import units
from unitlm.base_llm import parse_answer

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
DOCS_IMAGES = Path(__file__).parents[1] / "docs" / "img"
DESKTOP, PHONE = (1280, 800), (390, 844)


@pytest.fixture()
def browser(tmp_path, monkeypatch):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium and chromium-driver; .ci/run installs them")
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for a browser or driver online
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    viewport(driver, *DESKTOP)
    yield driver
    driver.quit()


def viewport(driver, width: int, height: int):
    """The page's CSS viewport, exactly; a phone width also gets a phone's layout rules."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def wait_for(driver, condition, what: str, seconds: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: condition(d), f"waited for {what}")


def by_id(driver, name: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, name)


def ask_on_page(driver, question: str, method: str | None = None, reasoning: bool = False) -> dict:
    """Type a question, press Ask, and wait for the page to show a reply or an error."""
    from selenium.webdriver.support.ui import Select

    before = driver.execute_script("return document.getElementById('history').tBodies[0].rows.length")
    box = by_id(driver, "question")
    box.clear()
    box.send_keys(question)
    if method:
        Select(by_id(driver, "method")).select_by_value(method)
    if by_id(driver, "reasoning").is_selected() != reasoning:
        by_id(driver, "reasoning").click()
    by_id(driver, "ask").click()
    wait_for(driver, lambda d: by_id(d, "error").text or d.execute_script(
        "return document.getElementById('history').tBodies[0].rows.length") > before, "a reply or an error")
    return {name: by_id(driver, name).text for name in ("answer", "unit", "meta", "text", "error")}


def open_page(driver, url: str):
    driver.get(url)
    # Models load one after another; on a crowded machine the last may take minutes.
    wait_for(driver, lambda d: by_id(d, "status").text == "ready", "every model to be ready", 5 * WAIT)


def shown_number(text: str) -> float:
    return float(text.replace(",", ""))


def test_page_asks_shows_the_answer_and_refuses_an_empty_question(browser, tiny_model_dir, tmp_path):
    import httpx

    process, url = start_server(*tiny_flags(tiny_model_dir), backend="torch")
    try:
        open_page(browser, url)
        question = "How many feet are in 3.5 miles?"
        shown = ask_on_page(browser, question, method="sft")
        api = httpx.post(url + "/v1/answer", json={"questions": [question], "method": "sft"}, timeout=WAIT).json()
        expected = api["answers"][0]
        assert shown["error"] == ""
        if expected["answer"] is None:  # the untrained tiny model may write no number: the page says so
            assert shown["answer"] == "no answer"
            assert by_id(browser, "text").is_displayed() and shown["text"] == expected["text"].strip()
        else:
            assert math.isclose(shown_number(shown["answer"]), expected["answer"], rel_tol=1e-5)
            assert shown["unit"] == "feet"
        assert shown["meta"].startswith("sft · ")
        rows = browser.execute_script("return document.getElementById('history').tBodies[0].rows.length")
        assert rows == 1

        refused = ask_on_page(browser, "   ")
        assert refused["error"] == "question 1 is empty"
        rows = browser.execute_script("return document.getElementById('history').tBodies[0].rows.length")
        assert rows == 1, "a refused question does not enter the history"

        browser.save_screenshot(str(tmp_path / "desktop.png"))
        viewport(browser, *PHONE)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"
        browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        process.terminate()
        process.communicate(timeout=WAIT)
    assert process.returncode == 0


@pytest.mark.slow
def test_page_on_the_real_adapters_starts_on_rft_and_screenshots(browser, tmp_path):
    process, url = start_server("--methods", "rft,sft")
    try:
        open_page(browser, url)
        assert by_id(browser, "method").get_attribute("value") == "rft"  # the page starts on the server's default
        for question, method, reasoning, expected in [
                ("Express 4 centuries as a quantity of week.", None, False, units.convert(4, "century", "week")),
                ("What is 4 GB in megabytes?", "sft", False, units.convert(4, "gigabyte", "megabyte")),
                ("How many feet are in 3.5 miles?", "rft", True, units.convert(3.5, "mile", "foot"))]:
            shown = ask_on_page(browser, question, method=method, reasoning=reasoning)
            assert shown["error"] == "", question
            assert math.isclose(shown_number(shown["answer"]), expected, rel_tol=0.05), (question, shown)
        assert shown["unit"] == "feet"
        assert "<answer>" in shown["text"]
        assert math.isclose(parse_answer(shown["text"]), shown_number(shown["answer"]), rel_tol=1e-3)  # the text's own
        images = DOCS_IMAGES if os.environ.get("UNITLM_SCREENSHOTS") == "1" else tmp_path
        images.mkdir(parents=True, exist_ok=True)
        for name, size in (("serve-desktop.png", DESKTOP), ("serve-phone.png", PHONE)):
            viewport(browser, *size)
            browser.save_screenshot(str(images / name))
            assert (images / name).stat().st_size > 10_000  # a page, not an empty frame
    finally:
        process.terminate()
        process.communicate(timeout=WAIT)
    assert process.returncode == 0
