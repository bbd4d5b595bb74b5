"""Headless Chromium for the tests that open a page: finding it (or skipping), a free
loopback port, and waiting for a local server to answer."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def browser_or_skip() -> tuple[str, str]:
    """The paths of Chromium and chromedriver; skip without them, or fail when
    ``OPTVOL_REQUIRE_BROWSER=1`` (CI sets it once it has installed them)."""
    chromium = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path
        )
        reason = f"{missing} not found: the browser test needs them"
        if os.environ.get("OPTVOL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (OPTVOL_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    return chromium, driver


@contextlib.contextmanager
def headless_chromium(width: int = 1400, height: int = 1800) -> Iterator:
    """A selenium driver of headless Chromium, quit on exit."""
    chromium, driver_path = browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--disable-dev-shm-usage", f"--window-size={width},{height}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str, body: str | None = None) -> bool:
    """Whether ``url`` answers 200 (with exactly ``body``, when given)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return body is None or response.read().decode().strip() == body
    except (urllib.error.URLError, OSError):
        return False


def screenshot_folder(tmp_path) -> os.PathLike:
    """Where screenshots go: ``$OPTVOL_SCREENSHOT_DIR`` when set (CI shows them), else the
    test's temporary directory."""
    folder = Path(os.environ.get("OPTVOL_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
