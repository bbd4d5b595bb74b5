"""Failed-run alerts: a line in <data root>/alerts/alerts.jsonl and, when configured, a
Slack-compatible webhook message for each failed run of the instance."""

import datetime as dt

import dagster as dg

from optvol.core.common.paths import ALERTS_FILE
from optvol.core.monitoring.alerts import (
    FailedRunAlert,
    StepFailure,
    append_alert,
    post_json,
    slack_message,
)
from optvol.defs.automation.jobs import planned_assets
from optvol.defs.shared.settings import Settings

# Errors Dagster wraps around the one raised by the asset's code.
_WRAPPER_ERRORS = ("DagsterExecutionStepExecutionError", "RetryRequestedFromPolicy")


def _error_text(error: object) -> str:
    """The message of the error the asset raised, without Dagster's wrappers and module
    paths: ``ValueError: ...``, or a ``Failure``'s description alone."""
    while getattr(error, "cls_name", None) in _WRAPPER_ERRORS and error.cause is not None:
        error = error.cause
    message = str(getattr(error, "message", "") or "").strip()
    head, sep, rest = message.partition(": ")
    if not sep or " " in head:
        return message
    name = head.rsplit(".", 1)[-1]
    return rest if name == "Failure" else f"{name}: {rest}"


def failed_run_alert(context: dg.RunFailureSensorContext) -> FailedRunAlert:
    """The alert of a failed run: its job, assets, failed steps, first error and end time."""
    run = context.dagster_run
    steps = [
        StepFailure(
            step=event.step_key or "",
            error=_error_text(getattr(event.event_specific_data, "error", None)),
        )
        for event in context.get_step_failure_events()
    ]
    record = context.instance.get_run_record_by_id(run.run_id)
    ended = (
        record.end_time
        if record and record.end_time
        else dt.datetime.now(dt.timezone.utc).timestamp()
    )
    return FailedRunAlert(
        time=dt.datetime.fromtimestamp(ended, dt.timezone.utc).isoformat(timespec="seconds"),
        run_id=run.run_id,
        job=run.job_name,
        assets=sorted(planned_assets(context.instance, run.run_id)),
        error=next((s.error for s in steps if s.error), None)
        or context.failure_event.message
        or "run failed",
        failed_steps=steps,
    )


def alert_on_run_failure(context: dg.RunFailureSensorContext, settings: Settings) -> None:
    """Record each failed run of this Dagster instance in <data root>/alerts/alerts.jsonl
    (job, assets, failed steps, error, run id, time) and, when OPTVOL_ALERT_WEBHOOK is set,
    POST a Slack-compatible message there (5 s timeout). A webhook that is down or refuses
    is logged as a warning, an alert file that cannot be written as an error; either way
    the other channel is tried and the sensor carries on. Runs of every job are watched,
    including those started by `dagster asset materialize`, from the sensor's first tick
    on; delivery is at least once (a tick cut short is evaluated again).
    """
    alert = failed_run_alert(context)
    path = settings.data_path / ALERTS_FILE
    try:
        append_alert(path, alert)
        context.log.info("Run %s (%s) failed; alert recorded in %s", alert.run_id, alert.job, path)
    except OSError as err:  # a full or read-only disk must not silence the webhook too
        context.log.error("Alert for run %s not recorded in %s: %s", alert.run_id, path, err)
    url = settings.webhook_url
    if url:
        problem = post_json(url, slack_message(alert))
        if problem:
            context.log.warning("Alert for run %s not delivered: %s", alert.run_id, problem)


def alert_sensor(settings: Settings) -> dg.SensorDefinition:
    """The run-failure sensor that calls :func:`alert_on_run_failure`, looking every
    ``settings.sensor_interval_seconds``."""
    return dg.run_failure_sensor(
        name="alert_on_run_failure",
        monitor_all_code_locations=True,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=alert_on_run_failure.__doc__.split("\n\n")[0],
    )(alert_on_run_failure)
