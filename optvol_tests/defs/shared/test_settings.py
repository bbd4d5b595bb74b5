"""The settings resource: read from the environment when the definitions load (never at
import), validated with one message per bad variable, and documented field by field on
docs/settings.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from optvol.defs.shared.settings import ENV_VARS, RUN_TIME_FIELDS, Settings

DOCS = Path(__file__).parents[3] / "docs" / "settings.md"


@pytest.fixture
def clean_env(monkeypatch):
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def _table_rows() -> list[list[str]]:
    """The cells of each row of the settings table."""
    lines = [line for line in DOCS.read_text().splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[1:]]


def test_every_field_has_its_variable_and_every_variable_its_field():
    assert set(ENV_VARS) == set(Settings.model_fields)
    assert set(RUN_TIME_FIELDS) <= set(ENV_VARS)


@pytest.mark.parametrize("name", sorted(ENV_VARS))
def test_the_settings_table_gives_each_field_its_variable_and_default(name):
    var = ENV_VARS[name]
    (row,) = [row for row in _table_rows() if f"`{var}`" in row[1]]
    shown = row[2].split(" (")[0].split(",")[0].strip("`")
    field = Settings.model_fields[name]
    if field.default is None:  # what unset means is the field's own description
        assert f"unset, {shown}" in field.description, (shown, field.description)
    elif isinstance(field.default, bool):
        assert shown == ("on" if field.default else "off")
    else:
        assert shown == str(field.default)


def test_the_table_names_no_variable_that_is_not_a_field():
    named = set(re.findall(r"\bOPTVOL_[A-Z_]+\b", "\n".join(r[1] for r in _table_rows())))
    assert named == set(ENV_VARS.values())


def test_unset_variables_leave_the_defaults(clean_env):
    settings = Settings.from_env()
    assert settings.first_quote_month == "1973-04"
    assert settings.sensor_interval_seconds == 30 and settings.auto_retrain is False
    assert settings.executor is None and settings.webhook_url is None
    assert settings.data_path == Path("data").absolute()


def test_every_bad_variable_is_named_in_one_error(clean_env):
    clean_env.setenv(ENV_VARS["sensor_interval_seconds"], "soon")
    clean_env.setenv(ENV_VARS["auto_retrain"], "perhaps")
    clean_env.setenv(ENV_VARS["first_quote_month"], "1969-01")
    with pytest.raises(ValueError) as error:
        Settings.from_env()
    message = str(error.value)
    assert "validation error" not in message  # the validators' words, not pydantic's frame
    assert (
        "OPTVOL_SENSOR_INTERVAL_SECONDS must be a whole number of seconds >= 1, got 'soon'"
        in message
    )
    assert "OPTVOL_AUTO_RETRAIN must be 1/true/yes/on or 0/false/no/off, got 'perhaps'" in message
    assert "OPTVOL_FIRST_QUOTE_MONTH must be a month as YYYY-MM, from 1973-04" in message


def test_run_time_values_are_read_when_used(clean_env, tmp_path):
    """The definitions are built once per process: the data root and the webhook are
    read where a run or a tick uses them, so a later change of the environment counts,
    and the webhook's secret URL is never part of the resource's config."""
    clean_env.setenv(ENV_VARS["sensor_interval_seconds"], " 7 ")
    settings = Settings.from_env()
    assert settings.sensor_interval_seconds == 7  # needed to build the sensors: read now
    assert settings.alert_webhook is None and settings.data_dir is None
    assert settings.webhook_url is None
    clean_env.setenv(ENV_VARS["alert_webhook"], "https://hooks.example/secret")
    clean_env.setenv(ENV_VARS["data_dir"], str(tmp_path))
    assert settings.webhook_url == "https://hooks.example/secret"
    with dg.build_resources({"settings": settings}) as resources:
        assert resources.settings.data_path == tmp_path
    clean_env.delenv(ENV_VARS["data_dir"])
    assert settings.data_path == (Path.cwd() / "data").absolute()
    assert Settings(data_dir=str(tmp_path)).data_path == tmp_path  # a field set wins


def test_importing_the_definitions_reads_neither_the_environment_nor_the_disk(tmp_path):
    """Every module of optvol.defs imports with bad settings and a data root that is not
    a directory, and without importing PyTorch or matplotlib (seconds of every code
    server, run worker and CLI call; a run that trains or plots imports them); loading
    the definitions then stops with the variable's message."""
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    code = (
        "import importlib, pkgutil, sys, optvol.defs\n"
        "for m in pkgutil.walk_packages(optvol.defs.__path__, 'optvol.defs.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('imported', *[m for m in ('torch', 'matplotlib') if m in sys.modules])\n"
        "from optvol.definitions import load_definitions\n"
        "load_definitions()\n"
    )
    env = {
        **os.environ,
        "OPTVOL_DATA_DIR": str(not_a_directory),
        "OPTVOL_FIRST_QUOTE_MONTH": "April 1973",
        "OPTVOL_SENSOR_INTERVAL_SECONDS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "imported", done.stderr[-2000:]
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: OPTVOL_SENSOR_INTERVAL_SECONDS must be")
    assert "OPTVOL_FIRST_QUOTE_MONTH must be a month as YYYY-MM" in last


def test_the_settings_resource_is_the_one_place_the_dagster_layer_reads_the_environment():
    defs_dir = Path(__file__).parents[3] / "optvol" / "defs"
    readers = {
        str(path.relative_to(defs_dir))
        for path in defs_dir.rglob("*.py")
        if re.search(r"os\.environ|os\.getenv|dg\.EnvVar\(", path.read_text())
    }
    assert readers == {"shared/settings.py"}


def test_a_later_first_month_moves_the_option_assets_and_their_checks_still_run(
    clean_env, small_data_root
):
    from optvol.definitions import load_definitions

    clean_env.setenv(ENV_VARS["first_quote_month"], "2020-01")
    load_definitions.cache_clear()
    try:
        defs = load_definitions()
        graph = defs.resolve_asset_graph()
        for name in ("raw_option_quotes", "option_quotes"):
            months = graph.get(dg.AssetKey(name)).partitions_def
            assert months.get_first_partition_key() == "2020-01", name
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            partition_key="2020-01",
            asset_selection=[dg.AssetKey("raw_option_quotes"), dg.AssetKey("option_quotes")],
        )
        assert result.success
        checked = {
            (e.asset_key.path[-1], e.check_name) for e in result.get_asset_check_evaluations()
        }
        assert checked == {
            (asset, check)
            for asset in ("raw_option_quotes", "option_quotes")
            for check in ("schema", "null_counts", "values")
        }
    finally:
        load_definitions.cache_clear()


def test_a_load_reads_the_environment_once_for_every_folder(clean_env, monkeypatch):
    from optvol.definitions import load_definitions

    readings: list[Settings] = []
    read = Settings.from_env.__func__

    def counted(cls, **overrides):
        readings.append(read(cls, **overrides))
        return readings[-1]

    monkeypatch.setattr(Settings, "from_env", classmethod(counted))
    clean_env.setenv(ENV_VARS["sensor_interval_seconds"], "7")
    load_definitions.cache_clear()
    try:
        defs = load_definitions()
    finally:
        load_definitions.cache_clear()
    assert len(readings) == 1  # the resources, the executor, the sensors, the schedules
    assert defs.resources["settings"] is readings[0]
    assert {s.minimum_interval_seconds for s in defs.sensors if s.name == "new_input_files"} == {7}
    assert Settings.at_load() is not readings[0]  # outside a load: read now


@pytest.mark.parametrize("month", ["1969-01", "2999-01"])
def test_a_first_month_before_listed_options_or_after_this_month_is_refused(clean_env, month):
    clean_env.setenv(ENV_VARS["first_quote_month"], month)
    with pytest.raises(ValueError, match=f"from 1973-04 .* to this month, got '{month}'"):
        Settings.from_env()
