"""The dashboard in a real browser: ``streamlit run`` on a served data root, driven by
headless Chromium through selenium; Predict shows the predictor's price, and a
screenshot of it is saved (to ``$OPTVOL_SCREENSHOT_DIR`` when set).

Skipped when Chromium or chromedriver is missing, unless ``OPTVOL_REQUIRE_BROWSER=1``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import optvol.serve.dashboard
from optvol.core.options.prediction import ContractRequest
from optvol_tests.browser import (
    PNG_SIGNATURE,
    answers,
    free_port,
    headless_chromium,
    screenshot_folder,
)
from optvol_tests.serve.test_dashboard import default_contract

DASHBOARD = Path(optvol.serve.dashboard.__file__)
START_TIMEOUT = 60  # seconds for the server to answer its health check
PAGE_TIMEOUT = 90  # seconds for the page, its models and a prediction to show


@pytest.fixture
def dashboard_url(browser, request: pytest.FixtureRequest, tmp_path: Path):
    """The URL of ``streamlit run`` serving the dashboard over ``served_root`` (built
    only once the browser is known to be there: a skip costs nothing)."""
    served_root = request.getfixturevalue("served_root")
    port = free_port()
    log_path = tmp_path / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(DASHBOARD),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--", "--data-dir", str(served_root),
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = f"http://127.0.0.1:{port}/_stcore/health"
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(health, "ok"):
            if server.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {server.returncode}" if server.poll() is not None else (
                    f"no health answer in {START_TIMEOUT} s"
                )  # fmt: skip
                pytest.fail(f"streamlit {state}:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def browser():
    """Headless Chromium under selenium, quit after the test."""
    with headless_chromium() as driver:
        yield driver


def _button(driver, text: str):
    """The visible button whose text is ``text``, or None."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.TAG_NAME, "button"):
        if button.text.strip() == text and button.is_displayed() and button.is_enabled():
            return button
    return None


def _metrics(driver) -> dict[str, str]:
    """Streamlit's metrics on the page: label -> value."""
    from selenium.webdriver.common.by import By

    shown = {}
    for metric in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        label = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]')
        value = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')
        shown[label.text.strip()] = value.text.strip()
    return shown


def _images_loaded(driver) -> bool:
    return driver.execute_script(
        "const images = Array.from(document.images);"
        "return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);"
    )


def test_the_dashboard_predicts_in_a_browser(
    browser, dashboard_url, request: pytest.FixtureRequest, tmp_path: Path
):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        browser, PAGE_TIMEOUT, poll_frequency=0.25,
        ignored_exceptions=(StaleElementReferenceException,),
    )  # fmt: skip
    browser.get(dashboard_url)
    predict = wait.until(lambda driver: _button(driver, "Predict"))
    assert "GRU price" not in _metrics(browser)
    predict.click()

    def prediction_shown(driver):
        errors = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        if errors:
            pytest.fail(f"the dashboard raised: {errors[0].text}")
        shown = _metrics(driver)
        price = shown.get("GRU price", "")
        return shown if price.startswith("$") and shown.get("Model version") else None

    shown = wait.until(prediction_shown)
    served_models = request.getfixturevalue("served_models")
    expected = served_models.options.predict(
        [ContractRequest(**default_contract(served_models.options))]
    )[0]
    assert shown["GRU price"] == f"${expected.gru:,.4f}"
    assert shown["GRU delta"] == f"{expected.delta:+.4f}"
    assert shown["Realized mid"] == f"${expected.realized_mid:,.4f}"
    assert shown["Model version"] == served_models.status["options"].version
    # The price table beside the evaluation's metrics table, and every image drawn.
    wait.until(
        lambda driver: (
            len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')) >= 2
        )
    )
    wait.until(_images_loaded)
    assert "Evaluation" in browser.find_element(By.TAG_NAME, "body").text

    screenshot = screenshot_folder(tmp_path) / "dashboard_prediction.png"
    browser.execute_script("window.scrollTo(0, 0);")
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == PNG_SIGNATURE
    assert screenshot.stat().st_size > 10_000
