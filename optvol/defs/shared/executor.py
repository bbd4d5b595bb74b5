"""How a run's steps execute: in the run's own process by default, in a process each
when the ``OPTVOL_EXECUTOR`` setting says ``multiprocess``.

A step process costs as much as the light steps themselves: each one imports Dagster,
optvol and PyTorch and loads the definitions (about 5 s on 2 cores) before it works. In
one process a run of ``raw_option_quotes,option_quotes`` over every month takes a
fraction of the time (``benchmarks/ingest.py``, way d). Runs that want steps side by
side, or isolated, set ``OPTVOL_EXECUTOR=multiprocess``: steps tagged ``CPU_HEAVY``
(training, the walk-forward) then run one at a time while light steps still run in
parallel, since two heavy ones side by side on a small machine finish later than one
after the other (the GRU's epochs took 3x longer beside the walk-forward on 2 cores).
"""

import dagster as dg

CPU_TAG = "optvol/cpu"
CPU_HEAVY = {CPU_TAG: "heavy"}
ONE_HEAVY_STEP_AT_A_TIME = [{"key": CPU_TAG, "value": "heavy", "limit": 1}]

# A process per step, heavy steps one at a time (deploy/ names it too).
multiprocess_executor = dg.multiprocess_executor.configured(
    {"tag_concurrency_limits": ONE_HEAVY_STEP_AT_A_TIME}
)
# The executors OPTVOL_EXECUTOR may name; a deployment adds its own (deploy/code_location.py
# registers k8s and dask) before the definitions load.
EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": multiprocess_executor}


def register_executor(name: str, executor: dg.ExecutorDefinition) -> None:
    """Let ``OPTVOL_EXECUTOR=name`` choose ``executor``."""
    EXECUTORS[name] = executor


def executor_named(name: str, choices: dict[str, dg.ExecutorDefinition] | None = None):
    """The executor called ``name`` among ``choices`` (the registered ones by default), or
    a clear error naming them."""
    choices = EXECUTORS if choices is None else choices
    if name not in choices:
        raise ValueError(f"OPTVOL_EXECUTOR must be one of {sorted(choices)}, got {name!r}")
    return choices[name]
