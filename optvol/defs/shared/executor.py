"""How a run's steps execute: in the run's own process by default, in a process each on
request.

A step process costs as much as the light steps themselves: each one imports Dagster,
optvol and PyTorch and loads the definitions (about 5 s on 2 cores) before it works, and
a table's checks then read back what its asset step had just written. In one process a
run of ``raw_option_quotes,option_quotes`` over every month takes a fraction of the time
(``benchmarks/ingest.py``, way d). Runs that want steps side by side, or isolated, ask
for processes in their run config::

    execution:
      config:
        multiprocess: {}

With processes, steps tagged ``CPU_HEAVY`` (training, the walk-forward) run one at a time
while light steps still run in parallel: two of them side by side on a small machine
finish later than one after the other (the GRU's epochs took 3x longer beside the
walk-forward on 2 cores).
"""

import dagster as dg

CPU_TAG = "optvol/cpu"
CPU_HEAVY = {CPU_TAG: "heavy"}
ONE_HEAVY_STEP_AT_A_TIME = [{"key": CPU_TAG, "value": "heavy", "limit": 1}]

# Dagster's own executor of both modes (its creation function and requirements), with
# in-process as the default mode and one heavy step at a time as the multiprocess default.
_modes = dg.multi_or_in_process_executor
_choice = _modes.config_schema.config_type
_multiprocess = _choice.fields["multiprocess"]
_limits = _multiprocess.config_type.fields["tag_concurrency_limits"]
executor = dg.ExecutorDefinition(
    name="optvol_executor",
    config_schema=dg.Field(
        dg.Selector(
            {
                "in_process": _choice.fields["in_process"],
                "multiprocess": dg.Field(
                    dg.Shape(
                        {
                            **_multiprocess.config_type.fields,
                            "tag_concurrency_limits": dg.Field(
                                _limits.config_type,
                                default_value=ONE_HEAVY_STEP_AT_A_TIME,
                                is_required=False,
                                description=_limits.description,
                            ),
                        }
                    ),
                    is_required=False,
                ),
            }
        ),
        default_value={"in_process": {}},
    ),
    requirements=_modes.get_requirements,
    executor_creation_fn=_modes.executor_creation_fn,
    description="Every step in the run's process (default), or `multiprocess` with one "
    "CPU-heavy step at a time.",
)
# The process-per-step executor alone, for deployments that name it (deploy/).
multiprocess_executor = dg.multiprocess_executor.configured(
    {"tag_concurrency_limits": ONE_HEAVY_STEP_AT_A_TIME}
)
