"""When the models and their evaluations may rebuild themselves.

Both plans keep a person in charge of training (the SPY plan keeps it manual, the SPX
plan triggers it by events), so these conditions only act while the
``retrain_when_features_change`` sensor of :mod:`optvol.automation` is running, and it is
off by default.
"""

import dagster as dg

RETRAIN_WHEN_FEATURES_CHANGE = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("retrain when an upstream table changed and its blocking checks passed")
