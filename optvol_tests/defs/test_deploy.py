"""The example deployment in deploy/ is valid: checked offline against the schemas of the
installed Dagster, dagster-k8s and dagster-postgres, and against the repository itself
(module names, env variables, extras, file paths), with no cluster, database or Docker.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import dagster as dg
import pytest
import yaml

pytest.importorskip("dagster_k8s", reason="dagster-k8s is not installed (pip install optvol[k8s])")
pytest.importorskip(
    "dagster_postgres", reason="dagster-postgres is not installed (pip install optvol[k8s])"
)

from dagster._config import process_config, resolve_to_config_type  # noqa: E402
from dagster._core.errors import DagsterInvalidConfigError  # noqa: E402
from dagster._core.instance.ref import InstanceRef  # noqa: E402
from dagster._core.launcher import RunLauncher  # noqa: E402
from dagster._core.run_coordinator import RunCoordinator  # noqa: E402
from dagster._core.storage.base_storage import DagsterStorage  # noqa: E402
from dagster._core.workspace.autodiscovery import (  # noqa: E402
    loadable_targets_from_python_file,
    loadable_targets_from_python_module,
)
from dagster._serdes.config_class import ConfigurableClassData  # noqa: E402
from dagster_k8s import K8sRunLauncher  # noqa: E402
from dagster_postgres.utils import pg_url_from_config  # noqa: E402

from optvol.core.common import paths  # noqa: E402
from optvol.defs.shared.settings import ENV_VARS  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
DEPLOY = REPOSITORY / "deploy"
PG_PASSWORD = "s3cret:with@odd chars"


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    return tomllib.loads((REPOSITORY / "pyproject.toml").read_text())


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def load_yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture
def instance_ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InstanceRef:
    """deploy/dagster.yaml read as a Dagster instance would read it ($DAGSTER_HOME):
    validated against the instance schema, nothing instantiated or connected."""
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", PG_PASSWORD)
    return InstanceRef.from_dir(str(tmp_path))


def resolved_config(data: ConfigurableClassData, base: type) -> dict:
    """The config of a configurable class of the instance, processed against that class's
    own schema (env sources resolved) the way Dagster does before instantiating it."""
    klass = getattr(importlib.import_module(data.module_name), data.class_name)
    assert issubclass(klass, base)
    result = process_config(resolve_to_config_type(klass.config_type()), data.config_dict)
    if not result.success:
        raise DagsterInvalidConfigError("invalid config", result.errors, data.config_dict)
    return result.value


# -- deploy/dagster.yaml ------------------------------------------------------------------


def test_instance_config_names_postgres_k8s_launcher_and_the_run_queue(instance_ref):
    assert (instance_ref.storage_data.module_name, instance_ref.storage_data.class_name) == (
        "dagster_postgres",
        "DagsterPostgresStorage",
    )
    assert instance_ref.run_storage_data.class_name == "PostgresRunStorage"
    assert instance_ref.event_storage_data.class_name == "PostgresEventLogStorage"
    assert instance_ref.schedule_storage_data.class_name == "PostgresScheduleStorage"
    launcher = instance_ref.run_launcher_data
    assert (launcher.module_name, launcher.class_name) == ("dagster_k8s", "K8sRunLauncher")
    assert instance_ref.run_coordinator_data.class_name == "QueuedRunCoordinator"
    assert instance_ref.settings["telemetry"] == {"enabled": False}


def test_postgres_storage_resolves_its_password_from_the_environment(instance_ref):
    config = resolved_config(instance_ref.storage_data, DagsterStorage)
    url = pg_url_from_config(config)
    assert url == "postgresql://dagster:s3cret%3Awith%40odd%20chars@dagster-postgresql:5432/dagster"


def test_postgres_storage_without_its_password_is_refused(instance_ref, monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_PG_PASSWORD"):
        resolved_config(instance_ref.storage_data, DagsterStorage)


def test_k8s_run_launcher_accepts_its_config(instance_ref):
    config = resolved_config(instance_ref.run_launcher_data, RunLauncher)
    # Everything K8sRunLauncher.__init__ requires is there (it is not instantiated here:
    # that would load a kubeconfig).
    required = {
        name
        for name, parameter in inspect.signature(K8sRunLauncher.__init__).parameters.items()
        if parameter.default is inspect.Parameter.empty and name != "self"
    }
    assert required and required <= set(config)
    assert config["instance_config_map"] == "dagster-instance"
    assert config["postgres_password_secret"] == "dagster-postgresql-secret"
    assert "job_image" not in config  # a run uses the image of the code location


def test_a_misspelt_run_launcher_setting_is_refused(instance_ref):
    data = instance_ref.run_launcher_data
    config = dict(data.config_dict)
    config["volume_mount"] = config.pop("volume_mounts")
    broken = ConfigurableClassData(data.module_name, data.class_name, yaml.safe_dump(config))
    with pytest.raises(DagsterInvalidConfigError, match="volume_mount"):
        resolved_config(broken, RunLauncher)


def test_a_broken_instance_file_is_refused(tmp_path):
    text = (DEPLOY / "dagster.yaml").read_text().replace("run_queue:", "run_queues:")
    (tmp_path / "dagster.yaml").write_text(text)
    with pytest.raises(DagsterInvalidConfigError, match="run_queues"):
        InstanceRef.from_dir(str(tmp_path))


def test_run_queue_keeps_the_repository_limit_on_refresh_runs(instance_ref):
    config = resolved_config(instance_ref.run_coordinator_data, RunCoordinator)
    repository_queue = load_yaml(REPOSITORY / "dagster.yaml")["run_queue"]
    assert repository_queue["tag_concurrency_limits"] == [{"key": "optvol/refresh", "limit": 1}]
    assert config["tag_concurrency_limits"] == repository_queue["tag_concurrency_limits"]


def test_python_logs_match_the_repository_instance():
    deployed = load_yaml(DEPLOY / "dagster.yaml")["python_logs"]
    assert deployed == load_yaml(REPOSITORY / "dagster.yaml")["python_logs"]
    assert deployed["managed_python_loggers"] == ["optvol"]


# -- deploy/code_location.py and deploy/run_config/ ---------------------------------------


def load_code_location(monkeypatch: pytest.MonkeyPatch, executor: str | None):
    if executor is None:
        monkeypatch.delenv("OPTVOL_EXECUTOR", raising=False)
    else:
        monkeypatch.setenv("OPTVOL_EXECUTOR", executor)
    spec = importlib.util.spec_from_file_location(
        "optvol_deploy_code_location", DEPLOY / "code_location.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def asset_job(module) -> dg.JobDefinition:
    return module.defs.resolve_implicit_global_asset_job_def()


@pytest.mark.parametrize(
    ("executor", "executor_name"), [(None, "multiprocess"), ("k8s", "k8s"), ("dask", "dask")]
)
def test_code_location_serves_optvol_with_the_chosen_executor(monkeypatch, executor, executor_name):
    from optvol.definitions import load_definitions

    optvol_defs = load_definitions()

    module = load_code_location(monkeypatch, executor)
    assert asset_job(module).executor_def.name == executor_name
    # Everything optvol's Definitions holds is there, only the executor may differ.
    for name in inspect.signature(dg.Definitions).parameters:
        if name != "executor" and getattr(optvol_defs, name, None):
            assert getattr(module.defs, name) == getattr(optvol_defs, name), name
    assert module.defs.resolve_asset_graph().get_all_asset_keys() == (
        optvol_defs.resolve_asset_graph().get_all_asset_keys()
    )


def test_code_location_file_loads_as_dagster_loads_it(monkeypatch):
    """`dagster api grpc -f deploy/code_location.py` finds exactly one Definitions."""
    monkeypatch.setenv("OPTVOL_EXECUTOR", "k8s")
    try:
        (target,) = loadable_targets_from_python_file(str(DEPLOY / "code_location.py"), str(DEPLOY))
    finally:
        # Dagster keeps the module by its name: a later test of this process loading the
        # file would get this one, with its executor.
        sys.modules.pop("code_location", None)
    assert target.attribute == "defs"
    assert isinstance(target.target_definition, dg.Definitions)


def test_dask_gets_a_partitioned_run_it_can_pass_to_the_workers(monkeypatch):
    from dagster._core.storage.dagster_run import DagsterRun
    from dask._task_spec import parse_input

    months = dg.MonthlyPartitionsDefinition(start_date="2020-01", fmt="%Y-%m", end_offset=1)
    run = DagsterRun(
        job_name="j", run_id="r", partitions_subset=months.subset_with_partition_keys(["2020-01"])
    )
    # Why the code location wraps the run: Dask walks tuples, the partitions refuse it.
    with pytest.raises(Exception, match="Iteration is not allowed"):
        parse_input(run)
    wrapped = load_code_location(monkeypatch, "dask")._RunDaskLeavesAlone(run)
    assert parse_input(wrapped) is wrapped
    assert wrapped.job_name == "j" and wrapped.partitions_subset == run.partitions_subset
    assert pickle.loads(pickle.dumps(wrapped)) == run


def test_code_location_refuses_an_unknown_executor(monkeypatch):
    with pytest.raises(ValueError, match="OPTVOL_EXECUTOR must be one of"):
        load_code_location(monkeypatch, "celery")


@pytest.mark.parametrize(
    ("executor", "run_config", "other"),
    [("k8s", "k8s_job_executor.yaml", "dask.yaml"), ("dask", "dask.yaml", "k8s_job_executor.yaml")],
)
def test_run_config_validates_against_its_executor_only(monkeypatch, executor, run_config, other):
    job = asset_job(load_code_location(monkeypatch, executor))
    resolved = dg.validate_run_config(job, load_yaml(DEPLOY / "run_config" / run_config))
    assert set(resolved["execution"]) == {executor}
    with pytest.raises(DagsterInvalidConfigError):
        dg.validate_run_config(job, load_yaml(DEPLOY / "run_config" / other))


def test_per_step_resources_name_real_steps_and_size_the_gru(monkeypatch):
    job = asset_job(load_code_location(monkeypatch, "k8s"))
    config = dg.validate_run_config(job, load_yaml(DEPLOY / "run_config" / "k8s_job_executor.yaml"))
    per_step = config["execution"]["k8s"]["per_step_k8s_config"]
    op_names = {node.name for node in job.graph.nodes}
    assert set(per_step) and set(per_step) <= op_names
    gru = per_step["gru_model"]["container_config"]["resources"]
    assert gru["requests"]["memory"] == "6Gi" and gru["limits"]["memory"] == "8Gi"


def test_dask_run_config_points_at_an_existing_cluster(monkeypatch):
    job = asset_job(load_code_location(monkeypatch, "dask"))
    config = dg.validate_run_config(job, load_yaml(DEPLOY / "run_config" / "dask.yaml"))
    address = config["execution"]["dask"]["cluster"]["existing"]["address"]
    assert re.fullmatch(r"tcp://[\w.-]+:\d+", address)


# -- deploy/helm/values.yaml and deploy/k8s/optvol.yaml -----------------------------------


@pytest.fixture(scope="module")
def values() -> dict:
    return load_yaml(DEPLOY / "helm" / "values.yaml")


@pytest.fixture(scope="module")
def optvol_deployment(values) -> dict:
    user_deployments = values["dagster-user-deployments"]
    assert user_deployments["enabled"] and user_deployments["enableSubchart"]
    (deployment,) = [d for d in user_deployments["deployments"] if d["name"] == "optvol"]
    return deployment


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    docs = load_yaml_documents(DEPLOY / "k8s" / "optvol.yaml")
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def test_helm_values_serve_the_optvol_module_from_the_image(optvol_deployment):
    args = optvol_deployment["dagsterApiGrpcArgs"]
    assert args[0] in ("-m", "--module-name")
    assert args[1] == "optvol.definitions"
    # the module Dagster loads has exactly one Definitions (here: a function that builds it)
    (target,) = loadable_targets_from_python_module(args[1], None)
    assert target.attribute == "defs"
    image = optvol_deployment["image"]
    assert image["repository"] and str(image["tag"]) and image["pullPolicy"]
    assert optvol_deployment["port"] == 3030
    assert optvol_deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    # Code-server resources would override the run launcher's on every run pod.
    assert "resources" not in optvol_deployment


def test_helm_values_use_postgres_and_the_k8s_run_launcher(values):
    postgres = values["postgresql"]
    assert postgres["postgresqlUsername"] and postgres["postgresqlDatabase"]
    assert postgres["service"]["port"] == 5432
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    # The chart passes each setting on as its snake_case K8sRunLauncher field.
    fields = set(K8sRunLauncher.config_type())
    for key in launcher["config"]["k8sRunLauncher"]:
        assert re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower() in fields, key


def test_helm_values_and_instance_file_size_run_pods_alike(values):
    chart = values["runLauncher"]["config"]["k8sRunLauncher"]
    instance = load_yaml(DEPLOY / "dagster.yaml")["run_launcher"]["config"]
    assert chart["resources"] == instance["resources"]
    assert int(chart["resources"]["limits"]["memory"].removesuffix("Gi")) >= 8
    assert (
        chart["runK8sConfig"]["podSpecConfig"]["securityContext"]["fsGroup"]
        == instance["run_k8s_config"]["pod_spec_config"]["security_context"]["fs_group"]
    )


def test_helm_values_keep_the_repository_run_queue_and_logs(values):
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    repository = load_yaml(REPOSITORY / "dagster.yaml")
    assert limits == repository["run_queue"]["tag_concurrency_limits"]
    logs = values["pythonLogs"]
    assert logs["managedPythonLoggers"] == repository["python_logs"]["managed_python_loggers"]
    assert logs["pythonLogLevel"] == repository["python_logs"]["python_log_level"]


def test_helm_values_mount_the_data_root_and_the_optvol_settings(optvol_deployment, manifests):
    (volume,) = optvol_deployment["volumes"]
    claim = volume["persistentVolumeClaim"]["claimName"]
    pvc = manifests[("PersistentVolumeClaim", claim)]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    (mount,) = optvol_deployment["volumeMounts"]
    assert mount["name"] == volume["name"]
    (config_map,) = optvol_deployment["envConfigMaps"]
    settings = manifests[("ConfigMap", config_map["name"])]["data"]
    assert settings[paths.DATA_DIR_ENV] == mount["mountPath"]
    assert re.fullmatch(r"s3://[\w.-]+/\S*", settings["OPTVOL_ARTIFACT_ROOT"])
    assert [s["name"] for s in optvol_deployment["envSecrets"]] == ["optvol-object-store"]


def test_instance_file_mounts_the_same_volume_and_settings(manifests):
    launcher = load_yaml(DEPLOY / "dagster.yaml")["run_launcher"]["config"]
    (volume,) = launcher["volumes"]
    assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in manifests
    (mount,) = launcher["volume_mounts"]
    (config_map,) = launcher["env_config_maps"]
    settings = manifests[("ConfigMap", config_map)]["data"]
    assert settings[paths.DATA_DIR_ENV] == mount["mount_path"]
    assert launcher["env_secrets"] == ["optvol-object-store"]


def test_every_optvol_variable_in_deploy_is_one_optvol_reads(values, manifests, monkeypatch):
    """A renamed setting in optvol must not leave the deployment setting a dead one."""
    known = set(ENV_VARS.values())
    named = set(re.findall(r"\bOPTVOL_[A-Z_]+\b", yaml.safe_dump([values, manifests])))
    named |= set(re.findall(r"\bOPTVOL_[A-Z_]+\b", (DEPLOY / "README.md").read_text()))
    assert {"OPTVOL_DATA_DIR", "OPTVOL_ARTIFACT_ROOT"} <= named
    assert named <= known


# -- deploy/Dockerfile ----------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY."""
    result = []
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY":
            *sources, destination = shlex.split(arguments)
            result.append((sources, destination))
    return result


