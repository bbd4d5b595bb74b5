"""What several runs do first on a new Dagster instance, for a test to start at once in
processes of their own: open it, read its runs and its schedules' state."""

from __future__ import annotations

import os

import dagster as dg


def open_new_instance(home: str, start) -> None:
    """Wait at the barrier ``start`` until every process is ready, then open the instance
    in ``home`` and read runs and schedules, as a run does first."""
    os.environ["DAGSTER_HOME"] = home
    start.wait(timeout=60)
    instance = dg.DagsterInstance.get()
    instance.get_runs(limit=1)
    instance.all_instigator_state()
