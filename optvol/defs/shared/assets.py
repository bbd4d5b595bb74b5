"""What optvol's assets declare alike: their owners and a single-run backfill policy, and
for the model steps (training, evaluation) the retrain condition and the CPU tag.

Every asset has ``BackfillPolicy.single_run()``: a range of months runs as one run (each
input file read once), which is also what lets one command cover the whole graph; see
:mod:`optvol.defs.options.partitions`.
"""

import functools
import warnings

import dagster as dg

from optvol.defs.automation.conditions import CLEAN_AFTER_INGEST, RETRAIN_WHEN_FEATURES_CHANGE
from optvol.defs.shared.executor import CPU_HEAVY

# Single-run backfills are what `--partition-range` needs; Dagster marks the parameter beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message="Parameter `backfill_policy`")

OWNERS = ["team:quant-research"]
SINGLE_RUN = dg.BackfillPolicy.single_run()
# Training and evaluation: rebuilt when their inputs change (under the retrain switch),
# one CPU-heavy step at a time.
MODEL_STEP = {"automation_condition": RETRAIN_WHEN_FEATURES_CHANGE, "op_tags": CPU_HEAVY}
# The clean tables follow each ingest (the clean_after_ingest sensor, on by default).
CLEAN_STEP = {"automation_condition": CLEAN_AFTER_INGEST}


def pipeline_asset(group: str):
    """``dg.asset`` with the group ``group``, optvol's owners and a single-run backfill
    policy; each asset adds its own settings (kinds, partitions, IO manager, ...)."""
    return functools.partial(dg.asset, group_name=group, owners=OWNERS, backfill_policy=SINGLE_RUN)