def test_dockerfile_copies_exist_and_pass_the_dockerignore():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    reincluded = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore  # everything else (data/, .venv/) stays out of the context
    sources = [source for sources, _ in copies() for source in sources]
    assert sources
    for source in sources:
        assert (REPOSITORY / source).exists(), source
        assert source.rstrip("/") in reincluded, source


def test_dockerfile_installs_the_deployment_extras():
    extras_defined = pyproject()["project"]["optional-dependencies"]
    installs = [
        args
        for instr, args in dockerfile_instructions()
        if instr == "RUN" and "pip install" in args
    ]
    (install,) = installs
    (extras,) = re.findall(r"\.\[([\w,-]+)\]", install)
    extras = extras.split(",")
    assert {"k8s", "s3"} <= set(extras)
    for extra in extras:
        assert extra in extras_defined, extra
    k8s = " ".join(extras_defined["k8s"])
    assert "dagster-k8s" in k8s and "dagster-postgres" in k8s
    assert "constraints.txt" in install


def test_dockerfile_copies_what_the_package_build_needs_before_installing(tmp_path):
    """The files copied before `pip install` build optvol's wheel on their own."""
    instructions = dockerfile_instructions()
    install_at = next(i for i, (ins, args) in enumerate(instructions) if "pip install" in args)
    copied_first = [
        source
        for i, (ins, args) in enumerate(instructions[:install_at])
        if ins == "COPY"
        for source in shlex.split(args)[:-1]
    ]
    project = pyproject()["project"]
    assert {project["readme"], *project["license-files"], "constraints.txt"} <= set(copied_first)
    context = tmp_path / "context"
    context.mkdir()
    for source in copied_first:
        path = REPOSITORY / source
        if path.is_dir():
            shutil.copytree(path, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, context / source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "wheels"), "."],
        cwd=context, check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "wheels").glob("optvol-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "optvol/definitions.py" in names and "optvol/defs/io_managers/parquet.py" in names


def test_dockerfile_paths_match_the_helm_values_and_readme(optvol_deployment):
    workdir = next(args for ins, args in dockerfile_instructions() if ins == "WORKDIR")
    (code_location,) = [dst for sources, dst in copies() if sources == ["deploy/code_location.py"]]
    in_image = str(Path(workdir) / code_location)
    assert in_image == "/opt/optvol/deploy/code_location.py"
    assert in_image in (DEPLOY / "helm" / "values.yaml").read_text()
    assert in_image in (DEPLOY / "README.md").read_text()
    user = next(args for ins, args in dockerfile_instructions() if ins == "USER")
    assert int(user) == optvol_deployment["podSecurityContext"]["fsGroup"]
    cmd = next(args for ins, args in dockerfile_instructions() if ins == "CMD")
    assert optvol_deployment["dagsterApiGrpcArgs"][1] in yaml.safe_load(cmd)
