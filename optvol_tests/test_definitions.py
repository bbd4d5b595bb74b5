"""The code location as Dagster and `dagster dev -w workspace.yaml` load it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from optvol.definitions import load_definitions

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {
    "raw_option_quotes": "options",
    "option_quotes": "options",
    "gru_model": "options",
    "option_evaluation": "options",
    "option_report": "options",
    "raw_market": "volatility",
    "market_features": "volatility",
    "volatility_model": "volatility",
    "volatility_evaluation": "volatility",
    "volatility_report": "volatility",
}


def test_assets_have_groups_descriptions_kinds_and_owners():
    graph = load_definitions().resolve_asset_graph()
    specs = {key.path[-1]: graph.get(key) for key in graph.get_all_asset_keys()}
    assert set(specs) == set(GROUPS)
    for name, node in specs.items():
        assert node.group_name == GROUPS[name]
        assert node.description and len(node.description) > 40, name
        assert node.owners == ["team:quant-research"]
        assert node.kinds, name
    for table in ("raw_option_quotes", "option_quotes", "raw_market", "market_features"):
        assert "parquet" in specs[table].kinds
    assert "pytorch" in specs["gru_model"].kinds


def test_every_check_has_a_description():
    specs = [spec for asset in load_definitions().assets for spec in asset.check_specs]
    assert len(specs) == len(load_definitions().resolve_asset_graph().asset_check_keys) == 18
    for spec in specs:
        assert spec.description and len(spec.description) > 20, spec.key


def test_workspace_and_instance_files():
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "optvol.definitions"
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert instance["telemetry"]["enabled"] is False
    assert "storage" not in instance  # Dagster's default: SQLite under the instance home
    assert "optvol" in instance["python_logs"]["managed_python_loggers"]


def test_instance_is_local_sqlite(tmp_path):
    import shutil

    import dagster as dg

    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert "Sqlite" in type(instance.run_storage).__name__
        assert "Sqlite" in type(instance.event_log_storage).__name__
        assert instance.telemetry_enabled is False
        assert instance.run_monitoring_enabled  # a killed run does not stay STARTED
        assert instance.run_monitoring_max_runtime_seconds == 12 * 3600
    finally:
        instance.dispose()


def test_dagster_cli_from_the_repository_root_without_dagster_home(small_data_root):
    """The design's command, run as a user runs it: from the repository root, where
    dagster.yaml is picked up even without DAGSTER_HOME (``dg launch``: the next test)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "optvol.definitions",
         "--select", "raw_market,market_features"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (small_data_root / "processed" / "market_features.parquet").stat().st_size > 0
    assert "Traceback" not in done.stderr


def test_the_readme_commands_take_a_chain_of_any_year(tmp_path):
    """A 1996 chain, with the README's two commands as written and no setting but the data
    root, run from the repository root as a user runs them: ``dg`` finds the project and
    dagster.yaml is picked up without DAGSTER_HOME; the partitions start at the data's
    first month, and the output is clean."""
    import os
    import subprocess
    import sys

    from optvol_tests.builders import small_chain, write_optionsdx

    root = tmp_path / "data"
    write_optionsdx(
        root / "raw" / "options" / "spx_1996.txt",
        small_chain(dates=("1996-04-01", "1996-05-01"), expiries=("1996-05-17", "1996-06-21")),
    )
    unset = ("OPTVOL_", "PYTHONWARN", "DAGSTER_HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env.update(OPTVOL_DATA_DIR=str(root))
    bin_dir = Path(sys.executable).parent
    months = subprocess.run(
        [bin_dir / "optvol", "quote-months"], env=env, capture_output=True, text=True
    )
    assert months.returncode == 0, months.stderr
    assert months.stdout.strip() == "1996-04...1996-05"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)  # as if the venv were active
    done = subprocess.run(
        [bin_dir / "dg", "launch", "--assets", "raw_option_quotes,option_quotes",
         "--partition-range", months.stdout.strip()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "Warning" not in output, output[-3000:]
    stored = sorted(p.name for p in (root / "processed" / "option_quotes").iterdir())
    assert stored == ["1996-04.parquet", "1996-05.parquet"]


# Dagster's own notice that dg launch supersedes the command (the docs name both).
@pytest.mark.filterwarnings("ignore:Function `asset_materialize_command` is superseded")
def test_an_input_error_prints_one_line_per_retry_and_its_message_once(
    tmp_path, monkeypatch, sleeps
):
    """An empty market file through the Dagster CLI (in this process, its retry waits
    recorded): each attempt is one line with the file, what is wrong and the next wait;
    no retry event, no chained traceback."""
    from click.testing import CliRunner

    from optvol_tests.console import click_group

    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "raw_market.csv").write_bytes(b"")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("OPTVOL_DATA_DIR", str(tmp_path))
    done = CliRunner().invoke(
        click_group("dagster"),
        ["asset", "materialize", "-m", "optvol.definitions", "--select", "raw_market"],
    )
    output = done.output
    assert done.exit_code != 0
    assert sleeps == [1, 2, 4]
    for n, wait in ((1, 1), (2, 2), (3, 4)):
        line = f"raw_market.csv: the file is empty (no header line); retry {n} of 3 in {wait} s"
        assert output.count(line) == 1, output[-3000:]
    assert "ingest failed after 3 retries: raw_market.csv: the file is empty" in output
    assert "STEP_UP_FOR_RETRY" not in output and "caused by" not in output
    assert "Exceeded max_retries" not in output


def test_the_loader_finds_every_definition_once():
    from optvol.definitions import assets, load_definitions

    keys = [asset.key.to_user_string() for asset in assets()]
    assert sorted(keys) == sorted(GROUPS)
    repository = load_definitions().get_repository_def()
    assert sorted(sensor.name for sensor in repository.sensor_defs) == [
        "alert_on_run_failure", "clean_after_ingest", "new_input_files",
        "retrain_when_features_change",
    ]  # fmt: skip
    assert sorted(schedule.name for schedule in repository.schedule_defs) == [
        "after_close_ingest", "evening_market_download", "evening_option_snapshot",
    ]  # fmt: skip
    jobs = [job.name for job in repository.get_all_jobs() if not job.name.startswith("__")]
    assert sorted(jobs) == [
        "download_market_job", "ingest", "ingest_market", "ingest_options",
        "snapshot_options_job",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "executor"),
    [(None, "in_process"), ("in_process", "in_process"), ("multiprocess", "multiprocess")],
)
def test_the_executor_is_the_one_the_setting_names(monkeypatch, setting, executor):
    from optvol.defs.resources import resources

    if setting is None:
        monkeypatch.delenv("OPTVOL_EXECUTOR", raising=False)
    else:
        monkeypatch.setenv("OPTVOL_EXECUTOR", setting)
    assert resources().executor.name == executor


def test_an_unknown_executor_is_refused_by_name(monkeypatch):
    from optvol.defs.resources import resources

    monkeypatch.setenv("OPTVOL_EXECUTOR", "celery")
    with pytest.raises(
        ValueError, match=r"OPTVOL_EXECUTOR must be one of \[.*'in_process'.*got 'celery'"
    ):
        resources()
