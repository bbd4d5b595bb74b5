"""The ingest and clean assets of both pipelines on a Dask cluster give the same Parquet
bytes as the same steps run in one process.

A local Dask cluster of two worker processes is started here. The Dask run is the one
deploy/README.md describes: the code location ``deploy/code_location.py`` with
``OPTVOL_EXECUTOR=dask``, its asset job limited to the ingest and clean assets (with their
checks), every step handed to the cluster through the executor's ``existing`` cluster
setting, under a real (SQLite) Dagster instance, into one data root. The workers rebuild
the job from the code location's file. The same selection is then materialized
in-process into another data root.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

pytest.importorskip(
    "dagster_dask", reason="dagster-dask is not installed (pip install optvol[dask])"
)
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install optvol[dask])"
)

from dagster._core.definitions.reconstruct import ReconstructableRepository  # noqa: E402

from optvol.definitions import load_definitions, resources_for  # noqa: E402
from optvol.defs.options.assets import raw_option_quotes  # noqa: E402
from optvol_tests.builders import small_chain, write_market, write_optionsdx  # noqa: E402

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CODE_LOCATION = REPOSITORY_ROOT / "deploy" / "code_location.py"
INGEST_AND_CLEAN = ("raw_option_quotes", "option_quotes", "raw_market", "market_features")
ARTIFACT_DIRS = ("staging", "processed")
# Quote dates over three months, one vendor file per month, as optionsDX ships them.
MONTHLY_QUOTE_DATES = {
    "2020-01": ("2020-01-29", "2020-01-30", "2020-01-31"),
    "2020-02": ("2020-02-03", "2020-02-04", "2020-02-28"),
    "2020-03": ("2020-03-02", "2020-03-03"),
}
EXPIRIES = ("2020-03-20", "2020-06-19")
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def write_inputs(root: Path) -> None:
    """Three monthly optionsDX files and a market file under ``root/raw``."""
    for month, dates in MONTHLY_QUOTE_DATES.items():
        name = f"spy_eod_{month.replace('-', '')}.txt"
        write_optionsdx(root / "raw" / "options" / name, small_chain(dates, EXPIRIES))
    write_market(root / "raw" / "raw_market.csv")


def partition_tags() -> dict[str, str]:
    """Run tags covering every month of the inputs when the option assets are partitioned
    by quote month (one run for the whole range); none when they are not."""
    if raw_option_quotes.partitions_def is None:
        return {}
    months = sorted(MONTHLY_QUOTE_DATES)
    return {RANGE_START_TAG: months[0], RANGE_END_TAG: months[-1]}


def artifact_files(root: Path) -> dict[str, bytes]:
    """Every file under ``staging/`` and ``processed/`` of ``root``, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for directory in ARTIFACT_DIRS
        for path in sorted((root / directory).rglob("*"))
        if path.is_file()
    }


@dataclass
class Run:
    """What the test keeps of one run: its outcome, its events and the files it wrote."""

    success: bool
    events: list[dg.DagsterEvent]
    files: dict[str, bytes]

    def step_pids(self) -> dict[str, int]:
        return {e.step_key: e.pid for e in self.events if e.event_type_value == "STEP_START"}

    def materialized(self) -> set[tuple[str, str | None]]:
        return {
            (e.asset_key.to_user_string(), e.partition)
            for e in self.events
            if e.event_type_value == "ASSET_MATERIALIZATION"
        }

    def failures(self) -> list[str]:
        return [
            str(getattr(e.event_specific_data, "error", None) or e.message)
            for e in self.events
            if e.event_type_value in ("STEP_FAILURE", "PIPELINE_FAILURE", "RUN_FAILURE")
        ]

    def check_results(self) -> dict[str, bool]:
        """Whether every evaluation of each check passed, by check."""
        results: dict[str, bool] = {}
        for event in self.events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                name = evaluation.asset_check_key.to_user_string()
                results[name] = results.get(name, True) and evaluation.passed
        return results


@dataclass
class Comparison:
    dask: Run
    in_process: Run
    worker_pids: set[int]
    decoy_root: Path


def data_root_run_config(root: Path) -> dict:
    """Run config pointing every IO manager and the settings' data root at ``root``."""
    config = {key: {"config": {"root": str(root)}} for key in resources_for() if key != "settings"}
    settings = {"config": {"data_dir": str(root), "artifact_root": str(root)}}
    return {"resources": {**config, "settings": settings}}


