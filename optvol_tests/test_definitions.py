"""The code location as Dagster and `dagster dev -w workspace.yaml` load it."""

from __future__ import annotations

from pathlib import Path

import yaml

from optvol.definitions import defs

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
    graph = defs.resolve_asset_graph()
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
    from optvol.definitions import asset_checks

    specs = [spec for check in asset_checks for spec in check.check_specs]
    assert len(specs) == len(defs.resolve_asset_graph().asset_check_keys) == 18
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
    finally:
        instance.dispose()


def test_dagster_cli_from_the_repository_root_without_dagster_home(data_root):
    """The README's command, run as a user runs it: from the repository root, where
    dagster.yaml is picked up even without DAGSTER_HOME."""
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
    assert (data_root / "processed" / "market_features.parquet").stat().st_size > 0
