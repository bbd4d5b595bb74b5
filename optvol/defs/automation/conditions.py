"""When the models and their evaluations may rebuild themselves.

Both plans keep a person in charge of training (the SPY plan keeps it manual, the SPX
plan triggers it by events), so these conditions only act while the
``retrain_when_features_change`` sensor of :mod:`optvol.defs.automation.sensors` is
running, and it is off by default.
"""

import dagster as dg

Condition = dg.AutomationCondition

# eager() waits until no dependency partition is missing; the models read the quote months
# there are, and the months before the data starts or after it ends are never filled.
# Likewise a blocking check must not have failed on any month there is, while a month that
# was never materialized has no check to pass.
RETRAIN_WHEN_FEATURES_CHANGE = (
    Condition.eager().without(~Condition.any_deps_missing())
    & ~Condition.any_deps_match(
        Condition.any_checks_match(Condition.check_failed(), blocking_only=True)
    )
).with_label("retrain when an upstream table changed and its blocking checks passed")
