"""optvol's code location for a cluster: ``optvol.definitions`` with the executor of the
implicit asset job (UI materializations, backfills, ``dagster asset materialize``) chosen
by ``$OPTVOL_EXECUTOR``:

- ``multiprocess`` (default): every step a process in the run's pod, heavy steps one at
  a time (``-m optvol.definitions`` runs steps in one process unless the run config asks
  for ``multiprocess``; a pod with several cores is where processes pay);
- ``k8s``: dagster-k8s's ``k8s_job_executor``, every step its own Kubernetes Job
  (run config: ``deploy/run_config/k8s_job_executor.yaml``);
- ``dask``: dagster-dask's executor, every step a task on a Dask cluster (run config:
  ``deploy/run_config/dask.yaml``), with the fix described at :class:`DaskExecutor`.

The jobs of the sensors and schedule keep their in-process executor: ingest and cleaning
are light. Load it with ``dagster api grpc -f deploy/code_location.py`` (deploy/README.md);
it needs optvol's ``k8s`` and ``dask`` extras. The executors are left unconfigured so that
the run config supplies all their settings.
"""

import copy
import inspect

import dagster as dg
import dagster_dask
from dagster_dask.executor import DaskExecutor as UpstreamDaskExecutor
from dagster_k8s import k8s_job_executor

from optvol.definitions import load_definitions
from optvol.defs.shared.executor import EXECUTORS as PACKAGE_EXECUTORS
from optvol.defs.shared.executor import executor_named, register_executor
from optvol.defs.shared.settings import Settings


class _RunDaskLeavesAlone:
    """A DagsterRun as an argument of a Dask task: attributes are the run's, and it
    unpickles on the worker as (a copy of) the run itself. Dask leaves it alone because it
    is not a tuple (see :class:`DaskExecutor`)."""

    def __init__(self, run) -> None:
        self._run = run

    def __getattr__(self, name: str):
        return getattr(self._run, name)

    def __reduce__(self):
        return copy.copy, (self._run,)


def _dask_plan_context(plan_context):
    """The run's orchestration context, handing out its run wrapped for Dask: a subclass of
    the context's own class, made from the instance at hand."""

    class DaskPlanContext(type(plan_context)):
        @property
        def dagster_run(self):
            return _RunDaskLeavesAlone(self.plan_data.dagster_run)

    return DaskPlanContext(
        plan_context.plan_data,
        plan_context.log,
        plan_context.executor,
        plan_context.output_capture,
        plan_context.resume_from_failure,
    )


class DaskExecutor(UpstreamDaskExecutor):
    """dagster-dask's executor for partitioned runs.

    Dask (2024.11 and later) walks every tuple passed to ``Client.submit`` to find futures
    in it. A DagsterRun is a tuple, and the run of a partition (or a range of partitions)
    holds its partitions definition, a Dagster ``@record`` that refuses iteration: every
    partitioned run failed before its first step with "Iteration is not allowed on
    `@record` TimeWindowPartitionsDefinition" (dagster-dask 0.29.27, distributed 2026.8).
    This hands dagster-dask's unchanged ``execute`` a context whose run Dask does not walk.
    """

    def execute(self, plan_context, execution_plan):
        return super().execute(_dask_plan_context(plan_context), execution_plan)


@dg.executor(
    name="dask",
    config_schema=dagster_dask.dask_executor.config_schema.as_field(),
    requirements=dg.multiple_process_executor_requirements(),
)
def dask_executor(init_context: dg.InitExecutorContext) -> DaskExecutor:
    """dagster-dask's ``dask_executor`` (same config: ``cluster: {existing: {address}}``,
    ``local``, ...) running :class:`DaskExecutor`."""
    ((cluster_type, cluster_configuration),) = init_context.executor_config["cluster"].items()
    return DaskExecutor(cluster_type, cluster_configuration)


EXECUTORS = {
    "multiprocess": PACKAGE_EXECUTORS["multiprocess"],
    "k8s": k8s_job_executor,
    "dask": dask_executor,
}


for _name in ("k8s", "dask"):  # optvol's own loader accepts them too
    register_executor(_name, EXECUTORS[_name])


def executor_from_env() -> dg.ExecutorDefinition:
    """The executor named by ``$OPTVOL_EXECUTOR`` (``multiprocess`` when unset)."""
    return executor_named(Settings.from_env().executor or "multiprocess", EXECUTORS)


def _with_executor(optvol: dg.Definitions, executor: dg.ExecutorDefinition) -> dg.Definitions:
    """Everything of ``optvol``'s Definitions, run with ``executor``: every other
    argument of ``Definitions`` taken from the attribute of its name, so that none is
    dropped when Dagster adds one."""
    fields = inspect.signature(dg.Definitions).parameters
    kept = {name: getattr(optvol, name) for name in fields if name != "executor"}
    return dg.Definitions(**kept, executor=executor)


defs = _with_executor(load_definitions(), executor_from_env())
