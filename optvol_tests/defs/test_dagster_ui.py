"""The Dagster UI and daemon for real: ``dagster dev -w workspace.yaml`` (what ``make ui``
runs) on a free loopback port, over a data root of small inputs.

With nobody clicking, the daemon's sensors ingest the market file and a chain file of
``raw/options/``, then clean both. A broken file dropped into ``raw/options/`` then makes
an ingest fail, which leaves a line in ``alerts/alerts.jsonl`` and a message on a local
webhook; while that ingest retries, headless Chromium opens the asset graph and every
asset of both groups is on the page (a screenshot is saved).

Marked ``dagster_ui``: ``pytest -m dagster_ui`` runs it alone, ``-m 'not dagster_ui'``
skips it. Skipped without Chromium unless ``OPTVOL_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from optvol.core.monitoring.input_watch import WatchCursor
from optvol.defs.automation.jobs import planned_assets
from optvol.defs.automation.sensors import new_input_files_sensor
from optvol.defs.shared.settings import Settings
from optvol_tests.browser import (
    PNG_SIGNATURE,
    answers,
    browser_or_skip,
    free_port,
    headless_chromium,
    screenshot_folder,
)
from optvol_tests.builders import dated_back, small_chain, write_market, write_optionsdx
from optvol_tests.webhook import local_webhook

pytestmark = pytest.mark.dagster_ui

REPO = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")
ASSETS = {
    "options": ["raw_option_quotes", "option_quotes", "gru_model", "option_evaluation",
                "option_report"],
    "volatility": ["raw_market", "market_features", "volatility_model",
                   "volatility_evaluation", "volatility_report"],
}  # fmt: skip
CHECKED = ("raw_option_quotes", "option_quotes", "raw_market", "market_features")
START_TIMEOUT = 180  # seconds for the webserver to answer
AUTOMATION_TIMEOUT = 300  # seconds for sensor-launched runs on a busy 2-core machine


@pytest.fixture
def dagster_dev(tmp_path: Path):
    """``dagster dev`` over a fresh data root and instance; yields (url, root, home, hook)."""
    browser_or_skip()  # nothing is started when the test would be skipped
    root = tmp_path / "data"
    dated_back(write_market(root / "raw" / "raw_market.csv"))
    dated_back(write_optionsdx(root / "raw" / "options" / "spy_eod_202001.txt", small_chain()))
    home = root / "dagster_home"
    home.mkdir()
    # The project's instance settings, without Dagster's community dialog on a first
    # visit (it opens a few seconds late, over the graph the test reads), and with the
    # queue of sensor runs (one at a time) looked at every second, not every 5 s.
    instance = yaml.safe_load((REPO / "dagster.yaml").read_text())
    instance["nux"] = {"enabled": False}
    instance["run_queue"]["dequeue_interval_seconds"] = 1
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    port = free_port()
    log_path = tmp_path / "dagster_dev.log"
    with local_webhook() as hook:
        env = {
            **os.environ,
            "OPTVOL_DATA_DIR": str(root),
            "DAGSTER_HOME": str(home),
            "OPTVOL_SENSOR_INTERVAL_SECONDS": "2",
            "OPTVOL_ALERT_WEBHOOK": hook.url,
            # no evening download may reach for the internet (or alert) during the test
            "OPTVOL_SCHEDULED_DOWNLOADS": "0",
        }
        command = [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT
            while not answers(f"{url}/server_info"):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"dagster dev did not start:\n{log_path.read_text()[-5000:]}")
                time.sleep(1)
            yield url, root, home, hook
        finally:
            _stop(server)


def _stop(server: subprocess.Popen) -> None:
    """Interrupt dagster dev like Ctrl-C, then kill whatever of its process group is left
    (its webserver and code servers otherwise linger until their heartbeats time out)."""
    with_group = os.getpgid(server.pid)
    os.killpg(with_group, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(with_group, signal.SIGKILL)
    server.wait()


def _wait_for(what: str, condition, timeout: float = AUTOMATION_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _show_asset_graph(driver, url: str) -> None:
    """Open the global asset graph with both groups expanded, and wait until every asset
    and the check links of the four tables are drawn (a loaded machine draws slowly)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        driver, 90, poll_frequency=0.5, ignored_exceptions=(StaleElementReferenceException,)
    )
    driver.get(f"{url}/asset-groups")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '[aria-label="unfold_more"]'))

    def expand_all_in_menu(d):
        """The graph's settings menu (its last gear) has "Expand all groups": opened
        until it shows, as a gear drawn before the page settles may not open it."""
        if item := d.find_elements(By.XPATH, "//*[text()='Expand all groups']"):
            return item
        gear = d.find_elements(By.CSS_SELECTOR, '[aria-label="settings"]')[-1:]
        if gear:
            d.execute_script("arguments[0].parentElement.click()", gear[0])
        return False

    wait.until(expand_all_in_menu)[0].click()
    names = [name for group in ASSETS.values() for name in group]
    wait.until(lambda d: all(name in d.page_source for name in names))
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    checks = [f"/assets/{name}?view=checks" for name in CHECKED]
    wait.until(lambda d: all(link in d.page_source for link in checks))
    assert "Join the Dagster community" not in driver.find_element(By.TAG_NAME, "body").text


