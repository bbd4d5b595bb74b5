"""When tables and models rebuild themselves: the clean tables after each ingest, the
models (under a switch) after their clean table changed; never past a failed blocking
check.

Both plans keep a person in charge of training (the SPY plan keeps it manual, the SPX
plan triggers it by events), so the model conditions only act while the
``retrain_when_features_change`` sensor of :mod:`optvol.defs.automation.sensors` is
running, and it is off by default. Cleaning is not training: its sensor,
``clean_after_ingest``, runs by default.
"""

import dagster as dg

Condition = dg.AutomationCondition

# The latest result of a blocking check of an upstream table is a failure (a check of a
# month-partitioned table covers the months of its run); a table never materialized has none.
UPSTREAM_BLOCKING_CHECK_FAILED = Condition.any_deps_match(
    Condition.any_checks_match(Condition.check_failed(), blocking_only=True)
).with_label("an upstream blocking check failed")

# eager() cleans a month when its staged month changed, any month rather than the month
# in progress alone (in_latest_time_window), since a corrected file re-ingests old months
# too. An ingest by a run that also planned the clean (`--select '*'`) is no trigger: eager
# waits while that run is in progress and leaves its clean to it, even when that clean
# fails (cleaning is deterministic, so it would fail again on the same data; the failure
# alert reports it). A clean requested here counts as handled, failed or not, so each
# ingest gets one clean, and the next ingest of the month tries again.
CLEAN_AFTER_INGEST = (
    Condition.eager().without(Condition.in_latest_time_window()) & ~UPSTREAM_BLOCKING_CHECK_FAILED
).with_label("clean what each ingest wrote (each month of it), unless a blocking check failed")

# eager() waits until no dependency partition is missing; the models read the quote months
# there are, and the months the data does not hold are never filled.
RETRAIN_WHEN_FEATURES_CHANGE = (
    Condition.eager().without(~Condition.any_deps_missing()) & ~UPSTREAM_BLOCKING_CHECK_FAILED
).with_label("retrain when an upstream table changed and its blocking checks passed")
