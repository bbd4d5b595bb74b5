"""How compute-heavy steps share a machine.

Training and the walk-forward keep every core busy. Two of them side by side on a small
machine finish later than one after the other (their threads contend: the GRU's epochs
took 3x longer beside the walk-forward on 2 cores), so steps tagged ``CPU_HEAVY`` run one
at a time while light steps (ingest, cleaning, checks) still run in parallel.
"""

import dagster as dg

CPU_TAG = "optvol/cpu"
CPU_HEAVY = {CPU_TAG: "heavy"}

executor = dg.multiprocess_executor.configured(
    {"tag_concurrency_limits": [{"key": CPU_TAG, "value": "heavy", "limit": 1}]}
)