def _materialized(instance: dg.DagsterInstance, *assets: str) -> bool:
    return all(instance.get_latest_materialization_event(dg.AssetKey(a)) for a in assets)


def _alerts(root: Path) -> list[dict]:
    path = root / "alerts" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_ui_shows_both_groups_and_the_daemon_ingests_cleans_and_alerts(
    dagster_dev, tmp_path: Path
):
    url, root, home, hook = dagster_dev

    # Nobody clicks: the file sensor ingests the market and chain files it finds; the
    # clean_after_ingest automation sensor then cleans both (the quotes' one month among
    # the hundreds of empty ones since 1973).
    instance = dg.DagsterInstance.from_config(str(home))
    _wait_for(
        "option_quotes and market_features",
        lambda: _materialized(instance, "option_quotes", "market_features"),
    )
    runs = {run.job_name: run for run in instance.get_runs()}
    assert {"ingest_options", "ingest_market"} <= set(runs)
    assert runs["ingest_options"].tags["dagster/sensor_name"] == "new_input_files"
    cleans = [
        run for run in instance.get_runs()
        if run.tags.get("dagster/sensor_name") == "clean_after_ingest"
    ]  # fmt: skip
    cleaned = set().union(*(planned_assets(instance, run.run_id) for run in cleans))
    assert cleaned == {"option_quotes", "market_features"}
    assert {run.tags.get("dagster/partition") for run in cleans} <= {"2020-01", None}

    # A broken chain file: the ingest fails after its retries, and the team hears of it.
    broken = root / "raw" / "options" / "spy_eod_202002.txt"
    broken.write_text("this is not,an option chain\n1,2\n")
    dated_back(broken)

    # Meanwhile, the graph after the first runs: both groups, their lineage, the checks.
    # Wide enough that the fitted graph draws full nodes (names, checks), not minimal ones.
    with headless_chromium(width=3000, height=1600) as driver:
        _show_asset_graph(driver, url)
        text = driver.find_element("tag name", "body").text
        assert "options" in text and "volatility" in text
        for asset in CHECKED:
            assert f"/assets/{asset}?view=checks" in driver.page_source  # checks on the node
        screenshot = screenshot_folder(tmp_path) / "dagster_asset_graph.png"
        assert driver.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == PNG_SIGNATURE
    assert screenshot.stat().st_size > 10_000

    (alert,) = _wait_for("an alert line", lambda: _alerts(root))
    assert alert["job"] == "ingest_options"
    assert alert["assets"] == ["raw_option_quotes"]
    assert "spy_eod_202002.txt" in alert["error"]
    (message,) = hook.wait_for(1, timeout=30)
    assert alert["run_id"] in message["text"]
    assert message["alert"] == alert

    # The file sensor's cursor lives in the instance's SQLite files, so a restarted daemon
    # starts from it: evaluated with the stored cursor, the sensor requests nothing more.
    (state,) = [
        s for s in instance.all_instigator_state() if s.instigator_name == "new_input_files"
    ]
    stored = WatchCursor.from_json(state.instigator_data.cursor)
    assert set(stored.state["raw_option_quotes"]) == {"spy_eod_202001.txt", "spy_eod_202002.txt"}
    context = dg.build_sensor_context(
        instance=instance,
        cursor=state.instigator_data.cursor,
        resources={"settings": Settings(data_dir=str(root))},
    )
    sensor = new_input_files_sensor(Settings(data_dir=str(root)))
    assert sensor.evaluate_tick(context).run_requests == []

    # Training stays manual by default: no run so much as planned a model.
    planned = set().union(*(planned_assets(instance, r.run_id) for r in instance.get_runs()))
    assert planned == {"raw_option_quotes", "raw_market", "option_quotes", "market_features"}
