"""Failed-run alert lines and webhook messages (optvol.core.monitoring.alerts)."""

from __future__ import annotations

import json
import multiprocessing
import socket

from optvol.core.monitoring.alerts import (
    FailedRunAlert,
    StepFailure,
    append_alert,
    post_json,
    slack_message,
)
from optvol_tests.webhook import local_webhook

ALERT = FailedRunAlert(
    time="2026-11-23T21:00:00+00:00",
    run_id="abc123",
    job="ingest_options",
    assets=["raw_option_quotes"],
    error="ingest failed after 3 retries: no input files in /data/raw/options",
    failed_steps=[StepFailure("raw_option_quotes", "no input files in /data/raw/options")],
)


def test_alerts_are_appended_one_json_line_each(tmp_path):
    path = tmp_path / "alerts" / "alerts.jsonl"
    append_alert(path, ALERT)
    second = FailedRunAlert(**{**vars(ALERT), "run_id": "def456"})
    append_alert(path, second)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["run_id"] for line in lines] == ["abc123", "def456"]
    assert lines[0] == {
        "time": "2026-11-23T21:00:00+00:00",
        "run_id": "abc123",
        "job": "ingest_options",
        "assets": ["raw_option_quotes"],
        "error": "ingest failed after 3 retries: no input files in /data/raw/options",
        "failed_steps": [
            {"step": "raw_option_quotes", "error": "no input files in /data/raw/options"}
        ],
    }


def _append_many(path, count: int) -> None:
    big = FailedRunAlert(**{**vars(ALERT), "error": "x" * 20000})  # beyond io buffers
    for _ in range(count):
        append_alert(path, big)


def test_writers_in_separate_processes_do_not_interleave_lines(tmp_path):
    path = tmp_path / "alerts.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(path, 25)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 100 and all(json.loads(line)["error"] == "x" * 20000 for line in lines)


def test_the_slack_message_names_job_assets_run_and_error():
    message = slack_message(ALERT)
    assert message["username"] == "optvol"
    for part in ("ingest_options", "raw_option_quotes", "abc123", "no input files"):
        assert part in message["text"]
    assert message["alert"]["run_id"] == "abc123"
    long = slack_message(FailedRunAlert(**{**vars(ALERT), "error": "e" * 5000}))
    assert len(long["text"]) < 2000 and long["alert"]["error"] == "e" * 5000


def test_post_json_delivers_to_a_live_webhook():
    with local_webhook() as hook:
        assert post_json(hook.url, {"text": "hello"}) is None
        assert hook.received == [{"text": "hello"}]


def test_post_json_reports_instead_of_raising():
    with local_webhook(status=500) as hook:
        assert post_json(hook.url, {"text": "x"}) == "webhook answered HTTP 500"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    assert post_json(dead, {"text": "x"}).startswith("webhook not reachable")
    assert post_json("not a url", {"text": "x"}) == "webhook URL is not http(s)"
    assert "secret" not in post_json("file:///secret/token", {"text": "x"})
    with local_webhook(delay=2.0) as slow:
        assert "timed out" in post_json(slow.url, {"text": "x"}, timeout=0.3)
