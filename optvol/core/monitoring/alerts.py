"""Failed-run alerts: one JSON line per failure in ``<data root>/alerts/alerts.jsonl``, and
an optional Slack-compatible webhook message.

The line is written first, so a failure is on record even when the webhook is down; the
webhook gets one POST with a timeout, and its failure is returned, never raised.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

WEBHOOK_ENV = "OPTVOL_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_SECONDS = 5.0
# Slack truncates long messages; the whole error stays in the JSON line.
MAX_MESSAGE_ERROR_CHARS = 1500


@dataclass(frozen=True)
class StepFailure:
    """One failed step of a run and the error it raised."""

    step: str
    error: str


@dataclass(frozen=True)
class FailedRunAlert:
    """What a team member needs to know about a failed run."""

    time: str  # ISO 8601, UTC
    run_id: str
    job: str
    assets: list[str]
    error: str
    failed_steps: list[StepFailure] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def append_alert(path: Path, alert: FailedRunAlert) -> None:
    """Append ``alert`` as one line to ``path`` (created with its directory if missing).

    The line goes out in a single ``write`` on a descriptor opened with ``O_APPEND``, so
    lines from concurrent writers land whole, one after another (a buffered file object
    would split a long line into several writes), and earlier lines are never rewritten.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (alert.to_json() + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):  # only on a full disk or a signal: say so, do not hide it
            raise OSError(f"alert line cut short: {written} of {len(line)} bytes written")
        os.fsync(fd)
    finally:
        os.close(fd)


def slack_message(alert: FailedRunAlert) -> dict:
    """A Slack incoming-webhook payload (``text`` with mrkdwn), also readable by Mattermost,
    Teams' Slack-compatible connectors and plain JSON receivers."""
    error = alert.error
    if len(error) > MAX_MESSAGE_ERROR_CHARS:
        error = error[:MAX_MESSAGE_ERROR_CHARS] + " …"
    assets = ", ".join(alert.assets) or "(no assets)"
    steps = ", ".join(step.step for step in alert.failed_steps) or "(none recorded)"
    text = (
        f":rotating_light: optvol run failed: *{alert.job}*\n"
        f"*assets:* {assets}\n*failed steps:* {steps}\n"
        f"*run:* `{alert.run_id}` at {alert.time}\n*error:* ```{error}```"
    )
    return {"text": text, "username": "optvol", "alert": asdict(alert)}


def post_json(url: str, payload: dict, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> str | None:
    """POST ``payload`` as JSON to ``url``; ``None`` on a 2xx answer, else what went wrong.

    Only http(s) URLs are used (``urlopen`` would also read ``file:`` URLs).
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return "webhook URL is not http(s)"  # the URL itself is a secret: not logged
    try:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return None
    except urllib.error.HTTPError as err:
        return f"webhook answered HTTP {err.code}"
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return f"webhook not reachable: {reason}"