def run_on_dask(instance: dg.DagsterInstance, address: str, root: Path) -> Run:
    """The ingest and clean assets through the deploy code location's asset job, on the
    Dask cluster at ``address``."""
    code_location = ReconstructableRepository.for_file(
        str(CODE_LOCATION), "defs", working_directory=str(REPOSITORY_ROOT)
    )
    run_config = {
        **data_root_run_config(root),
        "execution": {"config": {"cluster": {"existing": {"address": address}}}},
    }
    with dg.execute_job(
        code_location.get_reconstructable_job("__ASSET_JOB"),
        instance,
        run_config=run_config,
        tags=partition_tags(),
        asset_selection=[dg.AssetKey(name) for name in INGEST_AND_CLEAN],
    ) as result:
        return Run(result.success, list(result.all_events), artifact_files(root))


def run_in_process(instance: dg.DagsterInstance, root: Path) -> Run:
    result = dg.materialize(
        load_definitions().assets,
        selection=list(INGEST_AND_CLEAN),
        instance=instance,
        resources=resources_for(str(root)),
        tags=partition_tags(),
        raise_on_error=False,
    )
    return Run(result.success, list(result.all_events), artifact_files(root))


def compare_runs(tmp_path: Path) -> Comparison:
    """The Dask run and the in-process run, each into its own fresh data root."""
    dask_root, in_process_root = tmp_path / "dask", tmp_path / "in_process"
    decoy_root, home = tmp_path / "decoy", tmp_path / "dagster_home"
    for root in (dask_root, in_process_root):
        write_inputs(root)
    decoy_root.mkdir()
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        # The workers inherit this environment: the code location's executor, local
        # artifacts only, and a default data root that no step may touch, since every
        # root comes from the run config.
        env.setenv("OPTVOL_EXECUTOR", "dask")
        env.setenv("OPTVOL_DATA_DIR", str(decoy_root))
        env.delenv("OPTVOL_ARTIFACT_ROOT", raising=False)
        # Dagster keeps a file's module by its name: another test may have loaded the code
        # location under another OPTVOL_EXECUTOR in this process.
        env.delitem(sys.modules, CODE_LOCATION.stem, raising=False)
        with (
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
            distributed.Client(cluster) as client,
            dg.instance_for_test(temp_dir=str(home)) as instance,
        ):
            worker_pids = set(client.run(os.getpid).values())
            dask = run_on_dask(instance, cluster.scheduler_address, dask_root)
            worker_pids |= set(client.run(os.getpid).values())
            in_process = run_in_process(instance, in_process_root)
    return Comparison(dask, in_process, worker_pids, decoy_root)


def assert_both_succeeded_with_every_check_passing(comparison: Comparison) -> None:
    expected_checks = {
        key.to_user_string()
        for key in load_definitions().resolve_asset_graph().asset_check_keys
        if key.asset_key.to_user_string() in INGEST_AND_CLEAN
    }
    assert len(expected_checks) >= 3 * len(INGEST_AND_CLEAN)
    for run in (comparison.dask, comparison.in_process):
        assert run.success, run.failures()
        assert run.check_results() == dict.fromkeys(expected_checks, True)


def assert_same_artifacts(comparison: Comparison) -> None:
    dask, in_process = comparison.dask.files, comparison.in_process.files
    for asset in INGEST_AND_CLEAN:
        # staging/raw_market.parquet, or per partition processed/option_quotes/2020-01.parquet
        written = [p for p in dask if Path(p).stem == asset or asset in Path(p).parts[1:-1]]
        assert written, f"no artifact of {asset} in {sorted(dask)}"
    assert sorted(dask) == sorted(in_process)
    different = [path for path in dask if dask[path] != in_process[path]]
    assert different == []
    assert comparison.dask.materialized() == comparison.in_process.materialized()
    if raw_option_quotes.partitions_def is not None:
        months = {p for key, p in comparison.dask.materialized() if key == "raw_option_quotes"}
        assert months == set(MONTHLY_QUOTE_DATES)


def assert_dask_steps_ran_in_dask_workers(comparison: Comparison) -> None:
    dask_steps = comparison.dask.step_pids()
    assert set(dask_steps) == set(comparison.in_process.step_pids())
    assert set(dask_steps.values()) <= comparison.worker_pids
    assert os.getpid() not in dask_steps.values()
    # The control: the same pid record says the in-process run's steps ran here.
    assert set(comparison.in_process.step_pids().values()) == {os.getpid()}


def test_dask_run_writes_the_same_bytes_as_the_in_process_run(tmp_path):
    """One test, so that pytest-xdist starts one cluster, not one per worker."""
    comparison = compare_runs(tmp_path)
    assert_both_succeeded_with_every_check_passing(comparison)
    assert_same_artifacts(comparison)
    assert_dask_steps_ran_in_dask_workers(comparison)
    # Every root came from the run config, none from the environment.
    assert list(comparison.decoy_root.iterdir()) == []
